"""The job the job-platform tests run: WORKER_HANDLER=tests.workers.job_handler:run, started as a
job's image starts it (`python -m workers.runtime`, WORKER_KIND=job) by the launcher.

Payload (every key optional):
  seconds: how long the handler works; a list gives one value per attempt (the last repeats).
  fail:    true, or a list of booleans per attempt: raise instead of returning.
  trace:   a file to which the handler appends `start` and `end` lines, each with the job id,
           attempt, FIFO group and time, so that a test can check what ran when, and at once.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workers.runtime.jobs import Job


def for_attempt(value: Any, attempt: int) -> Any:
    if isinstance(value, list):
        return value[min(attempt, len(value)) - 1]
    return value


def trace(path: str | None, event: str, job: Job) -> None:
    if path is None:
        return
    line = json.dumps(
        {"event": event, "job": job.id, "attempt": job.attempt, "group": job.group,
         "time": time.time(), "pid": os.getpid()}
    )  # fmt: skip
    # One write of a short line to a file opened for appending: lines of concurrent jobs never mix.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def run(job: Job) -> None:
    payload = job.payload if isinstance(job.payload, dict) else {}
    path = payload.get("trace")
    trace(path, "start", job)
    time.sleep(float(for_attempt(payload.get("seconds", 0), job.attempt)))
    if for_attempt(payload.get("fail", False), job.attempt):
        trace(path, "fail", job)
        raise RuntimeError(f"failed on request (attempt {job.attempt})")
    trace(path, "end", job)
