"""Synthesizing a source tree: the working tree, or a git ref checked out in a temporary worktree.

Both run the tree's own `main.py` with this interpreter (the project's venv), so the base is
synthesized by the base's code, as it was, and a failed synth is an error: change detection never
falls back to "everything".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.commands import run
from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from collections.abc import Iterator

OUTDIR = "cdktf.out"
MANIFEST = "manifest.json"
# A warm synth takes about 2 s; a first one on a fresh machine builds jsii's cache (minutes).
SYNTH_TIMEOUT_SECONDS = 600.0
GIT_TIMEOUT_SECONDS = 120.0


def synth(root: Path, label: str, timeout: float = SYNTH_TIMEOUT_SECONDS) -> Path:
    """Run `main.py` of the tree at `root`; return its outdir (`<root>/cdktf.out`).

    `label` names the tree in errors ("working tree", "base origin/main").
    """
    if not (root / "main.py").is_file():
        raise PipelineError(f"synth of {label}: no main.py in {root}")
    outdir = root / OUTDIR
    # Set explicitly: a CDKTF_OUTDIR in the caller's environment must not send output elsewhere.
    env = {**os.environ, "CDKTF_OUTDIR": str(outdir)}
    run([sys.executable, "main.py"], cwd=root, env=env, timeout=timeout, what=f"synth of {label}")
    if not (outdir / MANIFEST).is_file():
        raise PipelineError(f"synth of {label} wrote no {OUTDIR}/{MANIFEST}")
    return outdir


def resolve_commit(repo: Path, ref: str) -> str:
    """The commit `ref` names in `repo`, or PipelineError if it names none."""
    try:
        completed = run(
            ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            cwd=repo,
            timeout=GIT_TIMEOUT_SECONDS,
            what=f"git rev-parse {ref}",
        )
    except PipelineError:
        raise PipelineError(f"'{ref}' is not a commit in {repo} (fetch it first?)") from None
    return completed.stdout.strip()


@contextmanager
def worktree(repo: Path, ref: str) -> Iterator[Path]:
    """`ref` checked out (detached) in a temporary folder, removed again afterwards."""
    commit = resolve_commit(repo, ref)
    scratch = Path(tempfile.mkdtemp(prefix="pipeline-base-"))
    path = scratch / "tree"
    try:
        run(
            ["git", "worktree", "add", "--detach", "--quiet", str(path), commit],
            cwd=repo,
            timeout=GIT_TIMEOUT_SECONDS,
            what=f"git worktree add {ref}",
        )
        yield path
    finally:
        # Best effort: a leftover registration is pruned by the next `git worktree prune` anyway.
        for command in (["worktree", "remove", "--force", str(path)], ["worktree", "prune"]):
            subprocess.run(
                ["git", *command],
                cwd=repo,
                capture_output=True,
                timeout=GIT_TIMEOUT_SECONDS,
                check=False,
            )
        shutil.rmtree(scratch, ignore_errors=True)
