"""`python -m workers.crunch`: run the one job that JOB_ID and JOB_ATTEMPT name, then exit.

The platform's job runner (workers/runtime/jobs/runner.py) reads the job from the status table,
marks it RUNNING, calls `handler.run`, and marks it SUCCEEDED or FAILED; see
docs/long-running-jobs.md for the environment it needs and the exit codes.
"""

from workers.crunch.handler import run
from workers.runtime.jobs import run_job

if __name__ == "__main__":
    run_job(run)
