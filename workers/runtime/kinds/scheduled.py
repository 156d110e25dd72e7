"""`python -m workers.runtime.kinds.scheduled`: one run of the service's handler (`run()`), then
exit; EventBridge Scheduler starts the task (docs/scheduled-jobs.md).

Exit codes: 0 the handler returned; 1 it raised (logged as `run failed`, with its traceback
unless the error is one retrying cannot fix, which is said in one line): the task stops as
failed and the cluster's failure alert fires; 2 a variable is missing or malformed (one line on
stderr), the runtime's or one the handler reads with workers.runtime.env.

Environment: workers.runtime.kinds.TaskSettings (the handler; the service's name is logged),
workers.runtime.scheduled_settings.ScheduledSettings (the queue the job `watches`, for the
handler), and whatever else the handler reads.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import TYPE_CHECKING

from workers.runtime import env, logs
from workers.runtime.fatal import fatal_reason
from workers.runtime.handlers import handler_from_env
from workers.runtime.kinds import TaskSettings

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("workers.scheduled")

FAILED_EXIT_CODE = 1


def run_once(handler: Callable[[], object]) -> int:
    """Call the handler once; the exit code its outcome means (logged either way)."""
    started = time.monotonic()
    try:
        handler()
    except env.EnvError as error:
        env.exit_with_usage_error(error)
    except Exception as error:
        reason = fatal_reason(error)
        fields = {"error": reason or repr(error)[:500]}
        if reason is None:
            fields["traceback"] = "".join(traceback.format_exception(error))
        log.error("run failed", extra=fields)
        return FAILED_EXIT_CODE
    log.info("run finished", extra={"duration_seconds": round(time.monotonic() - started, 3)})
    return 0


def main() -> None:
    logs.configure()
    try:
        handler = handler_from_env()
        task = TaskSettings.from_env()
    except env.EnvError as error:
        env.exit_with_usage_error(error)
    log.info("run started", extra={"service": task.service_name})
    raise SystemExit(run_once(handler))


if __name__ == "__main__":
    main()
