"""Stopping the consumer process: SIGTERM drains, SIGKILL loses nothing, deploys churn safely."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

from tests.workers.consumer_testing import (
    all_lines,
    keys_of,
    queue_counts,
    send,
    start_consumer,
    wait_empty,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sqs import SQSClient

    from tests.workers.consumer_testing import Gate, QueuePair
    from tests.workers.processes import LogLine, WorkerProcess

    StartWorker = Callable[..., WorkerProcess]


def started_keys(lines: list[LogLine]) -> list[str]:
    return keys_of(lines, "test handler started")


def test_sigterm_lets_running_handlers_finish_returns_the_rest_and_exits_0(
    sqs: SQSClient, queue_pair: QueuePair, start_worker: StartWorker
) -> None:
    # given 4 handlers busy for 1 s each and more messages waiting
    keys = send(sqs, queue_pair.url, [f"sleep:1:{index}" for index in range(12)])
    worker = start_consumer(start_worker, queue_pair, WORKER_CONCURRENCY="4")
    worker.wait_for_events("test handler started", 4, timeout=15)

    # when it gets SIGTERM
    worker.signal(signal.SIGTERM)

    # then it exits 0 after the running handlers finished and their deletes were flushed,
    # and it left nothing invisible: everything else is back on the queue at once
    assert worker.wait_exit(timeout=15) == 0, worker.tail()
    running = started_keys(worker.lines)
    assert sorted(keys_of(worker.lines, "handled")) == sorted(running)
    assert queue_counts(sqs, queue_pair.url) == (len(keys) - len(running), 0)
    stop_index = next(i for i, line in enumerate(worker.lines) if line["event"] == "stop requested")
    assert not started_keys(worker.lines[stop_index:]), "a handler started after SIGTERM"

    # and a new worker handles exactly the rest
    successor = start_consumer(start_worker, queue_pair)
    successor.wait_for_events("handled", len(keys) - len(running), timeout=30)
    wait_empty(sqs, queue_pair.url, timeout=10)
    assert sorted(keys_of(all_lines(worker, successor), "handled")) == sorted(keys)


def test_sigkill_mid_batch_loses_nothing(
    sqs: SQSClient, queue_pair: QueuePair, start_worker: StartWorker, gate: Gate
) -> None:
    # given a worker killed with SIGKILL while 4 handlers run
    keys = send(sqs, queue_pair.url, gate.bodies(12))
    victim = start_consumer(start_worker, queue_pair, WORKER_CONCURRENCY="4", **gate.env())
    victim.wait_for_events("test handler started", 4, timeout=15)
    victim.signal(signal.SIGKILL)
    assert victim.wait_exit(timeout=10) == -signal.SIGKILL

    # when a new worker starts, whose handlers finish at once
    gate.open()
    successor = start_consumer(start_worker, queue_pair, WORKER_CONCURRENCY="4", **gate.env())

    # then every message is handled (the killed ones after their visibility timeout)
    successor.wait_for(
        lambda _: set(keys_of(all_lines(victim, successor), "handled")) == set(keys),
        timeout=40,
        what="every message handled",
    )
    wait_empty(sqs, queue_pair.url, timeout=10)
    assert queue_counts(sqs, queue_pair.dlq_url) == (0, 0)
    interrupted = set(started_keys(victim.lines)) - set(keys_of(victim.lines, "handled"))
    assert len(interrupted) == 4, "the kill should have interrupted the 4 running handlers"
    assert interrupted <= set(keys_of(successor.lines, "handled"))


def test_deploy_churn_leaves_the_dlq_empty_and_every_message_handled(
    sqs: SQSClient, queue_pair: QueuePair, start_worker: StartWorker
) -> None:
    # given a stream of work, and K < maxReceiveCount deploys (SIGTERM, then a new task)
    keys = send(sqs, queue_pair.url, [f"sleep:0.4:{index}" for index in range(18)])
    cycles = queue_pair.max_receive_count - 1
    workers: list[WorkerProcess] = []
    for _ in range(cycles):
        worker = start_consumer(start_worker, queue_pair, WORKER_CONCURRENCY="3")
        workers.append(worker)
        worker.wait_for_events("handled", 2, timeout=20)
        worker.signal(signal.SIGTERM)
        assert worker.wait_exit(timeout=15) == 0, worker.tail()

    # when the last task runs to the end
    last = start_consumer(start_worker, queue_pair, WORKER_CONCURRENCY="3")
    workers.append(last)
    last.wait_for(
        lambda _: set(keys_of(all_lines(*workers), "handled")) == set(keys),
        timeout=40,
        what="every message handled",
    )

    # then nothing was lost or dead-lettered, and no message was handled twice
    wait_empty(sqs, queue_pair.url, timeout=10)
    assert queue_counts(sqs, queue_pair.dlq_url) == (0, 0)
    assert sorted(keys_of(all_lines(*workers), "handled")) == sorted(keys)
