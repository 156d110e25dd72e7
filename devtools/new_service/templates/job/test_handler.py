"""This service's handler, called as the platform's job runner calls it: with one Job."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from workers.runtime.jobs import Job

from . import handler

if TYPE_CHECKING:
    import pytest


def test_a_job_is_done(caplog: pytest.LogCaptureFixture) -> None:
    job = Job(id="j-1", attempt=1, max_attempts=3, payload={"size": 3}, group=None)

    with caplog.at_level(logging.INFO, logger=handler.__name__):
        handler.run(job)

    [record] = caplog.records
    assert (record.getMessage(), record.job_id, record.attempt) == ("job done", "j-1", 1)
