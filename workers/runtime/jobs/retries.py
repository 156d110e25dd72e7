"""After an attempt FAILED: another attempt after a backoff, or, at the attempt limit, the DLQ.

One place for that decision, used by the reaper (a task that died or whose handler failed) and
by the dispatcher (a task that could not be started). Each step is safe to repeat: the
dispatcher drops a second retry message for the same attempt, and state changes are conditional.
The message is sent before the state changes, so a crash in between repeats the send rather
than losing the job.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

from workers.runtime.backoff import Backoff
from workers.runtime.jobs.model import JobState

if TYPE_CHECKING:
    from collections.abc import Callable

    from workers.runtime.jobs.limits import Limits
    from workers.runtime.jobs.model import JobRecord
    from workers.runtime.jobs.queues import JobQueues
    from workers.runtime.jobs.table import StatusTable

__all__ = ["AttemptSettler"]

log = logging.getLogger("workers.jobs")

# The longest backoff between two attempts, however many there are.
MAX_RETRY_DELAY_SECONDS = 60 * 60


class AttemptSettler:
    """`retry_delay_seconds`: the first retry waits this long, each next one twice as long."""

    def __init__(
        self,
        table: StatusTable,
        limits: Limits,
        queues: JobQueues,
        retry_delay_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.limits = limits
        self.queues = queues
        self.backoff = Backoff(base=retry_delay_seconds, cap=MAX_RETRY_DELAY_SECONDS)
        self.clock = clock

    def settle(self, record: JobRecord) -> JobState:
        """`record` is a FAILED attempt; returns RETRYING or DEAD_LETTERED."""
        self.limits.release_slot(record.id, record.attempt)
        now = self.clock()
        fields = {"job_id": record.id, "attempt": record.attempt, "reason": record.reason}
        if record.attempt < record.max_attempts:
            delay = self.backoff.delay(record.attempt)
            not_before = now + delay
            self.queues.send_attempt(
                record.message(record.attempt + 1, not_before if delay > 0 else None), delay
            )
            self.table.mark_retrying(record, not_before, now)
            log.warning(
                "job attempt failed; retrying",
                extra={**fields, "next_attempt": record.attempt + 1, "delay_seconds": delay},
            )
            return JobState.RETRYING
        self.give_up(record, f"gave up after {record.attempt} attempt(s): {record.reason}")
        log.error("job failed every attempt; sent to the dead-letter queue", extra=fields)
        return JobState.DEAD_LETTERED

    def give_up(self, record: JobRecord, reason: str) -> None:
        """Put the job in the DLQ (payload, attempts, reason), mark it DEAD_LETTERED, free its
        group. `record` is FAILED at its last attempt, or a job that waited too long to start."""
        now = self.clock()
        letter = {
            "job_id": record.id,
            "payload": json.loads(record.payload),
            "attempts": record.attempt,
            "reason": record.reason if record.state is JobState.FAILED else reason,
        }
        self.queues.dead_letter(
            json.dumps(letter, sort_keys=True),
            reason,
            group=record.group,
            key=f"{record.id}#{record.attempt}",
        )
        self.table.mark_dead_lettered(
            record, now, None if record.state is JobState.FAILED else reason
        )
        if record.group is not None:
            self.limits.release_group(record.group, record.id, now)
