"""Running external commands (git, python, terraform) with a bounded time and a clear error."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

# How many trailing lines of a failed command's output an error message quotes.
QUOTED_LINES = 15


def run(
    command: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    what: str,
    env: Mapping[str, str] | None = None,
    capture: bool = True,
    quote_stdout: bool = True,
    success: tuple[int, ...] = (0,),
) -> subprocess.CompletedProcess[str]:
    """Run `command`; raise PipelineError naming `what` when it fails, times out or is missing.

    With `capture=False` the command writes to this process's stdout/stderr (terraform plan's
    progress for a person at a terminal); the error then cannot quote it. `quote_stdout=False`
    keeps stdout out of the error (terraform show -json: it may hold sensitive values).
    `success` lists the exit statuses that are not a failure (checkov exits 1 on findings).
    """
    try:
        completed = subprocess.run(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            capture_output=capture,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise PipelineError(f"{what}: `{command[0]}` is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise PipelineError(f"{what}: did not finish within {timeout:.0f} s") from None
    if completed.returncode not in success:
        raise PipelineError(
            f"{what} failed (exit {completed.returncode})",
            detail=tail(completed.stderr, completed.stdout if quote_stdout else None),
        )
    return completed


def tail(*outputs: str | None) -> str:
    """The last lines of the first output that has any (stderr before stdout)."""
    for output in outputs:
        lines = [line for line in (output or "").splitlines() if line.strip()]
        if lines:
            return "\n".join(lines[-QUOTED_LINES:])
    return ""
