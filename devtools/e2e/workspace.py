"""The tree a round trip applies: a copy of the repository in a scratch folder.

A copy, so that the round trip never writes state, plans or edits into the checkout it tests.
It is laid out as the repository is (stacks in `cdktf.out/stacks/<name>`, state in
`terraform-state/`, the build script in `workers/`), so every relative path in the synthesized
output works as it does for a user, and it is a git repository of its own, so that
`make changed` can compare an edit with what was applied.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from modules.config import PROJECT_FILE, SERVICE_FILE, WORKERS_DIR
from pipeline.synth import synth
from workers.runtime.producer_settings import MAX_INTERVAL_VARIABLE, MIN_INTERVAL_VARIABLE

if TYPE_CHECKING:
    from pathlib import Path

GIT_TIMEOUT_SECONDS = 120.0
# Commits in the scratch tree name no person: the caller's git identity may not be set.
GIT_IDENTITY = ("-c", "user.name=round trip", "-c", "user.email=round-trip@localhost")


@dataclass(frozen=True)
class Setting:
    """One value the round trip sets in a copy of a config file, and why."""

    file: str  # relative to the repository root
    path: tuple[str | int, ...]
    value: object
    why: str

    def describe(self) -> str:
        where = ".".join(str(part) for part in self.path)
        return f"{self.file}: {where} = {self.value} ({self.why})"


# Local runs only: values that make the applied example workers finish in seconds instead of
# minutes. Each changes a value the stacks pass through, never which resources exist.
LOCAL_SETTINGS = (
    Setting(
        f"{WORKERS_DIR}/consumer/{SERVICE_FILE}",
        ("containers", 0, "environment", "HANDLER_SLEEP_SECONDS"),
        0,
        "the example handler's simulated minute of work",
    ),
    Setting(
        f"{WORKERS_DIR}/consumer/{SERVICE_FILE}",
        ("queue", "max_receive_count"),
        2,
        "a poison message reaches the DLQ after 2 receives instead of 5 backoffs",
    ),
    Setting(
        f"{WORKERS_DIR}/producer/{SERVICE_FILE}",
        ("containers", 0, "environment", MIN_INTERVAL_VARIABLE),
        1,
        "the producer sends every 1-2 s instead of every 10-60 s",
    ),
    Setting(
        f"{WORKERS_DIR}/producer/{SERVICE_FILE}",
        ("containers", 0, "environment", MAX_INTERVAL_VARIABLE),
        2,
        "the producer sends every 1-2 s instead of every 10-60 s",
    ),
)


class WorkspaceError(Exception):
    """The scratch tree could not be prepared; the message says why."""


def copy_checkout(repo: Path, tree: Path) -> None:
    """The repository's files as they are now (committed or not, ignored ones left out)."""
    listed = _git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout
    for name in sorted(filter(None, listed.split("\0"))):
        source = repo / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree, not yet in the index
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


def set_project(tree: Path, project: str) -> None:
    """Give the copy's platform its own project name (and so its own resource names)."""
    _set(tree / PROJECT_FILE, ("project",), project)


def apply_settings(tree: Path, settings: tuple[Setting, ...]) -> list[Setting]:
    """Set each value whose file and field exist in the copy (a renamed example is left as it
    is, never given a field it lacks); returns those applied."""
    applied = []
    for setting in settings:
        if _set(tree / setting.file, setting.path, setting.value):
            applied.append(setting)
    return applied


def commit_all(tree: Path, message: str) -> None:
    """Make the copy a git repository whose HEAD is exactly what is about to be applied."""
    if not (tree / ".git").exists():
        _git(tree, "init", "--quiet")
    _git(tree, "add", "--all")
    _git(tree, *GIT_IDENTITY, "commit", "--quiet", "--allow-empty", "-m", message)


def synthesize(tree: Path) -> Path:
    """`python main.py` of the copy, as `make synth` runs it; returns `<tree>/cdktf.out`."""
    return synth(tree, "the round trip's copy")


def _set(file: Path, path: tuple[str | int, ...], value: object) -> bool:
    if not file.is_file():
        return False
    document = yaml.safe_load(file.read_text())
    parent: Any = document
    for part in path[:-1]:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return False
    if not isinstance(parent, dict) or path[-1] not in parent:
        return False
    parent[path[-1]] = value
    file.write_text(yaml.safe_dump(document, sort_keys=False))
    return True


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise WorkspaceError("git is not on PATH; it is needed to copy the checkout") from None
    if completed.returncode != 0:
        raise WorkspaceError(f"git {' '.join(args)} in {cwd} failed: {completed.stderr.strip()}")
    return completed
