"""The example job's handler, called as the platform's job runner calls it: with one Job."""

from __future__ import annotations

import pytest

from workers.runtime.jobs import Job

from . import handler


def job(payload: object) -> Job:
    return Job(id="j-1", attempt=1, max_attempts=3, payload=payload, group=None)


def test_a_job_that_works_no_time_succeeds() -> None:
    handler.run(job({"seconds": 0}))


def test_a_job_asked_to_fail_raises_with_its_reason_so_it_is_retried() -> None:
    with pytest.raises(handler.JobFailed, match="asked to"):
        handler.run(job({"seconds": 0, "fail": "asked to"}))
