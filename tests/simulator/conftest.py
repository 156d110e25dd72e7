"""Fixtures for the simulator tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.simulator.support import consumer

if TYPE_CHECKING:
    from modules.config import ConsumerSpec


@pytest.fixture
def backlog_spec() -> ConsumerSpec:
    """The repository's consumer policy: backlog per task, target 50, 0-10 tasks, idle 15 min."""
    return consumer(
        {
            "mode": "backlog-per-task",
            "min_tasks": 0,
            "max_tasks": 10,
            "acceptable_latency_seconds": 300,
            "processing_time_seconds": 60,
            "idle_minutes": 15,
        }
    )
