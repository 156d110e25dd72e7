"""The example producer as a real process, as its image runs it (`python -m workers.runtime`,
WORKER_KIND=producer): its environment contract, its shutdown, and what the runtime does with
what a `produce()` handler returns."""

from __future__ import annotations

import signal
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import EndpointConnectionError

from tests.workers.processes import WORKER_MODULE, example
from tests.workers.sqs_testing import client_for, drain, idempotency_key, new_queue
from workers.runtime.backoff import Backoff
from workers.runtime.kinds.producer import outgoing, produce_once, run
from workers.runtime.producer import BatchSender, OutgoingMessage, RetryPolicy
from workers.runtime.producer_settings import ProducerSettings

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
    worker = start_worker(WORKER_MODULE, **{**example("producer"), "QUEUE_URL": "", **env})

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
        WORKER_MODULE,
        **example("producer"),
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
    settings = ProducerSettings(queue_url, min_interval=0.1, max_interval=0.1)
    sender = BatchSender(
        client, queue_url, policy=RetryPolicy(backoff=Backoff(base=0.01, cap=0.01))
    )

    # when the loop runs until it is stopped
    run(settings, sender, lambda: ["a", "b", "c", "d"], stop)

    # then the send under way was retried to the end (the flush) and nothing more was sent
    assert requests == 2
    assert len(drain(client, queue_url, expected=4)) == 4


@pytest.mark.parametrize(
    ("produced", "bodies"),
    [
        ("one", ["one"]),
        (["a", "b"], ["a", "b"]),
        (("a", OutgoingMessage("b", idempotency_key="key")), ["a", "b"]),
        ((body for body in ["x"]), ["x"]),
        (None, []),
        ([], []),
    ],
)
def test_what_produce_returns_becomes_the_messages_sent(produced: Any, bodies: list[str]) -> None:
    assert [message.body for message in outgoing(produced)] == bodies


def test_an_idempotency_key_given_by_the_handler_is_kept() -> None:
    [message] = outgoing([OutgoingMessage("b", idempotency_key="order-7")])

    assert message.key == "order-7"


@pytest.mark.parametrize("produced", [42, [b"bytes"], {"body": "x"}.items()])
def test_anything_else_is_logged_as_a_failed_produce_and_nothing_is_sent(
    produced: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("ERROR", logger="workers.producer"):
        messages = produce_once(lambda: produced)

    assert messages == []
    [record] = caplog.records
    assert record.getMessage() == "produce failed"
    assert "return a str body, an OutgoingMessage, a list of them, or None" in record.error


def test_a_produce_that_raises_is_logged_with_its_traceback_and_the_loop_goes_on(
    moto_server: MotoServer, caplog: pytest.LogCaptureFixture
) -> None:
    # given a handler that fails on its first call only
    client = client_for(moto_server)
    queue_url = new_queue(client, "producer-raises")
    stop = threading.Event()
    calls = 0

    def produce() -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("first call fails")
        stop.set()
        return ["after the failure"]

    # when the loop runs until the second call stops it
    with caplog.at_level("ERROR", logger="workers.producer"):
        run(ProducerSettings(queue_url, 0.1, 0.1), BatchSender(client, queue_url), produce, stop)

    # then the failure was logged with its traceback, and the next call's message was sent
    [failure] = [r for r in caplog.records if r.getMessage() == "produce failed"]
    assert "RuntimeError: first call fails" in failure.traceback
    assert [m["Body"] for m in drain(client, queue_url, expected=1)] == ["after the failure"]
