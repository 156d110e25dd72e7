"""A fresh copy of the repository, as a clone would hold it, for tests that run make in it."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from pathlib import Path

GIT_TIMEOUT_SECONDS = 60


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

    Installing the pinned dependencies takes about a minute and needs the network; what the
    tests check is the rest. So `.venv` in the copy is a folder of symlinks to the entries of
    the repository's `.venv`, plus the copy's own `.installed` stamp (newer than the copied
    pyproject.toml), which tells make the install already ran. The stamp lives in the copy:
    the shared `.venv` is never written to. `.ci/run` covers the install from scratch.
    """
    venv = REPO_ROOT / ".venv"
    if not (venv / "bin" / "python").exists():
        pytest.skip(f"no installed virtual environment at {venv}: run `make synth` once first")
    (copy / ".venv").mkdir()
    for entry in venv.iterdir():
        if entry.name != ".installed":
            (copy / ".venv" / entry.name).symlink_to(entry)
    (copy / ".venv" / ".installed").touch()


def make_fresh_copy(copy: Path) -> Path:
    """Copy the repository's files into `copy` (keeping modes: scripts stay executable) and
    link its installed venv."""
    for name in repository_files():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, copy / name)
    link_installed_venv(copy)
    return copy
