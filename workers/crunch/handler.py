"""The example job: works for a while, then succeeds, or fails when asked to.

Payload (every key optional):
  seconds: how long to work. Default: JOB_SECONDS from the environment (service.yaml), else 30.
  fail:    a reason: raise with it instead of succeeding (to see a retry and the DLQ).

Work is done in short steps, each logged, so that the log shows progress and a stop (SIGTERM)
is handled by the platform at once.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workers.runtime.jobs import Job

log = logging.getLogger(__name__)

DEFAULT_SECONDS = 30.0
STEP_SECONDS = 5.0


class JobFailed(Exception):
    """The failure a payload asked for."""


def run(job: Job) -> None:
    payload = job.payload if isinstance(job.payload, dict) else {}
    seconds = float(payload.get("seconds", os.environ.get("JOB_SECONDS", DEFAULT_SECONDS)))
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        log.info("working", extra={"job_id": job.id, "seconds_left": round(left, 1)})
        time.sleep(min(STEP_SECONDS, left))
    reason = payload.get("fail")
    if reason:
        raise JobFailed(str(reason))
    log.info("done", extra={"job_id": job.id, "attempt": job.attempt, "seconds": seconds})
