"""Everything a consumer tells SQS about the messages it holds, in batches of up to 10.

- deletes, after a handler succeeded;
- visibility changes: a failed message's retry backoff, a release (0) at shutdown;
- the heartbeat, which extends messages still held before their visibility runs out.

One thread sends all of it, so a heartbeat can never overtake and undo a backoff that was
queued before it. `delete_message_batch` and `change_message_visibility_batch` report
per-entry failures in `Failed` instead of raising: every entry is checked, transient
failures are retried with capped backoff, and a sender fault (the handle is no longer
valid) is logged — the message then reappears when its visibility ends, so nothing is lost.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from workers.runtime.limits import SQS_MAX_VISIBILITY_SECONDS

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mypy_boto3_sqs import SQSClient

    from workers.runtime.backoff import Backoff
    from workers.runtime.ledger import Held, Ledger

log = logging.getLogger("workers.consumer")

BATCH_ENTRIES = 10
# SQS: "visibility can be extended to at most 12 hours after the receive".
SQS_MAX_HOLD_SECONDS = SQS_MAX_VISIBILITY_SECONDS


class Kind(Enum):
    DELETE = "DeleteMessageBatch"
    CHANGE_VISIBILITY = "ChangeMessageVisibilityBatch"


_METHODS = {
    Kind.DELETE: "delete_message_batch",
    Kind.CHANGE_VISIBILITY: "change_message_visibility_batch",
}


@dataclass(eq=False)
class _Action:
    kind: Kind
    held: Held
    seconds: int  # the new visibility timeout, for CHANGE_VISIBILITY
    due: float
    attempt: int = 0


@dataclass(frozen=True)
class OutboxTiming:
    """visibility_timeout: what a heartbeat extends to. linger: how long a delete may wait for
    more to fill its batch. max_hold: the visibility limit since the receive (tests shorten it).
    """

    visibility_timeout: int
    backoff: Backoff
    linger: float = 0.1
    max_hold: float = SQS_MAX_HOLD_SECONDS

    @property
    def heartbeat_lead(self) -> float:
        """Extend when this little visibility is left: half the timeout, room for a slow call."""
        return self.visibility_timeout / 2

    @property
    def heartbeat_interval(self) -> float:
        return min(5.0, max(0.1, self.visibility_timeout / 6))


class Outbox:
    """Queue deletes and visibility changes from any thread; one thread sends them."""

    def __init__(
        self,
        client: SQSClient,
        queue_url: str,
        ledger: Ledger,
        timing: OutboxTiming,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[threading.Condition, float], object] = threading.Condition.wait,
    ) -> None:
        """`clock` and `wait` (a condition's wait with a timeout on that clock) are the real
        ones unless a test drives time by hand."""
        self._client = client
        self._queue_url = queue_url
        self._ledger = ledger
        self._timing = timing
        self._clock = clock
        self._wait = wait
        self._pending: list[_Action] = []
        self._changed = threading.Condition()
        self._closing = False
        self._closed = False
        self._deadline = float("inf")
        self._unavailable: set[str] = set()  # operations whose last call failed
        self._thread = threading.Thread(target=self._run, name="sqs-outbox", daemon=True)

    # -- producers (handler threads, the receiver) -------------------------------------------

    def delete(self, held: Held) -> None:
        # Keep extending until the delete is done: it may need retries during an outage.
        self._ledger.settle(held, keep_extending=True)
        self._enqueue(_Action(Kind.DELETE, held, 0, self._clock() + self._timing.linger))

    def change_visibility(self, held: Held, seconds: int) -> None:
        self._ledger.settle(held, keep_extending=False)
        seconds = min(seconds, self._seconds_left(held, self._clock()))
        self._enqueue(_Action(Kind.CHANGE_VISIBILITY, held, max(seconds, 0), self._clock()))

    def _enqueue(self, action: _Action) -> None:
        with self._changed:
            if self._closed:
                log.warning(
                    "not settled",
                    extra={"message_id": action.held.message.message_id, "reason": "stopped"},
                )
                return
            self._pending.append(action)
            self._changed.notify_all()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() or self._closing

    def close(self, deadline: float) -> int:
        """Send everything queued, retrying until `deadline`; return how many were not sent."""
        with self._changed:
            self._closing = True
            self._deadline = deadline
            self._changed.notify_all()
        self._thread.join(max(0.0, deadline - self._clock()))
        with self._changed:
            self._closed = True
            return len(self._pending)

    # -- the sending thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._send_until_closed()
        except Exception:
            log.exception("internal error")

    def _send_until_closed(self) -> None:
        heartbeat_at = self._clock()
        while True:
            ready, finished = self._next_ready(heartbeat_at)
            if finished:
                return
            for kind in Kind:
                batch = [action for action in ready if action.kind is kind]
                for start in range(0, len(batch), BATCH_ENTRIES):
                    self._send(kind, batch[start : start + BATCH_ENTRIES])
            now = self._clock()
            if now >= heartbeat_at:
                self._heartbeat(now)
                heartbeat_at = now + self._timing.heartbeat_interval

    def _next_ready(self, heartbeat_at: float) -> tuple[list[_Action], bool]:
        """Wait until actions are due (or a batch is full, or the heartbeat is due)."""
        with self._changed:
            while True:
                now = self._clock()
                if self._closing and (not self._pending or now >= self._deadline):
                    return [], True
                ready = self._ready(now)
                if ready or now >= heartbeat_at:
                    self._pending = [a for a in self._pending if a not in ready]
                    return ready, False
                wake = min([heartbeat_at, *(action.due for action in self._pending)])
                if self._closing:
                    wake = min(wake, self._deadline)
                self._wait(self._changed, max(0.0, wake - now))

    def _ready(self, now: float) -> list[_Action]:
        """What to send now: actions due, or in a full batch, or closing. A batch that goes
        out anyway takes along first attempts still lingering, up to its 10 entries: they
        were only waiting for company, and one request instead of two is what linger is for.
        """
        ready = [action for action in self._pending if self._is_ready(action, now)]
        chosen = {id(action) for action in ready}
        for kind in Kind:
            going = sum(action.kind is kind for action in ready)
            room = -going % BATCH_ENTRIES
            if not (going and room):
                continue
            lingering = [
                action
                for action in self._pending
                if action.kind is kind and action.attempt == 0 and id(action) not in chosen
            ]
            ready += sorted(lingering, key=lambda action: action.due)[:room]
        return ready

    def _is_ready(self, action: _Action, now: float) -> bool:
        if action.due <= now:
            return True
        if action.attempt > 0:
            return False  # a retry waits for its backoff, even while closing
        same_kind = sum(1 for other in self._pending if other.kind is action.kind)
        return self._closing or same_kind >= BATCH_ENTRIES

    def _send(self, kind: Kind, actions: Sequence[_Action]) -> None:
        entries = [self._entry(str(index), action) for index, action in enumerate(actions)]
        try:
            failed = self._call(kind, entries)
        except (BotoCoreError, ClientError) as error:
            self._report_unavailable(kind.value, error, actions[0].attempt + 1)
            self._retry(actions)
            return
        for index, action in enumerate(actions):
            failure = failed.get(str(index))
            if failure is None:
                self._ledger.remove(action.held)
            elif failure.get("SenderFault"):
                self._give_up(action, failure)
            else:
                log.warning(
                    "batch entry failed",
                    extra=self._failure_fields(kind, action.held, failure, action.attempt + 1),
                )
                self._retry([action])

    @staticmethod
    def _entry(entry_id: str, action: _Action) -> dict[str, Any]:
        entry: dict[str, Any] = {"Id": entry_id, "ReceiptHandle": action.held.receipt_handle}
        if action.kind is Kind.CHANGE_VISIBILITY:
            entry["VisibilityTimeout"] = action.seconds
        return entry

    def _call(self, kind: Kind, entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Send one batch; return its failed entries by id (unmentioned entries count as failed)."""
        response = getattr(self._client, _METHODS[kind])(QueueUrl=self._queue_url, Entries=entries)
        if kind.value in self._unavailable:
            self._unavailable.discard(kind.value)
            log.info("sqs recovered", extra={"operation": kind.value})
        failed = {entry["Id"]: dict(entry) for entry in response.get("Failed", [])}
        succeeded = {entry["Id"] for entry in response.get("Successful", [])}
        for entry in entries:
            if entry["Id"] not in succeeded and entry["Id"] not in failed:
                failed[entry["Id"]] = {"Code": "NotReported", "SenderFault": False}
        return failed

    def _retry(self, actions: Sequence[_Action]) -> None:
        now = self._clock()
        with self._changed:
            for action in actions:
                action.attempt += 1
                action.due = now + self._timing.backoff.jittered(action.attempt)
                self._pending.append(action)

    def _give_up(self, action: _Action, failure: dict[str, Any]) -> None:
        # The message is not lost: it becomes visible again when its current visibility ends.
        event = "delete failed" if action.kind is Kind.DELETE else "visibility change failed"
        log.error(event, extra=self._failure_fields(action.kind, action.held, failure, None))
        self._ledger.remove(action.held)

    def _report_unavailable(self, operation: str, error: Exception, attempt: int) -> None:
        self._unavailable.add(operation)
        log.warning(
            "sqs unavailable",
            extra={
                "operation": operation,
                "error": repr(error)[:500],
                "attempt": attempt,
                "retry_in_seconds": round(self._timing.backoff.delay(attempt), 3),
            },
        )

    @staticmethod
    def _failure_fields(
        kind: Kind, held: Held, failure: dict[str, Any], attempt: int | None
    ) -> dict[str, Any]:
        return {
            "operation": kind.value,
            "message_id": held.message.message_id,
            "code": failure.get("Code"),
            "detail": failure.get("Message"),
            "attempt": attempt,
        }

    # -- heartbeat ---------------------------------------------------------------------------

    def _seconds_left(self, held: Held, now: float) -> int:
        """Whole seconds of visibility SQS still allows this message (12 h since receive)."""
        return int(self._timing.max_hold - (now - held.received_at))

    def _heartbeat(self, now: float) -> None:
        plans: list[tuple[Held, int]] = []
        for held in self._ledger.expiring(now + self._timing.heartbeat_lead):
            seconds = min(self._timing.visibility_timeout, self._seconds_left(held, now))
            if seconds < self._timing.visibility_timeout:
                # The last extension SQS allows: after it, the message reappears even if the
                # handler still runs (a handler hung this long needs a human anyway).
                self._ledger.stop_extending(held)
                log.warning(
                    "visibility limit reached",
                    extra={"message_id": held.message.message_id, "seconds_left": seconds},
                )
            if seconds > 0:
                plans.append((held, seconds))
        for start in range(0, len(plans), BATCH_ENTRIES):
            if not self._extend(plans[start : start + BATCH_ENTRIES], now):
                return

    def _extend(self, plans: Sequence[tuple[Held, int]], now: float) -> bool:
        entries = [
            {"Id": str(index), "ReceiptHandle": held.receipt_handle, "VisibilityTimeout": seconds}
            for index, (held, seconds) in enumerate(plans)
        ]
        try:
            failed = self._call(Kind.CHANGE_VISIBILITY, entries)
        except (BotoCoreError, ClientError) as error:
            # The next heartbeat, a fraction of the visibility timeout later, tries again.
            self._report_unavailable(Kind.CHANGE_VISIBILITY.value, error, 1)
            return False
        extended = []
        for index, (held, seconds) in enumerate(plans):
            failure = failed.get(str(index))
            if failure is None:
                self._ledger.extended(held, now + seconds)
                extended.append(held.message.message_id)
            elif failure.get("SenderFault"):
                self._ledger.stop_extending(held)
                log.error(
                    "visibility extension failed",
                    extra=self._failure_fields(Kind.CHANGE_VISIBILITY, held, failure, None),
                )
        if extended:
            log.info(
                "visibility extended",
                extra={"message_ids": extended, "seconds": self._timing.visibility_timeout},
            )
        return True
