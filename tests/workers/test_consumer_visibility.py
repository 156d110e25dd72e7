"""Visibility while a message is held: the heartbeat, handler timeouts, and the 12 h limit."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from tests.workers.consumer_testing import (
    fast_settings,
    queue_counts,
    running_consumer,
    sample_until,
    send,
    start_consumer,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest
    from mypy_boto3_sqs import SQSClient

    from tests.workers.consumer_testing import QueuePair
    from tests.workers.processes import WorkerProcess
    from workers.runtime.message import Message

    StartWorker = Callable[..., WorkerProcess]


def test_the_heartbeat_keeps_a_slow_message_invisible_past_its_visibility_timeout(
    sqs: SQSClient, queue_pair: QueuePair, start_worker: StartWorker
) -> None:
    # given a handler that works for more than twice the 3 s visibility timeout
    (key,) = send(sqs, queue_pair.url, ["sleep:7:slow"])
    worker = start_consumer(start_worker, queue_pair, WORKER_CONCURRENCY="2")
    worker.wait_for_events("test handler started", 1, timeout=15)

    # then the message never becomes visible again while the handler runs
    def still_hidden() -> None:
        assert queue_counts(sqs, queue_pair.url) == (0, 1), "the message reappeared"

    samples = sample_until(lambda: bool(worker.events("handled")), still_hidden, 15, "handled")

    (handled,) = worker.events("handled")
    assert handled["duration_seconds"] > 2 * queue_pair.visibility_timeout
    assert handled["receive_count"] == 1
    assert samples > 10
    assert len(worker.events("visibility extended")) >= 2
    assert not worker.events("duplicate"), "the message was delivered again while handled"
    assert [line["idempotency_key"] for line in worker.events("test handler started")] == [key]
    wait_until(lambda: queue_counts(sqs, queue_pair.url) == (0, 0), 10, "the delete")


def test_an_overrunning_handler_fails_but_keeps_its_message_and_slot_until_it_ends(
    sqs: SQSClient, queue_pair: QueuePair, start_worker: StartWorker
) -> None:
    # given one slot, a handler that overruns its 1 s timeout past the 3 s visibility timeout,
    # and a second message waiting
    (slow,) = send(sqs, queue_pair.url, ["sleep:4:slow"], key_prefix="slow")
    worker = start_consumer(
        start_worker, queue_pair, WORKER_CONCURRENCY="1", HANDLER_TIMEOUT_SECONDS="1"
    )
    worker.wait_for_events("test handler started", 1, timeout=15)
    (quick,) = send(sqs, queue_pair.url, ["quick"], key_prefix="quick")

    # then the timeout is reported at once, the message stays hidden while the thread runs,
    # and the waiting message does not start until that thread ended
    worker.wait_for_events("handler timeout", 1, timeout=5)

    def slow_still_hidden() -> None:
        # With the only slot taken nothing else is received: had the slow message reappeared,
        # both would be visible. (Once the failure is logged, "quick" may already be in flight.)
        visible, in_flight = queue_counts(sqs, queue_pair.url)
        assert (visible + in_flight, in_flight >= 1) == (2, True), "the slow message reappeared"

    sample_until(lambda: bool(worker.events("failed")), slow_still_hidden, 10, "the failure")
    worker.wait_for_events("handled", 1, timeout=15)

    (failed,) = worker.events("failed")[:1]
    assert (failed["idempotency_key"], failed["outcome"]) == (slow, "timeout")
    assert failed["duration_seconds"] >= 4
    assert failed["retry_in_seconds"] >= 1
    order = [line.get("idempotency_key") for line in worker.lines if line["event"] in
             ("failed", "test handler started")]  # fmt: skip
    assert order[:3] == [slow, slow, quick], "the second message started before the slot was free"


def test_visibility_is_never_extended_past_the_limit_since_the_receive(
    sqs: SQSClient, queue_pair: QueuePair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="workers.consumer")
    # given SQS's 12 h limit shortened to 4 s, a 2 s visibility timeout and a handler that hangs
    send(sqs, queue_pair.url, ["hangs"])
    started = threading.Event()
    release = threading.Event()

    def hang(_message: Message) -> None:
        started.set()
        release.wait(timeout=30)

    settings = fast_settings(queue_pair, concurrency=1, visibility_timeout=2, max_hold=4)
    before_receive = time.monotonic()
    with running_consumer(sqs, settings, hang):
        assert started.wait(timeout=10)
        # then the heartbeat extends it past 2 s, but it reappears once the limit is reached
        wait_until(lambda: queue_counts(sqs, queue_pair.url)[0] == 1, 10, "the message visible")
        hidden_for = time.monotonic() - before_receive
        release.set()

    # At least the first extension's 2 s after the heartbeat's 1 s lead; how long exactly, and
    # never past the limit, is checked on a fake clock in test_outbox_timing.py.
    assert hidden_for >= 3
    messages = [record.getMessage() for record in caplog.records]
    assert "visibility extended" in messages
    assert messages.count("visibility limit reached") == 1
