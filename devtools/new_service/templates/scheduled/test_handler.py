"""This service's handler, called as the platform calls it: once per run, with nothing."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from . import handler

if TYPE_CHECKING:
    import pytest


def test_a_run_does_its_work_and_returns(caplog: pytest.LogCaptureFixture) -> None:
    before = int(time.time())

    with caplog.at_level(logging.INFO, logger=handler.__name__):
        handler.run()

    [record] = caplog.records
    assert record.getMessage() == "scheduled work done"
    assert before <= record.at <= time.time()
