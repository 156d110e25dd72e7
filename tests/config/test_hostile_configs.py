"""`main.py` against hostile config files, as users run it: each is answered within seconds and
bounded memory with exit code 2, one short line per problem, and nothing written.

The exact lines are in test_bad_configs.py's corpus; these tests measure the process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from tests.config.support import (
    ALIAS_BOMB,
    CONSUMER,
    DEEP_LIST,
    TEN_MB_VALUE,
    write_text,
)
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

# What the loader owes any config, however hostile: an answer within 10 s, in less than 500 MB.
MAX_SECONDS = 10
MAX_PEAK_BYTES = 500 * 1024 * 1024
MAX_LINE_CHARS = 600
HOSTILE = {
    "alias-bomb": ALIAS_BOMB,
    "10-mb-value": TEN_MB_VALUE,
    "list-nested-10000-deep": DEEP_LIST,
}


@dataclass(frozen=True)
class Measured:
    returncode: int
    stderr: str
    seconds: float
    peak_bytes: int  # the Python process's peak resident memory


def run_measured(root: Path, outdir: Path, deadline_seconds: float) -> Measured:
    """Run main.py on `root`; its exit code, stderr, wall time and peak memory (from wait4)."""
    env = {key: value for key, value in os.environ.items() if key != "CDKTF_OUTDIR"}
    stderr_path = outdir.parent / "stderr.txt"
    started = time.monotonic()
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                str(REPO_ROOT / "main.py"),
                "--root",
                str(root),
                "--outdir",
                str(outdir),
            ],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        waited: list[tuple[int, int, os.struct_rusage]] = []
        waiter = threading.Thread(target=lambda: waited.append(os.wait4(process.pid, 0)))
        waiter.start()
        waiter.join(deadline_seconds)
        if not waited:
            process.kill()
            waiter.join()
        seconds = time.monotonic() - started
    _, status, usage = waited[0]
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    assert seconds < deadline_seconds, f"main.py ran {seconds:.1f} s"
    return Measured(process.returncode, stderr_path.read_text(), seconds, usage.ru_maxrss * 1024)


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_file_is_answered_at_once_in_bounded_memory(
    text: str, repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    root = repo_copy()
    write_text(CONSUMER, text)(root)
    outdir = tmp_path / "out" / "cdktf.out"
    outdir.parent.mkdir()

    measured = run_measured(root, outdir, deadline_seconds=60)

    lines = measured.stderr.splitlines()
    assert measured.returncode == 2, measured.stderr[-2000:]
    assert len(lines) == 2
    assert lines[0].startswith(f"error: {CONSUMER}: ")
    assert lines[1] == "1 problem(s); nothing was written."
    assert all(len(line) <= MAX_LINE_CHARS for line in lines)
    assert "Traceback" not in measured.stderr
    assert not outdir.exists()
    assert measured.seconds < MAX_SECONDS
    assert measured.peak_bytes < MAX_PEAK_BYTES
