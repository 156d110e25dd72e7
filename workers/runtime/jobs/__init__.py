"""Long-running jobs: one Fargate task per message, with status, retries and no duplicates.

A job worker's code is one function, `run(job: Job) -> None`, and its `__main__` is
`run_job(run)`. Everything else is the platform's, in one module per concern:

    model         the job message, the status record and its states
    schema        the status table's layout (shared with the stack that creates it)
    table         conditional writes of job items: every state change, once
    limits        the parallel limit and FIFO group locks (control items of the table)
    queues        retries and dead letters on the family's queues
    launcher      TaskLauncher: RunTask in AWS (a local process in devtools/local_jobs.py)
    retries       after a failed attempt: retry with backoff, or the DLQ
    dispatcher    job messages -> tasks (Lambda, SQS event source, partial batch responses)
    reaper        stopped tasks -> failed attempts settled (Lambda, EventBridge)
    runner        in the task, around the handler: RUNNING, SUCCEEDED/FAILED, timeout, SIGTERM
    settings      environment variables of the three, written by the stack
    wiring        the dispatcher and reaper assembled from settings and clients
    lambda_handlers  the two Lambda entry points
    status        `python -m workers.runtime.jobs list|show` for people

See docs/long-running-jobs.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workers.runtime.jobs.runner import Job, run_job

__all__ = ["Job", "run_job"]


def __getattr__(name: str) -> Any:
    # The stacks import `schema` and `settings` from here at every synth: the runner (and boto3
    # with it, ~55 ms) loads only when a worker asks for it.
    if name in __all__:
        from workers.runtime.jobs import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
