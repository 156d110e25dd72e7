"""This service's handler: the platform calls `run()` once per scheduled run (EventBridge
Scheduler starts the task on the service.yaml `schedule`), then the task exits.

Return: the run succeeded (exit 0). Raise: it failed (exit 1, logged with its traceback) and the
cluster's failure alert fires; a failed run is not retried, the next one comes on schedule. With
`watches: <consumer>` in service.yaml, QUEUE_URL is that consumer's queue: docs/scheduled-jobs.md.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)


def run() -> None:
    log.info("scheduled work done", extra={"at": int(time.time())})
