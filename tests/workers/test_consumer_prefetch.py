"""Prefetch (WORKER_PREFETCH): at most concurrency + prefetch messages held, the strict rule
with 0, prefetched messages kept invisible by the heartbeat and released at a stop."""

from __future__ import annotations

import signal
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.workers.consumer_testing import (
    Recorder,
    all_lines,
    fast_settings,
    keys_of,
    queue_counts,
    running_consumer,
    sample_until,
    send,
    start_consumer,
    wait_empty,
    wait_until,
)
from workers.runtime.aws import LONG_POLL_SECONDS

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sqs import SQSClient

    from tests.workers.consumer_testing import Gate, QueuePair
    from tests.workers.processes import WorkerProcess
    from workers.runtime.message import Message

    StartWorker = Callable[..., WorkerProcess]


class HoldingMeter:
    """Counts, from outside the engine, the messages it holds whose handler has not returned.

    Every receive is checked before it is sent: what it asks for plus what is held must fit
    in concurrency + prefetch. The engine frees a place only after the handler returned, so
    this count is never above the engine's own: an engine that asks for too much fails here.
    """

    def __init__(self, client: SQSClient, seconds: float) -> None:
        self.seconds = seconds  # the shortest handler's work
        self.received = 0
        self.returned = 0
        self.asks: list[tuple[int, int]] = []  # (held before the receive, messages asked for)
        self.most_held = 0
        self._lock = threading.Lock()
        client.meta.events.register("provide-client-params.sqs.ReceiveMessage", self._asking)
        client.meta.events.register("after-call.sqs.ReceiveMessage", self._received)

    def _asking(self, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.asks.append((self.received - self.returned, params["MaxNumberOfMessages"]))

    def _received(self, parsed: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.received += len(parsed.get("Messages", []))
            self.most_held = max(self.most_held, self.received - self.returned)

    def handler(self, message: Message) -> None:
        # Work of uneven length (body "m<n>"), so that handlers end one by one, not together.
        time.sleep(self.seconds * (1 + int(message.body[1:]) % 4 / 2))
        with self._lock:
            self.returned += 1


@pytest.mark.parametrize("prefetch", [0, 4])
def test_it_never_holds_more_than_concurrency_plus_prefetch(
    sqs: SQSClient, queue_pair: QueuePair, prefetch: int
) -> None:
    # given more messages than it may hold, and handlers slow enough for a backlog to build
    concurrency = 3
    meter = HoldingMeter(sqs, seconds=0.1)
    send(sqs, queue_pair.url, [f"m{index}" for index in range(20)])
    settings = fast_settings(queue_pair, concurrency=concurrency, prefetch=prefetch)

    # when it handles all of them
    with running_consumer(sqs, settings, meter.handler):
        wait_until(lambda: meter.returned == 20, 20, "20 messages handled")
        wait_empty(sqs, queue_pair.url, timeout=10)

    # then no receive asked for more than the free places, and the bound was reached
    limit = concurrency + prefetch
    assert all(held + asked <= limit for held, asked in meter.asks), meter.asks
    assert meter.most_held == limit
    # a top-up waits until more than half the prefetch is free (strict: one slot), so that
    # receives stay full instead of asking for one message at a time
    assert min(asked for _, asked in meter.asks) >= prefetch // 2 + 1, meter.asks


def test_with_busy_handlers_it_holds_exactly_the_prefetch_in_flight_on_sqs(
    sqs: SQSClient, queue_pair: QueuePair
) -> None:
    received: list[int] = []
    sqs.meta.events.register(
        "after-call.sqs.ReceiveMessage",
        lambda parsed, **_: received.append(len(parsed.get("Messages", []))),
    )
    send(sqs, queue_pair.url, [f"m{index}" for index in range(12)])
    handler = Recorder(gated=True)
    settings = fast_settings(queue_pair, concurrency=2, prefetch=3, receive_wait=LONG_POLL_SECONDS)

    with running_consumer(sqs, settings, handler):
        # given both handlers blocked
        wait_until(lambda: len(handler.calls) == 2, 10, "2 handlers running")
        # then SQS counts 2 running + 3 prefetched in flight, received by the first receive
        wait_until(lambda: queue_counts(sqs, queue_pair.url) == (7, 5), 10, "5 in flight")
        assert received == [5]
        assert len(handler.calls) == 2, "a prefetched message started without a free slot"
        # and when the handlers go on, everything is handled once
        handler.gated = False
        handler.gate.release(2)
        wait_until(lambda: len(handler.calls) == 12, 15, "12 messages handled")
        wait_empty(sqs, queue_pair.url, timeout=10)

    assert sorted(handler.keys().values()) == [1] * 12


def test_sigterm_releases_prefetched_messages_at_once_and_the_next_worker_handles_them(
    sqs: SQSClient, queue_pair: QueuePair, start_worker: StartWorker, gate: Gate
) -> None:
    # given 2 handlers busy until the test lets them finish and 3 more messages prefetched
    keys = send(sqs, queue_pair.url, gate.bodies(10))
    worker = start_consumer(
        start_worker, queue_pair, WORKER_CONCURRENCY="2", WORKER_PREFETCH="3", **gate.env()
    )
    worker.wait_for_events("test handler started", 2, timeout=15)
    wait_until(lambda: queue_counts(sqs, queue_pair.url) == (5, 5), 15, "3 prefetched")

    # when it gets SIGTERM, and its running handlers finish once it is stopping
    worker.signal(signal.SIGTERM)
    worker.wait_for_events("stopping", 1, timeout=15)
    gate.open()

    # then the running ones finish, the prefetched ones are released with visibility 0 (visible
    # now, not after the 3 s timeout), and nothing else is started or received
    assert worker.wait_exit(timeout=15) == 0, worker.tail()
    started = keys_of(worker.lines, "test handler started")
    assert len(started) == 2
    assert sorted(keys_of(worker.lines, "handled")) == sorted(started)
    released = keys_of(worker.lines, "released")
    assert len(released) == 3 and not set(released) & set(started)
    assert queue_counts(sqs, queue_pair.url) == (8, 0)

    # and a new worker handles exactly the rest: nothing lost, nothing twice
    successor = start_consumer(start_worker, queue_pair, WORKER_CONCURRENCY="8", **gate.env())
    successor.wait_for_events("handled", 8, timeout=30)
    wait_empty(sqs, queue_pair.url, timeout=10)
    assert sorted(keys_of(all_lines(worker, successor), "handled")) == sorted(keys)
    assert set(released) <= set(keys_of(successor.lines, "handled"))


def test_a_prefetched_message_waiting_past_its_visibility_timeout_is_extended_not_redelivered(
    sqs: SQSClient, queue_pair: QueuePair, start_worker: StartWorker
) -> None:
    # given one slot and one prefetched message, each handler working longer than the 3 s
    # visibility timeout, so the second waits that long before it starts
    keys = send(sqs, queue_pair.url, ["sleep:3.5:a", "sleep:3.5:b"])
    worker = start_consumer(start_worker, queue_pair, WORKER_CONCURRENCY="1", WORKER_PREFETCH="1")
    worker.wait_for_events("test handler started", 1, timeout=15)

    # then neither message becomes visible again while the worker holds it
    def none_visible() -> None:
        assert queue_counts(sqs, queue_pair.url)[0] == 0, "a held message reappeared"

    samples = sample_until(
        lambda: len(worker.events("handled")) == 2, none_visible, 20, "both handled"
    )
    assert samples > 20  # sampled all along the 7 s, every 0.1 s

    # the waiting one was extended before its handler started, and each was handled once
    first, second = (line["message_id"] for line in worker.events("test handler started"))
    second_started = next(
        index
        for index, line in enumerate(worker.lines)
        if line["event"] == "test handler started" and line["message_id"] == second
    )
    extended_while_waiting = [
        line
        for line in worker.lines[:second_started]
        if line["event"] == "visibility extended" and second in line["message_ids"]
    ]
    assert extended_while_waiting, "the prefetched message was not extended while it waited"
    assert first != second
    assert [line["receive_count"] for line in worker.events("handled")] == [1, 1]
    assert sorted(keys_of(worker.lines, "handled")) == sorted(keys)
    assert not worker.events("duplicate")
    wait_empty(sqs, queue_pair.url, timeout=10)
