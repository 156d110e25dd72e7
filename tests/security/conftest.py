"""The repository's own stacks, synthesized once for the security tests, and the variants of its
configuration that add policies the default does not have."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from modules.config import load_config
from tests.conftest import REPO_ROOT
from tests.infra.synth_output import synth_into

if TYPE_CHECKING:
    from pathlib import Path

Stacks = dict[str, dict[str, Any]]

# platform.yaml settings whose stacks hold statements the default configuration has none of:
# Slack alerts add the Chatbot role and the chat topic's policy.
CONFIG_VARIANTS: dict[str, dict[str, Any]] = {
    "slack": {"alerts": {"slack": {"workspace_id": "T0123ABCD", "channel_id": "C0456EFGH"}}},
}


def read_stacks(outdir: Path) -> Stacks:
    """Each stack's parsed cdk.tf.json under `outdir`, by name."""
    return {
        path.parent.name: json.loads(path.read_text())
        for path in sorted((outdir / "stacks").glob("*/cdk.tf.json"))
    }


@pytest.fixture(scope="session")
def security_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`cdktf.out` of the repository's configuration (in-process synth, once per session)."""
    return synth_into(load_config(REPO_ROOT), tmp_path_factory.mktemp("security-synth"))


@pytest.fixture(scope="session")
def synthesized(security_outdir: Path) -> Stacks:
    """Each stack's parsed cdk.tf.json, by name."""
    return read_stacks(security_outdir)


@pytest.fixture(scope="session")
def variant_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Stacks]:
    """The stacks of each CONFIG_VARIANTS configuration, by variant and stack name."""
    variants = {}
    for name, settings in CONFIG_VARIANTS.items():
        root = tmp_path_factory.mktemp(f"variant-{name}")
        shutil.copytree(
            REPO_ROOT / "workers",
            root / "workers",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        platform = yaml.safe_load((REPO_ROOT / "platform.yaml").read_text())
        (root / "platform.yaml").write_text(yaml.safe_dump({**platform, **settings}))
        variants[name] = read_stacks(synth_into(load_config(root), root))
    return variants
