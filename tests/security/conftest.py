"""The repository's own stacks, synthesized once for the security tests."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from modules.config import load_config
from tests.conftest import REPO_ROOT
from tests.infra.synth_output import synth_into

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="session")
def security_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`cdktf.out` of the repository's configuration (in-process synth, once per session)."""
    return synth_into(load_config(REPO_ROOT), tmp_path_factory.mktemp("security-synth"))


@pytest.fixture(scope="session")
def synthesized(security_outdir: Path) -> dict[str, dict[str, Any]]:
    """Each stack's parsed cdk.tf.json, by name."""
    return {
        path.parent.name: json.loads(path.read_text())
        for path in sorted((security_outdir / "stacks").glob("*/cdk.tf.json"))
    }
