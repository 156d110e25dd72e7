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
GIT_TIMEOUT_SECONDS = 60
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


def repository_files() -> list[str]:
    """What a fresh clone holds, plus work not committed yet: tracked and untracked, not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_SECONDS,
        check=True,
    ).stdout
    # --cached also lists files deleted in the working tree but not yet in the index.
    return sorted({name for name in listed.split("\0") if name and (REPO_ROOT / name).is_file()})


def link_installed_venv(copy: Path) -> None:
    """Give the copy the repository's installed `.venv` without reinstalling or touching it.

    Installing the pinned dependencies takes about a minute and needs the network; what this
    test checks is the rest of `make synth`. So `.venv` in the copy is a folder of symlinks to
    the entries of the repository's `.venv`, plus the copy's own `.installed` stamp (newer than
    the copied pyproject.toml), which tells make the install already ran. The stamp lives in the
    copy: the shared `.venv` is never written to. `.ci/run` covers the install from scratch.
    """
    venv = REPO_ROOT / ".venv"
    if not (venv / "bin" / "python").exists():
        pytest.skip(f"no installed virtual environment at {venv}: run `make synth` once first")
    (copy / ".venv").mkdir()
    for entry in venv.iterdir():
        if entry.name != ".installed":
            (copy / ".venv" / entry.name).symlink_to(entry)
    (copy / ".venv" / ".installed").touch()


@pytest.fixture
def fresh_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    for name in repository_files():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, copy / name)  # keeps modes: scripts stay executable
    link_installed_venv(copy)
    return copy


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
