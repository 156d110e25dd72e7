"""`python -m workers.runtime.kinds.job`: run the one job JOB_ID and JOB_ATTEMPT name with the
handler WORKER_HANDLER names (`run(job)`), then exit.

The platform's job runner (workers/runtime/jobs/runner.py) reads the job from the status table,
marks it RUNNING, calls the handler, and marks it SUCCEEDED or FAILED; see
docs/long-running-jobs.md for the environment it needs and the exit codes.
"""

from __future__ import annotations

from workers.runtime import env, logs
from workers.runtime.handlers import handler_from_env
from workers.runtime.jobs import run_job


def main() -> None:
    logs.configure()
    try:
        handler = handler_from_env()
    except env.EnvError as error:
        env.exit_with_usage_error(error)
    run_job(handler)


if __name__ == "__main__":
    main()
