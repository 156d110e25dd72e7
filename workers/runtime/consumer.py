"""The consumer engine: everything around a developer's handler.

    receiver thread ── ReceiveMessage (long poll, ≤ 10, at most the free places:
        │                concurrency + prefetch - held)
        │  one thread per message; it waits for a handler slot (the prefetched ones wait)
        ▼
    handler(Message) ── success ─▶ outbox: DeleteMessageBatch
                     ── raises / overruns ─▶ outbox: visibility = retry backoff
    outbox thread: batches, checks `Failed`, retries; heartbeat extends held messages
    protection keeper: ECS scale-in protection while receiving or holding

Prefetch (WORKER_PREFETCH, default 0) trades a little fairness between tasks for
throughput: with 0, a task never holds more messages than it has free handler slots, so a
slot sits idle for one receive round trip after each message; with P > 0 it holds up to P
more, which wait for a slot while the heartbeat keeps them invisible, so short handlers run
back to back. A prefetched message counts as held for task protection and is released at
a stop like any message not started.

Delivery is at least once and nothing is deleted before its handler succeeded. A stop
(SIGTERM) ends receiving at once; running handlers get until the drain deadline; messages
not started — including those a receive in flight brings back — are released with
visibility 0; the outbox is flushed. A SIGKILL at any moment loses nothing: what the
process held reappears when its visibility timeout ends.

The engine takes its SQS client and settings from the caller, so tests can run it in
process against a client whose botocore events they hook; `python -m workers.consumer`
wires the environment to it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import traceback
from enum import Enum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from workers.runtime.fatal import FatalWatch
from workers.runtime.idempotency import Claim, IdempotencyRecord
from workers.runtime.ledger import Held, Ledger, Slots
from workers.runtime.message import Message
from workers.runtime.outbox import BATCH_ENTRIES, Outbox, OutboxTiming
from workers.runtime.protection import ProtectionKeeper

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sqs import SQSClient

    from workers.runtime.consumer_settings import ConsumerSettings
    from workers.runtime.handlers import Handler
    from workers.runtime.protection import TaskProtection

__all__ = ["Consumer", "Outcome"]

log = logging.getLogger("workers.consumer")

# How long a receive may wait for more slots to come free, to fetch a fuller batch.
RECEIVE_GATHER_SECONDS = 0.02
# How often the main thread looks for handlers past their timeout.
WATCH_INTERVAL_SECONDS = 0.25


class Outcome(Enum):
    SUCCESS = "success"  # handler returned: deleted
    ERROR = "error"  # handler raised: retried after a backoff
    TIMEOUT = "timeout"  # handler overran its timeout: retried after a backoff
    DUPLICATE = "duplicate"  # key already handled by this process: deleted, handler not called
    RELEASED = "released"  # not started because the worker is stopping: visible again at once


_EVENTS = {
    Outcome.SUCCESS: ("handled", logging.INFO),
    Outcome.ERROR: ("failed", logging.WARNING),
    Outcome.TIMEOUT: ("failed", logging.WARNING),
    Outcome.DUPLICATE: ("duplicate", logging.INFO),
    Outcome.RELEASED: ("released", logging.INFO),
}


class Consumer:
    """Consume `settings.queue_url` with `handler` until `stop()`, then drain and return."""

    def __init__(
        self,
        client: SQSClient,
        settings: ConsumerSettings,
        handler: Handler,
        *,
        protection: TaskProtection | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._client = client
        self._handler = handler
        self._clock = clock
        self._stopping = threading.Event()
        self._stop_at: float | None = None
        self._slots = Slots(settings.concurrency, settings.prefetch)
        self._record = IdempotencyRecord(settings.dedup_capacity)
        self._keeper = ProtectionKeeper(
            protection,
            expires_minutes=settings.protection_minutes,
            renew_after=settings.renew_after,
            retry=settings.sqs_backoff,
            clock=clock,
        )
        self._ledger = Ledger(on_holding=lambda holding: self._keeper.want("holding", holding))
        timing = OutboxTiming(
            visibility_timeout=settings.visibility_timeout,
            backoff=settings.sqs_backoff,
            linger=settings.delete_linger,
            max_hold=settings.max_hold,
        )
        self._outbox = Outbox(client, settings.queue_url, self._ledger, timing, clock)
        self._receiver = threading.Thread(target=self._receive_loop, name="receiver", daemon=True)
        self._fatal = FatalWatch(settings.fatal_grace, clock)
        # True when the engine stopped itself: its own error, or one retrying cannot fix.
        self.failed = False

    # -- lifecycle ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop receiving now and drain (thread-safe; `run` returns when the drain is done)."""
        if self._stop_at is None:
            self._stop_at = self._clock()
        self._stopping.set()
        self._slots.wake()
        self._record.wake()

    def run(self) -> None:
        settings = self.settings
        log.info(
            "consumer started",
            extra={
                "service": settings.service_name,
                "queue_url": settings.queue_url,
                "concurrency": settings.concurrency,
                "prefetch": settings.prefetch,
                "handler_timeout_seconds": settings.handler_timeout,
                "visibility_timeout_seconds": settings.visibility_timeout,
                "stop_timeout_seconds": settings.stop_timeout,
                "receive_wait_seconds": settings.receive_wait,
            },
        )
        self._keeper.start()
        self._outbox.start()
        self._receiver.start()
        while not self._stopping.wait(WATCH_INTERVAL_SECONDS):
            self._report_overruns()
            # A receiver that gave up on a fatal error has stopped the engine itself.
            dead = not (self._receiver.is_alive() and self._outbox.alive)
            if dead and not self._stopping.is_set():
                # A bug in the engine killed a thread: drain and exit non-zero, so that ECS
                # starts a fresh task instead of leaving one that holds a slot in the service.
                log.error("engine thread died")
                self.failed = True
                self.stop()
        self._drain()

    def _drain(self) -> None:
        stop_at = self._stop_at if self._stop_at is not None else self._clock()
        drain_deadline = stop_at + self.settings.stop_timeout - self.settings.stop_margin
        flush_deadline = stop_at + self.settings.stop_timeout - self.settings.stop_margin / 2
        log.info(
            "stopping",
            extra={
                "running": len(self._ledger.running()),
                "drain_seconds": round(drain_deadline - self._clock(), 3),
            },
        )
        # A receive in flight may still bring messages back: wait for it, so they are released.
        self._receiver.join(max(0.0, drain_deadline - self._clock()))
        self._wait_for_handlers(drain_deadline)
        abandoned = self._ledger.running()
        for held in abandoned:
            # The process ends before this handler does: let another task have the message now.
            log.warning("handler abandoned", extra=self._fields(held))
            self._outbox.change_visibility(held, 0)
        unsent = self._outbox.close(flush_deadline)
        self._keeper.close()
        log.info(
            "consumer stopped",
            extra={"abandoned": len(abandoned), "unsettled": unsent, "held": len(self._ledger)},
        )

    def _wait_for_handlers(self, deadline: float) -> None:
        while (left := deadline - self._clock()) > 0:
            if self._slots.wait_all_free(min(WATCH_INTERVAL_SECONDS, left)):
                return
            self._report_overruns()

    def _report_overruns(self) -> None:
        for held in self._ledger.newly_overrunning(self._clock(), self.settings.handler_timeout):
            # The handler counts as failed, but its thread cannot be killed: the message stays
            # held (and extended) until the thread ends, then gets the failure backoff.
            log.warning(
                "handler timeout",
                extra={**self._fields(held), "timeout_seconds": self.settings.handler_timeout},
            )

    # -- receiving ---------------------------------------------------------------------------

    def _receive_loop(self) -> None:
        try:
            self._receive_until_stopped()
        except Exception:
            log.exception("internal error")

    def _receive_until_stopped(self) -> None:
        failures = 0
        expecting_work = True  # protect the task before the first receive
        while not self._stopping.is_set():
            count = self._slots.reserve(
                min(BATCH_ENTRIES, self._slots.capacity),
                self._stopping.is_set,
                RECEIVE_GATHER_SECONDS,
            )
            if count == 0:
                return
            if expecting_work:
                self._keeper.want("receiving", True)
                self._keeper.wait_protected()
            if self._stopping.is_set():  # stopped while waiting for the agent
                self._slots.give(count)
                return
            started = self._clock()
            try:
                raw = self._receive(count)
            except (BotoCoreError, ClientError) as error:
                self._slots.give(count)
                reason = self._fatal.failed(error)
                if reason is not None:
                    self._give_up(reason)
                    return
                failures += 1
                self._stopping.wait(self._report_receive_error(error, failures))
                continue
            self._fatal.succeeded()
            if failures:
                log.info("sqs recovered", extra={"operation": "ReceiveMessage"})
                failures = 0
            self._slots.give(count - len(raw))
            for item in raw:
                self._accept(item, started)
            # An idle long poll needs no protection: a stop during it releases what it brings.
            expecting_work = bool(raw)
            if not expecting_work:
                self._keeper.want("receiving", False)

    def _receive(self, count: int) -> list[dict[str, Any]]:
        response = self._client.receive_message(
            QueueUrl=self.settings.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=self.settings.receive_wait,
            VisibilityTimeout=self.settings.visibility_timeout,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _report_receive_error(self, error: Exception, attempt: int) -> float:
        delay = self.settings.sqs_backoff.jittered(attempt)
        fields: dict[str, Any] = {
            "operation": "ReceiveMessage",
            "error": repr(error)[:500],
            "attempt": attempt,
            "retry_in_seconds": round(delay, 3),
        }
        left = self._fatal.seconds_left()
        if left is not None:  # an error waiting may not fix: say when the worker gives up
            fields["gives_up_in_seconds"] = round(left, 3)
            delay = min(delay, left)
        log.warning("sqs unavailable", extra=fields)
        return delay

    def _give_up(self, reason: str) -> None:
        """Stop, and exit non-zero: an error that retrying cannot fix lasted its grace period."""
        log.error(
            f"cannot consume: {reason}",
            extra={"queue_url": self.settings.queue_url, "fatal": True},
        )
        self.failed = True
        self.stop()

    def _accept(self, item: dict[str, Any], received_at: float) -> None:
        held = Held(
            message=Message.from_sqs(item),
            receipt_handle=str(item.get("ReceiptHandle", "")),
            received_at=received_at,
            visible_until=received_at + self.settings.visibility_timeout,
        )
        self._ledger.add(held)
        if self._stopping.is_set():
            self._settle(held, Outcome.RELEASED)
            self._slots.give(1)
            return
        name = f"handler-{held.message.message_id[:8]}"
        threading.Thread(target=self._work, args=(held,), name=name, daemon=True).start()

    # -- handling ----------------------------------------------------------------------------

    def _work(self, held: Held) -> None:
        try:
            if not self._slots.start(self._stopping.is_set):
                # Prefetched and never started: another task may have it at once.
                self._settle(held, Outcome.RELEASED)
                return
            try:
                self._handle(held)
            finally:
                self._slots.end()
        except Exception:
            # A bug in the engine itself: the message reappears after its visibility timeout.
            log.exception("internal error", extra=self._fields(held))
        finally:
            self._slots.give(1)

    def _handle(self, held: Held) -> None:
        key = held.message.idempotency_key
        claim = Claim.STOPPED if self._stopping.is_set() else Claim.NEW
        if claim is Claim.NEW:
            claim = self._record.claim(key, self._stopping.is_set)
        if claim is not Claim.NEW:
            self._settle(held, Outcome.DUPLICATE if claim is Claim.DONE else Outcome.RELEASED)
            return
        started = self._clock()
        self._ledger.start(held, started)
        error = self._call_handler(held.message)
        duration = self._clock() - started
        if held.overran or duration > self.settings.handler_timeout:
            outcome = Outcome.TIMEOUT
        else:
            outcome = Outcome.SUCCESS if error is None else Outcome.ERROR
        self._record.finish(key, handled=outcome is Outcome.SUCCESS)
        self._settle(held, outcome, duration, error)

    def _call_handler(self, message: Message) -> BaseException | None:
        try:
            self._handler(message)
        except BaseException as error:  # SystemExit too: a handler must never end the worker
            return error
        return None

    def _settle(
        self,
        held: Held,
        outcome: Outcome,
        duration: float | None = None,
        error: BaseException | None = None,
    ) -> None:
        fields = {**self._fields(held), "outcome": outcome.value}
        if duration is not None:
            fields["duration_seconds"] = round(duration, 3)
        if error is not None:
            fields["error"] = repr(error)[:500]
            # The whole story, for the developer; the log formatter bounds the line.
            fields["traceback"] = "".join(traceback.format_exception(error))
        if outcome in (Outcome.SUCCESS, Outcome.DUPLICATE):
            self._outbox.delete(held)
        elif outcome is Outcome.RELEASED:
            self._outbox.change_visibility(held, 0)
        else:
            fields["retry_in_seconds"] = self._retry_delay(held.message.receive_count)
            self._outbox.change_visibility(held, fields["retry_in_seconds"])
        event, level = _EVENTS[outcome]
        log.log(level, event, extra=fields)

    def _retry_delay(self, receive_count: int) -> int:
        # Whole seconds, at least 1: SQS counts visibility in seconds, and 0 would retry at once.
        return max(1, math.ceil(self.settings.retry_backoff.delay(receive_count)))

    @staticmethod
    def _fields(held: Held) -> dict[str, Any]:
        message = held.message
        return {
            "message_id": message.message_id,
            "idempotency_key": message.idempotency_key,
            "receive_count": message.receive_count,
        }
