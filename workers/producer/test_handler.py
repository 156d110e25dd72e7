"""The example producer's handler, called as the platform calls it: with nothing."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import handler

if TYPE_CHECKING:
    import pytest


def test_each_call_is_the_current_unix_time_batch_size_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(handler, "BATCH_SIZE", 3)
    before = int(time.time())

    bodies = handler.produce()

    assert len(bodies) == 3
    assert len(set(bodies)) == 1
    assert before <= int(bodies[0]) <= time.time()
