"""SQS unreachable for a while: the consumer backs off with a cap, says so, recovers, and
loses nothing. The outage is a cut TCP proxy: restarting moto_server would wipe the queues."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devtools.counting_proxy import counting_proxy
from tests.workers.consumer_testing import (
    keys_of,
    queue_counts,
    send,
    start_consumer,
    wait_empty,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sqs import SQSClient

    from devtools.moto_server import MotoServer
    from tests.workers.consumer_testing import QueuePair
    from tests.workers.processes import WorkerProcess

    StartWorker = Callable[..., WorkerProcess]

BACKOFF_CAP_SECONDS = 1.0


def test_an_outage_is_backed_off_logged_and_recovered_without_loss(
    sqs: SQSClient, queue_pair: QueuePair, moto_server: MotoServer, start_worker: StartWorker
) -> None:
    keys = send(sqs, queue_pair.url, [f"sleep:1:{index}" for index in range(8)])
    with counting_proxy(moto_server.port) as proxy:
        worker = start_consumer(
            start_worker,
            queue_pair,
            AWS_ENDPOINT_URL=proxy.endpoint_url,
            SQS_BACKOFF_MAX_SECONDS=str(BACKOFF_CAP_SECONDS),
            # One botocore attempt per call: the engine's own capped backoff is what shows.
            SQS_MAX_ATTEMPTS="1",
        )
        # given handlers running when SQS becomes unreachable
        worker.wait_for_events("test handler started", 4, timeout=15)
        proxy.cut()
        # when it stays unreachable until some operation was retried several times
        worker.wait_for(
            lambda lines: any(
                line["event"] == "sqs unavailable" and line["attempt"] >= 3 for line in lines
            ),
            timeout=30,
            what="a third failed attempt",
        )
        proxy.restore()

        # then it recovers and every message is handled, none twice, none dead-lettered
        worker.wait_for(
            lambda lines: set(keys_of(lines, "handled")) == set(keys),
            timeout=40,
            what="every message handled",
        )
        wait_empty(sqs, queue_pair.url, timeout=15)

    assert sorted(keys_of(worker.lines, "handled")) == sorted(keys)
    assert queue_counts(sqs, queue_pair.dlq_url) == (0, 0)
    outage = worker.events("sqs unavailable")
    assert {line["operation"] for line in outage} >= {"ReceiveMessage"}
    assert all(0 < line["retry_in_seconds"] <= BACKOFF_CAP_SECONDS for line in outage)
    assert worker.events("sqs recovered")
