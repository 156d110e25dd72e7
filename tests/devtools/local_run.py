"""`make local` (`python -m devtools.local`) run as a process, its output lines collected as they
arrive: for the tests that start it and read its progress."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from typing import IO, TYPE_CHECKING

from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from pathlib import Path

PROGRESS = re.compile(r"sent=(\d+) queued=(\d+) in_flight=(\d+) done=(\d+) failed=(\d+) dlq=(\d+)")
DEADLINE_SECONDS = 60


class LocalRun:
    """The process and its output lines, collected by a thread as they arrive."""

    def __init__(self, *args: str, log_dir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devtools.local", "--log-dir", str(log_dir), *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,))
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for_done(self, minimum: int) -> None:
        deadline = time.monotonic() + DEADLINE_SECONDS
        with self._changed:
            while not any(done(line) >= minimum for line in self.lines):
                left = deadline - time.monotonic()
                assert left > 0 and self.process.poll() is None, "\n".join(self.lines)
                self._changed.wait(min(left, 1))

    def finish(self) -> int:
        try:
            code = self.process.wait(timeout=DEADLINE_SECONDS)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self._reader.join(timeout=10)
        return code

    def moto_port(self) -> int:
        match = re.search(r"SQS on http://127\.0\.0\.1:(\d+)", "\n".join(self.lines))
        assert match, "\n".join(self.lines)
        return int(match.group(1))


def done(line: str) -> int:
    match = PROGRESS.search(line)
    return int(match.group(4)) if match else -1
