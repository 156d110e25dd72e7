"""This service's handler: the platform calls `run(job)` in a Fargate task of its own for each
job message ({"job_id": "<unique id>", "payload": {...}}) on the family's queue.

Return: the job succeeded. Raise: the attempt failed and is retried with backoff, up to
max_attempts, then the job goes to the dead-letter queue. An attempt may repeat work an earlier
one did, so make it safe to run again. Status, retries, the parallel limit, timeouts and
shutdown are the platform's: docs/long-running-jobs.md.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workers.runtime.jobs import Job

log = logging.getLogger(__name__)


def run(job: Job) -> None:
    log.info("job done", extra={"job_id": job.id, "attempt": job.attempt})
