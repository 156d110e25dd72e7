"""The outbox's timing on a fake clock: how long a delete lingers for company, how deletes are
batched, when the heartbeat extends a held message and by how much, and the 12 h limit.

The outbox runs its own thread, as in a worker; only time is fake, so every expectation is
exact, whatever the machine's load (the end-to-end tests check the same against moto_server
with bounds that hold under load).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from tests.workers.fake_clock import FakeClock
from workers.runtime.backoff import Backoff
from workers.runtime.ledger import Held, Ledger
from workers.runtime.message import Message
from workers.runtime.outbox import BATCH_ENTRIES, Outbox, OutboxTiming

if TYPE_CHECKING:
    from collections.abc import Iterator

LINGER = 0.2
VISIBILITY_TIMEOUT = 30
QUEUE_URL = "https://sqs.test/123456789012/work"
# Fixed delays (half the cap at least, the cap at most): a jittered retry is due within it.
RETRY_BACKOFF = Backoff(base=1.0, cap=1.0)


@dataclass
class Request:
    operation: str
    at: float
    entries: list[dict[str, Any]]

    def handles(self) -> list[str]:
        return [entry["ReceiptHandle"] for entry in self.entries]


@dataclass
class FakeSqs:
    """The two batch calls the outbox makes, recorded with the clock's time; entries whose
    handle is in `failing` fail once, as SQS reports a transient failure."""

    clock: FakeClock
    requests: list[Request] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delete_message_batch(self, **params: Any) -> dict[str, Any]:
        return self._answer("DeleteMessageBatch", params)

    def change_message_visibility_batch(self, **params: Any) -> dict[str, Any]:
        return self._answer("ChangeMessageVisibilityBatch", params)

    def _answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        assert params["QueueUrl"] == QUEUE_URL
        entries = list(params["Entries"])
        with self.lock:
            self.requests.append(Request(operation, self.clock(), entries))
            failed = [entry for entry in entries if entry["ReceiptHandle"] in self.failing]
            self.failing -= {entry["ReceiptHandle"] for entry in failed}
        return {
            "Successful": [{"Id": e["Id"]} for e in entries if e not in failed],
            "Failed": [
                {"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in failed
            ],
        }

    def sent(self, operation: str) -> list[Request]:
        with self.lock:
            return [request for request in self.requests if request.operation == operation]


@dataclass
class Running:
    clock: FakeClock
    sqs: FakeSqs
    ledger: Ledger
    outbox: Outbox
    timing: OutboxTiming
    received: int = 0

    def hold(self) -> Held:
        """A message received now, held until its visibility timeout ends."""
        self.received += 1
        now = self.clock()
        body = f"m{self.received}"
        held = Held(
            message=Message(body=body, message_id=body, receive_count=1, idempotency_key=body),
            receipt_handle=f"handle-{body}",
            received_at=now,
            visible_until=now + self.timing.visibility_timeout,
        )
        self.ledger.add(held)
        return held

    def delete(self, held: Held) -> None:
        with self.clock.step():
            self.outbox.delete(held)

    def deletes(self) -> list[Request]:
        return self.sqs.sent("DeleteMessageBatch")

    def extensions(self) -> list[Request]:
        return self.sqs.sent("ChangeMessageVisibilityBatch")


def run_outbox(timing: OutboxTiming) -> Iterator[Running]:
    clock = FakeClock()
    sqs = FakeSqs(clock)
    ledger = Ledger()
    outbox = Outbox(sqs, QUEUE_URL, ledger, timing, clock, clock.wait)  # type: ignore[arg-type]
    with clock.step():
        outbox.start()
    yield Running(clock, sqs, ledger, outbox, timing)
    assert outbox.close(clock() + 60) == 0


@pytest.fixture
def running() -> Iterator[Running]:
    yield from run_outbox(
        OutboxTiming(visibility_timeout=VISIBILITY_TIMEOUT, backoff=RETRY_BACKOFF, linger=LINGER)
    )


@pytest.fixture
def short_limit() -> Iterator[Running]:
    """SQS's 12 h limit shortened to 4 s, with a 2 s visibility timeout."""
    yield from run_outbox(OutboxTiming(visibility_timeout=2, backoff=RETRY_BACKOFF, max_hold=4))


def test_a_delete_lingers_for_company_then_goes_alone(running: Running) -> None:
    # given a message whose handler succeeded
    held = running.hold()
    asked_at = running.clock()
    running.delete(held)

    # then nothing is sent until the linger is over, then one request with that one entry
    running.clock.advance(LINGER * 0.9)
    assert running.deletes() == []
    running.clock.advance_to(asked_at + LINGER)
    (request,) = running.deletes()
    assert request.handles() == [held.receipt_handle]
    assert request.at == pytest.approx(asked_at + LINGER)
    assert len(running.ledger) == 0


def test_deletes_ending_within_one_linger_go_in_one_batch(running: Running) -> None:
    # given 7 handlers that end one by one, 10 ms apart: each delete with its own deadline
    held = [running.hold() for _ in range(7)]
    first_due = running.clock() + LINGER
    for message in held:
        running.delete(message)
        running.clock.advance(0.01)

    # when the first one comes due
    assert running.deletes() == []
    running.clock.advance_to(first_due)

    # then it takes the lingering others along: one request, not one per deadline
    (request,) = running.deletes()
    assert request.handles() == [message.receipt_handle for message in held]
    running.clock.advance(LINGER)
    assert len(running.deletes()) == 1


def test_a_full_batch_goes_at_once_and_the_eleventh_lingers(running: Running) -> None:
    held = [running.hold() for _ in range(BATCH_ENTRIES + 1)]

    for message in held:
        running.delete(message)

    # then the first ten went without waiting; the eleventh waits for company or its deadline
    (full,) = running.deletes()
    assert full.handles() == [message.receipt_handle for message in held[:BATCH_ENTRIES]]
    assert len(running.ledger) == 1
    running.clock.advance(LINGER)
    assert [request.handles() for request in running.deletes()[1:]] == [[held[-1].receipt_handle]]


def test_a_visibility_change_goes_at_once(running: Running) -> None:
    held = running.hold()

    with running.clock.step():
        running.outbox.change_visibility(held, 7)

    (request,) = running.extensions()
    assert request.entries[0]["VisibilityTimeout"] == 7
    assert running.deletes() == []


def test_a_failed_delete_entry_is_retried_after_its_backoff(running: Running) -> None:
    # given a delete SQS fails once for its one entry
    held = running.hold()
    running.sqs.failing.add(held.receipt_handle)
    running.delete(held)
    running.clock.advance(LINGER)
    assert len(running.deletes()) == 1

    # then it is sent again no sooner than half the backoff, and no later than all of it
    running.clock.advance(RETRY_BACKOFF.delay(1) / 2 - 0.01)
    assert len(running.deletes()) == 1
    running.clock.advance(RETRY_BACKOFF.delay(1) / 2 + 0.01)
    first, retry = running.deletes()
    assert retry.handles() == first.handles()
    assert len(running.ledger) == 0


def test_the_heartbeat_extends_a_held_message_before_its_visibility_runs_out(
    running: Running,
) -> None:
    # given a message received with a 30 s visibility timeout, its handler still running
    held = running.hold()
    timing = running.timing

    # then nothing is extended while more than the heartbeat's lead (15 s) is left
    running.clock.advance(VISIBILITY_TIMEOUT - timing.heartbeat_lead - timing.heartbeat_interval)
    assert running.extensions() == []

    # and within one heartbeat interval of that point it is extended by the whole timeout
    running.clock.advance(timing.heartbeat_interval)
    (extension,) = running.extensions()
    assert extension.handles() == [held.receipt_handle]
    assert extension.entries[0]["VisibilityTimeout"] == VISIBILITY_TIMEOUT
    assert held.visible_until == extension.at + VISIBILITY_TIMEOUT
    assert extension.at <= held.received_at + VISIBILITY_TIMEOUT - timing.heartbeat_lead


def test_the_heartbeat_keeps_a_message_hidden_for_as_long_as_it_is_held(running: Running) -> None:
    held = running.hold()
    interval = running.timing.heartbeat_interval

    # when its handler runs for ten visibility timeouts
    for _ in range(round(10 * VISIBILITY_TIMEOUT / interval)):
        running.clock.advance(interval)
        # then it never comes within one interval of becoming visible
        assert held.visible_until > running.clock() + interval

    extensions = running.extensions()
    assert len(extensions) >= 10
    # and once it is deleted the heartbeat leaves it alone
    running.delete(held)
    running.clock.advance(LINGER)
    running.clock.advance(3 * VISIBILITY_TIMEOUT)
    assert len(running.extensions()) == len(extensions)


def test_a_message_with_a_visibility_change_queued_is_not_extended(running: Running) -> None:
    # given a failed handler whose message got a 60 s retry backoff
    held = running.hold()
    with running.clock.step():
        running.outbox.change_visibility(held, 60)
    (backoff,) = running.extensions()

    # then no heartbeat undoes the backoff, however long the worker runs
    running.clock.advance(3 * VISIBILITY_TIMEOUT)
    assert running.extensions() == [backoff]


def test_visibility_is_never_extended_past_the_limit_since_the_receive(
    short_limit: Running, caplog: pytest.LogCaptureFixture
) -> None:
    # given a 2 s visibility timeout, a 4 s limit since the receive, and a handler that hangs
    held = short_limit.hold()
    interval = short_limit.timing.heartbeat_interval

    # when the handler hangs for 10 s
    for _ in range(round(10 / interval)):
        short_limit.clock.advance(interval)

    # then it was extended by 2 s while the limit allowed, by what was left once, and not after
    seconds = [request.entries[0]["VisibilityTimeout"] for request in short_limit.extensions()]
    assert seconds[:-1] == [2] * (len(seconds) - 1)
    assert 0 < seconds[-1] < 2
    assert held.visible_until <= held.received_at + 4
    assert held.visible_until >= held.received_at + 3
    limit_lines = [r for r in caplog.records if r.getMessage() == "visibility limit reached"]
    assert len(limit_lines) == 1
