"""The repository's stacks, and its NAT variant, synthesized once for the cost tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from costs.estimate import read_stacks
from modules.config import PlatformConfig, load_config
from tests.conftest import REPO_ROOT
from tests.infra.synth_output import synth_into

if TYPE_CHECKING:
    from pathlib import Path

Stacks = dict[str, dict[str, Any]]


def with_egress(config: PlatformConfig, egress: str) -> PlatformConfig:
    network = config.project.network.model_copy(update={"egress": egress})
    project = config.project.model_copy(update={"network": network})
    return config.model_copy(update={"project": project})


@pytest.fixture(scope="session")
def config() -> PlatformConfig:
    return load_config(REPO_ROOT)


@pytest.fixture(scope="session")
def outdir(config: PlatformConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_into(config, tmp_path_factory.mktemp("cost-synth"))


@pytest.fixture(scope="session")
def stacks(outdir: Path) -> Stacks:
    return read_stacks(outdir)


@pytest.fixture(scope="session")
def nat_stacks(config: PlatformConfig, tmp_path_factory: pytest.TempPathFactory) -> Stacks:
    return read_stacks(synth_into(with_egress(config, "nat"), tmp_path_factory.mktemp("nat")))
