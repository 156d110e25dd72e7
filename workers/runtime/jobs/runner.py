"""The job runner: what runs in a job's task around the developer's `run(job)`.

    STARTING --mark RUNNING--> handler(job) --returns--> SUCCEEDED, exit 0
                                            --raises---> FAILED (the exception), exit 1
                               timeout ----------------> FAILED (timed out), exit 124
                               SIGTERM ----------------> FAILED (interrupted), exit 143

Marking RUNNING is conditional on the job being STARTING at this task's attempt: a task that
finds its job elsewhere (a copy started by mistake, an attempt already given up) runs nothing.
A failed attempt is retried by the reaper once the task has stopped; SIGTERM (the task is being
stopped: a deployment, a scale-in, a person) marks the attempt failed at once, so it is retried,
instead of waiting for SIGKILL. The runner frees its parallel slot (and, on success, its FIFO
group) as soon as the handler is done; the reaper does the same when the task stops, in case the
runner could not.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, NoReturn

from workers.runtime import env, logs
from workers.runtime.aws import aws_client
from workers.runtime.jobs.limits import Limits
from workers.runtime.jobs.model import JobState
from workers.runtime.jobs.settings import JOB_TASK_ARN_VARIABLE, RunnerSettings
from workers.runtime.jobs.table import StatusTable
from workers.runtime.signals import call_on_stop_signal

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from workers.runtime.jobs.model import JobRecord

__all__ = ["Exit", "Job", "JobRunner", "run_job"]

log = logging.getLogger("workers.jobs")

METADATA_TIMEOUT_SECONDS = 2
# Ending a job must survive a DynamoDB hiccup: more attempts than the default 3.
TABLE_MAX_ATTEMPTS = 8


class Exit(IntEnum):
    SUCCEEDED = 0
    NOT_THIS_TASKS_JOB = 0  # nothing ran, nothing failed
    FAILED = 1
    USAGE = 2
    TIMED_OUT = 124  # as timeout(1)
    INTERRUPTED = 143  # 128 + SIGTERM


@dataclass(frozen=True)
class Job:
    """What the handler receives.

    id: the producer's job id. attempt: 1 on the first run, then 2, 3... up to max_attempts.
    payload: the message's "payload", parsed from JSON. group: the FIFO message group, if any.
    Attempts may repeat work an earlier one did: a handler must be safe to run again.
    """

    id: str
    attempt: int
    max_attempts: int
    payload: Any
    group: str | None

    @property
    def last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts


class JobRunner:
    """Runs one attempt of one job. `stop_process` ends the process (os._exit, not in tests)."""

    def __init__(
        self,
        table: StatusTable,
        limits: Limits,
        settings: RunnerSettings,
        *,
        task_arn: str | None,
        clock: Callable[[], float] = time.time,
        stop_process: Callable[[int], object] = os._exit,
    ) -> None:
        self.table = table
        self.limits = limits
        self.settings = settings
        self.task_arn = task_arn
        self.clock = clock
        self.stop_process = stop_process
        self._record: JobRecord | None = None
        self._ended = False
        self._lock = threading.Lock()

    def run(self, handler: Callable[[Job], None]) -> Exit:
        settings = self.settings
        fields = {"job_id": settings.job_id, "attempt": settings.attempt, "task_arn": self.task_arn}
        with self._lock:  # a SIGTERM before this point means: do not start
            if self._ended:
                return Exit.INTERRUPTED
            record = self.table.mark_running(
                settings.job_id, settings.attempt, self.task_arn, self.clock()
            )
            self._record = record
        if record is None:
            current = self.table.get(settings.job_id)
            log.warning(
                "job not run: it is not waiting for this task",
                extra={
                    **fields,
                    "state": None if current is None else str(current.state),
                    "recorded_attempt": None if current is None else current.attempt,
                },
            )
            return Exit.NOT_THIS_TASKS_JOB
        job = Job(
            id=record.id,
            attempt=record.attempt,
            max_attempts=record.max_attempts,
            payload=json.loads(record.payload),
            group=record.group,
        )
        timer = threading.Timer(
            settings.timeout_seconds,
            self.abort,
            args=(f"timed out after {settings.timeout_seconds} s", Exit.TIMED_OUT),
        )
        timer.daemon = True
        timer.start()
        log.info("job started", extra=fields)
        try:
            handler(job)
        except Exception as error:
            log.exception("job failed", extra=fields)
            self._end(JobState.FAILED, f"{type(error).__name__}: {error}")
            return Exit.FAILED
        finally:
            timer.cancel()
        self._end(JobState.SUCCEEDED, None)
        log.info("job succeeded", extra=fields)
        return Exit.SUCCEEDED

    def abort(self, reason: str, code: Exit) -> None:
        """From another thread (timer, SIGTERM): fail the attempt and end the process now."""
        if not self._end(JobState.FAILED, reason):
            return  # the handler finished first; the main thread exits as usual
        log.error("job stopped", extra={"job_id": self.settings.job_id, "reason": reason})
        sys.stdout.flush()
        self.stop_process(code)

    def _end(self, state: JobState, reason: str | None) -> bool:
        """End the attempt once (whoever comes first: handler, timer, SIGTERM)."""
        with self._lock:
            if self._ended:
                return False
            self._ended = True
            record = self._record
            if record is None:  # not started: the reaper fails the attempt when the task stops
                return True
            try:
                now = self.clock()
                if state is JobState.SUCCEEDED:
                    marked = self.table.mark_succeeded(record, now)
                else:
                    marked = self.table.mark_failed(record, reason or "failed", now)
                if not marked:
                    log.warning(
                        "job was no longer RUNNING at this attempt; left as it is",
                        extra={"job_id": record.id, "attempt": record.attempt},
                    )
                self.limits.release_slot(record.id, record.attempt)
                if state is JobState.SUCCEEDED and record.group is not None:
                    self.limits.release_group(record.group, record.id, now)
            except Exception:  # the reaper marks the attempt from the task's stop instead
                log.exception("could not record the job's end", extra={"job_id": record.id})
            return True


def own_task_arn(environ: Mapping[str, str]) -> str | None:
    """This task's ARN: the local launcher's variable, else the ECS task metadata endpoint."""
    local = environ.get(JOB_TASK_ARN_VARIABLE)
    if local:
        return local
    uri = environ.get("ECS_CONTAINER_METADATA_URI_V4")
    if not uri:
        return None
    try:
        with urllib.request.urlopen(f"{uri}/task", timeout=METADATA_TIMEOUT_SECONDS) as response:
            arn = json.load(response).get("TaskARN")
    except (OSError, ValueError):
        return None
    return str(arn) if arn else None


def run_job(handler: Callable[[Job], None]) -> NoReturn:
    """The `__main__` of a job worker: run `handler` for the job the environment names."""
    logs.configure()
    try:
        settings = RunnerSettings.from_env()
    except env.EnvError as error:
        env.exit_with_usage_error(error)
    client = aws_client("dynamodb", max_attempts=TABLE_MAX_ATTEMPTS)
    runner = JobRunner(
        StatusTable(client, settings.table, settings.status_retention_days),
        Limits(client, settings.table),
        settings,
        task_arn=own_task_arn(os.environ),
    )
    call_on_stop_signal(
        lambda: runner.abort("interrupted: the task was stopped (SIGTERM)", Exit.INTERRUPTED)
    )
    raise SystemExit(int(runner.run(handler)))
