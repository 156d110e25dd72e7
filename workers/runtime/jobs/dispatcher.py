"""The dispatcher: one job message in, at most one task started, whatever SQS delivers twice.

Fed by the queue (a Lambda event source mapping in AWS, a poller locally), a batch at a time,
with partial-batch responses: a message is deleted only when it is done with, and one that has
to wait (the parallel limit, its FIFO group, a retry's backoff) is returned to the queue with a
visibility timeout that says how long to wait. Per message:

1. parse it; a bad message (not JSON, no job id) goes to the DLQ with the reason;
2. record the job (conditional put keyed by job id) or read its record: a message for a job
   that is past this point (a duplicate, a redelivery, an old retry) is dropped here;
3. take the job's FIFO group, then a parallel slot (limits.py), or wait;
4. move the job to STARTING (conditional: exactly one dispatcher wins), call the launcher,
   note the task ARN. A task that cannot be started fails the attempt (retries.py).

For a FIFO queue, once a message of a group waits, the group's later messages in the same
batch are returned unprocessed, so the group keeps its order.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

from workers.runtime.backoff import Backoff
from workers.runtime.jobs.launcher import LaunchFailed, LaunchRequest
from workers.runtime.jobs.model import BadJobMessage, JobMessage, JobState
from workers.runtime.jobs.schema import DISPATCH_TIMEOUT_SECONDS, MAX_RECEIVES

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from workers.runtime.jobs.launcher import TaskLauncher
    from workers.runtime.jobs.limits import Limits
    from workers.runtime.jobs.model import JobRecord
    from workers.runtime.jobs.queues import JobQueues
    from workers.runtime.jobs.retries import AttemptSettler
    from workers.runtime.jobs.settings import PlatformSettings
    from workers.runtime.jobs.table import StatusTable

__all__ = ["Dispatcher", "QueuedMessage"]

log = logging.getLogger("workers.jobs")

# A job STARTING without a task ARN this long after its dispatcher took it was left by a
# dispatcher that died (it would have ended after DISPATCH_TIMEOUT_SECONDS): start it again,
# with the same idempotency token, so that a task it did start is found rather than doubled.
STALE_START_SECONDS = 2 * DISPATCH_TIMEOUT_SECONDS
# While another dispatcher is starting the job: look again after this long.
STARTING_WAIT_SECONDS = 10


@dataclass(frozen=True)
class QueuedMessage:
    """One record of an SQS event (Lambda's shape), read once."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    group: str | None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> QueuedMessage:
        attributes = record.get("attributes") or {}
        try:
            receive_count = max(1, int(attributes.get("ApproximateReceiveCount", 1)))
        except (TypeError, ValueError):
            receive_count = 1
        group = attributes.get("MessageGroupId")
        return cls(
            message_id=str(record.get("messageId", "")),
            receipt_handle=str(record.get("receiptHandle", "")),
            body=str(record.get("body", "")),
            receive_count=receive_count,
            group=str(group) if group else None,
        )


class Step(Enum):
    DONE = "done"  # delete the message
    WAIT = "wait"  # return it, visible again after `wait_seconds`
    FAIL = "fail"  # return it as it is: an error; SQS redelivers it after its visibility timeout


@dataclass(frozen=True)
class Decision:
    step: Step
    why: str
    wait_seconds: float = 0.0


class Dispatcher:
    def __init__(
        self,
        *,
        table: StatusTable,
        limits: Limits,
        queues: JobQueues,
        launcher: TaskLauncher,
        settler: AttemptSettler,
        settings: PlatformSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.limits = limits
        self.queues = queues
        self.launcher = launcher
        self.settler = settler
        self.settings = settings
        self.clock = clock
        self.wait_backoff = Backoff(base=settings.wait_base_seconds, cap=settings.wait_cap_seconds)

    def handle_batch(self, event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
        """An SQS event in; the partial-batch response (ReportBatchItemFailures) out."""
        failures = []
        waiting_groups: dict[str, Decision] = {}
        for record in event.get("Records", []):
            message = QueuedMessage.from_record(record)
            earlier = waiting_groups.get(message.group) if message.group is not None else None
            if earlier is not None:
                decision = replace(earlier, why="an earlier message of its group waits")
            else:
                decision = self._decide(message)
            if decision.step is Step.DONE:
                continue
            failures.append({"itemIdentifier": message.message_id})
            if message.group is not None:
                waiting_groups[message.group] = decision
            if decision.step is Step.WAIT:
                self._hide(message, decision)
        return {"batchItemFailures": failures}

    def _decide(self, message: QueuedMessage) -> Decision:
        try:
            return self.dispatch(message)
        except Exception:  # any error: the message stays in the queue and comes back
            log.exception(
                "dispatch failed; the message will be received again",
                extra={"message_id": message.message_id},
            )
            return Decision(Step.FAIL, "error")

    def dispatch(self, message: QueuedMessage) -> Decision:
        try:
            job = JobMessage.parse(message.body)
        except BadJobMessage as error:
            return self._reject(message, str(error))
        record = self.table.get(job.job_id)
        if record is None:
            record = self.table.record(
                job,
                group=message.group,
                message_id=message.message_id,
                max_attempts=self.settings.max_attempts,
                now=self.clock(),
            ) or self.table.get(job.job_id)
            if record is None:  # recorded by another dispatcher and expired since: unheard of
                return Decision(Step.FAIL, "job record vanished")
        return self._advance(message, job, record)

    def _advance(self, message: QueuedMessage, job: JobMessage, record: JobRecord) -> Decision:
        state, attempt = record.state, record.attempt
        if state is JobState.QUEUED and attempt == job.attempt:
            return self._start(message, job, record)
        if state in (JobState.RETRYING, JobState.FAILED) and attempt == job.attempt - 1:
            return self._start(message, job, record)
        if state is JobState.STARTING and attempt == job.attempt and record.task_arn is None:
            return self._resume_start(message, job, record)
        log.info(
            "duplicate job message: nothing started",
            extra={
                "job_id": job.job_id,
                "message_id": message.message_id,
                "message_attempt": job.attempt,
                "state": str(state),
                "attempt": attempt,
            },
        )
        return Decision(Step.DONE, "duplicate")

    def _start(self, message: QueuedMessage, job: JobMessage, record: JobRecord) -> Decision:
        now = self.clock()
        if job.not_before is not None and job.not_before > now:
            return Decision(Step.WAIT, "retry backoff", job.not_before - now)
        if record.group is not None and not self.limits.take_group(record.group, record.id):
            return self._wait(message, job, record, "its message group runs another job")
        if not self.limits.take_slot(record.id, job.attempt, self.settings.max_parallel_jobs):
            return self._wait(
                message,
                job,
                record,
                f"all {self.settings.max_parallel_jobs} parallel slots are taken",
            )
        if not self.table.claim_start(record, job.attempt, now):
            # Another dispatcher holds a copy of this message and got there first.
            current = self.table.get(record.id)
            if (
                current is not None
                and current.state is JobState.STARTING
                and current.task_arn is None
            ):
                return Decision(
                    Step.WAIT, "another dispatcher is starting it", STARTING_WAIT_SECONDS
                )
            return Decision(Step.DONE, "started by another dispatcher")
        starting = replace(
            record,
            state=JobState.STARTING,
            attempt=job.attempt,
            task_arn=None,
            reason=None,
            started_at=None,
            finished_at=None,
            updated_at=now,
        )
        return self._launch(starting)

    def _resume_start(self, message: QueuedMessage, job: JobMessage, record: JobRecord) -> Decision:
        now = self.clock()
        age = now - record.updated_at
        if age < STALE_START_SECONDS:
            return Decision(
                Step.WAIT,
                "another dispatcher is starting it",
                max(STARTING_WAIT_SECONDS, STALE_START_SECONDS - age),
            )
        if not self.table.touch_start(record, now):
            return self._advance(message, job, self.table.get(record.id) or record)
        log.warning(
            "job was left STARTING by a dispatcher that stopped; starting it again",
            extra={"job_id": record.id, "attempt": record.attempt},
        )
        return self._launch(replace(record, updated_at=now))

    def _launch(self, record: JobRecord) -> Decision:
        fields = {"job_id": record.id, "attempt": record.attempt}
        try:
            task_arn = self.launcher.launch(LaunchRequest(record.id, record.attempt))
        except LaunchFailed as error:
            reason = f"task not started: {error}"
            log.error("job task not started", extra={**fields, "reason": reason})
            if self.table.mark_failed(record, reason, self.clock(), (JobState.STARTING,)):
                self.settler.settle(replace(record, state=JobState.FAILED, reason=reason))
            return Decision(Step.DONE, "task not started")
        self.table.record_task(record.id, record.attempt, task_arn, self.clock())
        log.info("job task started", extra={**fields, "task_arn": task_arn})
        return Decision(Step.DONE, "started")

    def _wait(
        self, message: QueuedMessage, job: JobMessage, record: JobRecord, why: str
    ) -> Decision:
        if message.receive_count >= MAX_RECEIVES - 1:
            # SQS would move the message to the DLQ on its next receive and leave the job
            # QUEUED (and a FIFO group held) for ever: give it up here, where the table says so.
            reason = f"waited {message.receive_count} times to start ({why})"
            self.settler.give_up(record, reason)
            log.error(
                "job waited too long; sent to the dead-letter queue",
                extra={"job_id": job.job_id, "reason": reason},
            )
            return Decision(Step.DONE, "waited too long")
        seconds = self.wait_backoff.jittered(message.receive_count)
        log.info(
            "job waits in the queue",
            extra={"job_id": job.job_id, "why": why, "wait_seconds": math.ceil(seconds)},
        )
        return Decision(Step.WAIT, why, seconds)

    def _hide(self, message: QueuedMessage, decision: Decision) -> None:
        try:
            self.queues.hide(message.receipt_handle, decision.wait_seconds)
        except Exception:  # it then comes back after the queue's own visibility timeout
            log.warning(
                "could not set the waiting message's visibility",
                exc_info=True,
                extra={"message_id": message.message_id},
            )

    def _reject(self, message: QueuedMessage, reason: str) -> Decision:
        self.queues.dead_letter(
            message.body, f"bad job message: {reason}", group=message.group, key=message.message_id
        )
        log.error(
            "bad job message sent to the dead-letter queue",
            extra={
                "message_id": message.message_id,
                "reason": reason,
                "body": message.body[:200],
            },
        )
        return Decision(Step.DONE, "bad message")
