"""The README's quick start works as written: its commands, and `make synth` in a fresh copy."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from modules.config import load_config
from tests.conftest import REPO_ROOT
from tests.infra.synth_output import stack_names

if TYPE_CHECKING:
    from pathlib import Path

QUICK_START_HEADING = "## Quick start"
QUICK_START_COMMANDS = ["make synth", "make test"]
SYNTH_TIMEOUT_SECONDS = 300


def quick_start_commands(readme: str) -> list[str]:
    """The lines of the first fenced block under the README's quick start heading."""
    section = readme.split(f"\n{QUICK_START_HEADING}\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"^```[a-z]*\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    assert block is not None, f"no fenced block under {QUICK_START_HEADING!r}"
    return block.group(1).splitlines()


def test_readme_quick_start_is_make_synth_then_make_test() -> None:
    readme = (REPO_ROOT / "README.md").read_text()

    assert quick_start_commands(readme) == QUICK_START_COMMANDS


@pytest.mark.slow
def test_make_synth_in_a_fresh_copy_writes_every_stack(fresh_copy: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("GNU make is not on PATH")
    # The caller's make and cdktf settings must not leak in (e.g. `make test` sets MAKEFLAGS).
    leaking = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CDKTF_OUTDIR"}
    env = {key: value for key, value in os.environ.items() if key not in leaking}

    completed = subprocess.run(
        ["make", "synth"],
        cwd=fresh_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    # cluster, logs, and one stack per service: consumer, producer and whatever else workers/ holds.
    written = sorted(path.parent.name for path in fresh_copy.glob("cdktf.out/stacks/*/cdk.tf.json"))
    assert written == sorted(stack_names(load_config(fresh_copy)))
