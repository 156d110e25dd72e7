"""Fixtures for the simulator tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from costs.estimate import synthesize
from tests.conftest import REPO_ROOT
from tests.simulator.support import consumer

if TYPE_CHECKING:
    from pathlib import Path

    from modules.config import ConsumerSpec


@pytest.fixture(scope="session")
def repo_stacks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's stacks, synthesized once: the CLI tests take their fixed costs from them
    (`--stacks`) instead of synthesizing each throwaway repository."""
    return synthesize(REPO_ROOT, tmp_path_factory.mktemp("sim-synth") / "cdktf.out")


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
