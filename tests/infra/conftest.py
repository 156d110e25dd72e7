"""Synthesized stacks for the infrastructure tests.

Synthesis runs in-process: the jsii kernel and the provider binding load once per test
session, and every further synth (a changed config, a second run) costs little. What the tests
read the stacks with is in stack_json.py.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from modules.config import PlatformConfig, load_config
from tests.conftest import REPO_ROOT
from tests.infra.stack_json import synth_stacks

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.infra.stack_json import Stack


@pytest.fixture(scope="session")
def default_config() -> PlatformConfig:
    return load_config(REPO_ROOT)


@pytest.fixture(scope="session")
def stacks(
    default_config: PlatformConfig, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Stack]:
    """Every stack of the repository's own configuration, synthesized once per session."""
    return synth_stacks(default_config, tmp_path_factory.mktemp("synth") / "cdktf.out")


@pytest.fixture
def repo_copy(tmp_path: Path) -> Callable[[], Path]:
    """A copy of the configuration (platform.yaml and workers/) to modify in a test."""

    def make() -> Path:
        root = tmp_path / "repo"
        shutil.copytree(
            REPO_ROOT / "workers",
            root / "workers",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        shutil.copy2(REPO_ROOT / "platform.yaml", root / "platform.yaml")
        return root

    return make


@pytest.fixture
def consumer_with_scaling(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> Callable[[dict[str, Any]], Stack]:
    """The consumer stack of a configuration copy whose consumer has the `scaling:` block given,
    synthesized into the test's `tmp_path / "cdktf.out"` (once per test: the copy is its own)."""

    def synth(scaling: dict[str, Any]) -> Stack:
        root = repo_copy()
        spec_path = root / "workers" / "consumer" / "service.yaml"
        spec = yaml.safe_load(spec_path.read_text())
        spec["scaling"] = scaling
        spec_path.write_text(yaml.safe_dump(spec))
        return synth_stacks(load_config(root), tmp_path / "cdktf.out")["consumer"]

    return synth
