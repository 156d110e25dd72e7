"""The reaper: what happens when a job's task stops, for whatever reason.

An EventBridge rule sends this job family's "ECS Task State Change" events with
`lastStatus: STOPPED` here (a local launcher sends the same event when its process exits).
The task's job and attempt come from the event's container overrides (JOB_ID, JOB_ATTEMPT),
which the dispatcher set. Then, by the job's state:

- RUNNING or STARTING: the task died without finishing (out of memory, killed, could not
  start): the attempt FAILED with the event's reason, then it is settled (retries.py);
- FAILED (the runner said why): settled;
- SUCCEEDED: its slot and FIFO group are released (the runner did so already, unless it died
  right after; releasing twice is harmless);
- anything else, or another attempt: only this attempt's slot is released.

Events come at least once: every step is conditional or idempotent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from workers.runtime.jobs.model import JobState
from workers.runtime.jobs.settings import JOB_ATTEMPT_VARIABLE, JOB_ID_VARIABLE

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from workers.runtime.jobs.limits import Limits
    from workers.runtime.jobs.retries import AttemptSettler
    from workers.runtime.jobs.table import StatusTable

__all__ = ["Reaper", "StoppedTask"]

log = logging.getLogger("workers.jobs")


@dataclass(frozen=True)
class ContainerExit:
    name: str
    exit_code: int | None
    reason: str | None


@dataclass(frozen=True)
class StoppedTask:
    """The facts of one STOPPED event that say what became of a job's attempt."""

    task_arn: str
    job_id: str
    attempt: int
    stop_code: str | None
    stopped_reason: str | None
    containers: tuple[ContainerExit, ...]

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> StoppedTask | None:
        """None for an event that is not a stopped job task (no JOB_ID and JOB_ATTEMPT)."""
        detail = event.get("detail") or {}
        if detail.get("lastStatus") != "STOPPED":
            return None
        variables: dict[str, str] = {}
        for override in (detail.get("overrides") or {}).get("containerOverrides") or []:
            for variable in override.get("environment") or []:
                variables[str(variable.get("name"))] = str(variable.get("value"))
        job_id = variables.get(JOB_ID_VARIABLE)
        attempt = variables.get(JOB_ATTEMPT_VARIABLE, "")
        if not job_id or not attempt.isdigit():
            return None
        return cls(
            task_arn=str(detail.get("taskArn", "")),
            job_id=job_id,
            attempt=int(attempt),
            stop_code=detail.get("stopCode"),
            stopped_reason=detail.get("stoppedReason"),
            containers=tuple(
                ContainerExit(
                    name=str(container.get("name", "?")),
                    exit_code=container.get("exitCode"),
                    reason=container.get("reason"),
                )
                for container in detail.get("containers") or []
            ),
        )

    def reason(self) -> str:
        """Why the task stopped, from what ECS said: stop code, reason, each container's exit."""
        parts = [f"task stopped ({self.stop_code})" if self.stop_code else "task stopped"]
        if self.stopped_reason:
            parts.append(self.stopped_reason)
        for container in self.containers:
            if container.exit_code is None and not container.reason:
                continue
            exit_code = "no exit code" if container.exit_code is None else container.exit_code
            text = f"container {container.name}: exit code {exit_code}"
            parts.append(f"{text}, {container.reason}" if container.reason else text)
        return "; ".join(parts)


class Reaper:
    def __init__(
        self,
        table: StatusTable,
        limits: Limits,
        settler: AttemptSettler,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.limits = limits
        self.settler = settler
        self.clock = clock

    def handle(self, event: Mapping[str, Any]) -> str:
        """Handle one event; returns what was done, in a word (for logs and tests)."""
        task = StoppedTask.from_event(event)
        if task is None:
            log.warning("event is not a stopped job task; ignored", extra={"id": event.get("id")})
            return "ignored"
        fields = {"job_id": task.job_id, "attempt": task.attempt, "task_arn": task.task_arn}
        record = self.table.get(task.job_id)
        if record is None or record.attempt != task.attempt:
            # An attempt that was already replaced (or a job whose status expired).
            self.limits.release_slot(task.job_id, task.attempt)
            log.info("stopped task of an earlier attempt", extra=fields)
            return "stale"
        if record.task_arn is not None and record.task_arn != task.task_arn:
            log.warning(
                "stopped task is not the one the job records; ignored",
                extra={**fields, "recorded_task_arn": record.task_arn},
            )
            return "other task"
        if record.state in (JobState.STARTING, JobState.RUNNING):
            reason = f"the task stopped before the job finished: {task.reason()}"
            if self.table.mark_failed(
                record, reason, self.clock(), (JobState.STARTING, JobState.RUNNING)
            ):
                record = replace(record, state=JobState.FAILED, reason=reason)
                log.warning("job task died", extra={**fields, "reason": reason})
            else:  # the runner ended the attempt meanwhile: go by what it wrote
                record = self.table.get(task.job_id) or record
        if record.state is JobState.FAILED and record.attempt == task.attempt:
            return str(self.settler.settle(record))
        self.limits.release_slot(task.job_id, task.attempt)
        if record.state is JobState.SUCCEEDED and record.group is not None:
            self.limits.release_group(record.group, record.id, self.clock())
        log.info("job task stopped", extra={**fields, "state": str(record.state)})
        return str(record.state)
