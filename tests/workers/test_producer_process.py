"""`python -m workers.producer` as a real process: its environment contract and its shutdown."""

from __future__ import annotations

import signal
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import EndpointConnectionError

from tests.workers.sqs_testing import client_for, drain, idempotency_key, new_queue
from workers.producer.__main__ import Settings, run
from workers.runtime.backoff import Backoff
from workers.runtime.producer import BatchSender, RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Callable

    from devtools.moto_server import MotoServer
    from tests.workers.processes import WorkerProcess

EXIT_DEADLINE_SECONDS = 20


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "QUEUE_URL"),
        ({"QUEUE_URL": "q", "MIN_INTERVAL_SECONDS": "soon"}, "MIN_INTERVAL_SECONDS"),
        ({"QUEUE_URL": "q", "MIN_INTERVAL_SECONDS": "5", "MAX_INTERVAL_SECONDS": "2"}, "MAX_"),
        ({"QUEUE_URL": "q", "BATCH_SIZE": "11"}, "BATCH_SIZE"),
        ({"QUEUE_URL": "q", "MAX_INTERVAL_SECONDS": "nan"}, "MAX_INTERVAL_SECONDS"),
    ],
)
def test_bad_environment_is_one_line_and_exit_2(
    start_worker: Callable[..., WorkerProcess], env: dict[str, str], named: str
) -> None:
    worker = start_worker("workers.producer", **{"QUEUE_URL": "", **env})

    code = worker.wait_exit(EXIT_DEADLINE_SECONDS)

    assert code == 2
    [line] = worker.stderr.strip().splitlines()
    assert line.startswith("error: ") and named in line


def test_sends_unix_times_and_flushes_on_sigterm(
    moto_server: MotoServer, start_worker: Callable[..., WorkerProcess]
) -> None:
    # given a producer sending 3 messages a request every 0.1 s
    client = client_for(moto_server)
    queue_url = new_queue(client, "producer-process")
    started = int(time.time())
    worker = start_worker(
        "workers.producer",
        QUEUE_URL=queue_url,
        MIN_INTERVAL_SECONDS="0.1",
        MAX_INTERVAL_SECONDS="0.1",
        BATCH_SIZE="3",
    )
    worker.wait_for_events("message sent", 6, timeout=EXIT_DEADLINE_SECONDS)

    # when it is told to stop
    worker.signal(signal.SIGTERM)

    # then it exits 0, and every message it logged as sent is in the queue, with a key
    assert worker.wait_exit(EXIT_DEADLINE_SECONDS) == 0
    assert worker.events("producer stopped")
    assert worker.events("message not sent") == []
    sent = {line["idempotency_key"] for line in worker.events("message sent")}
    received = drain(client, queue_url, expected=len(sent))
    assert sorted(idempotency_key(m) for m in received) == sorted(sent)
    assert all(started <= int(m["Body"]) <= time.time() for m in received)


def test_a_stop_during_a_failing_send_still_delivers_it(moto_server: MotoServer) -> None:
    # given the producer's loop in-process, and a first request that fails just as SIGTERM lands
    client = client_for(moto_server)
    queue_url = new_queue(client, "producer-flush")
    stop = threading.Event()
    requests = 0

    def stop_and_fail_first(**_: Any) -> None:
        nonlocal requests
        requests += 1
        if requests == 1:
            stop.set()
            raise EndpointConnectionError(endpoint_url=queue_url)

    client.meta.events.register("before-call.sqs.SendMessageBatch", stop_and_fail_first)
    settings = Settings(queue_url, min_interval=0.1, max_interval=0.1, batch_size=4)
    sender = BatchSender(
        client, queue_url, policy=RetryPolicy(backoff=Backoff(base=0.01, cap=0.01))
    )

    # when the loop runs until it is stopped
    run(settings, sender, stop)

    # then the send under way was retried to the end (the flush) and nothing more was sent
    assert requests == 2
    assert len(drain(client, queue_url, expected=4)) == 4
