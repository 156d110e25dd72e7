"""Run a worker as a real process, as its image does (`python -m workers.runtime` with the kind
and handler its task definition names), and read its JSON log lines.

Tests synchronise on log events, never on sleeps: `wait_for` blocks on a condition
variable that the reader thread signals for every new line, up to a deadline.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from workers.runtime.kinds import HANDLER_VARIABLE, KIND_VARIABLE

if TYPE_CHECKING:
    import signal
    from collections.abc import Callable, Mapping

REPO_ROOT = Path(__file__).resolve().parents[2]
# What every worker image runs (workers/Dockerfile); WORKER_KIND and WORKER_HANDLER pick the code.
WORKER_MODULE = "workers.runtime"

LogLine = dict[str, Any]


def example(service: str) -> dict[str, str]:
    """WORKER_KIND and WORKER_HANDLER of one of the repository's services, exactly as its task
    definition sets them."""
    from modules.config import ServiceBase, load_config

    spec = load_config(REPO_ROOT).service(service)
    assert isinstance(spec, ServiceBase), service
    settings = spec.task_settings(region="")
    return {KIND_VARIABLE: settings.kind, HANDLER_VARIABLE: settings.handler}


class WorkerProcess:
    """One worker process; its stdout is parsed into `lines` as it arrives."""

    def __init__(self, module: str, env: Mapping[str, str], cwd: Path = REPO_ROOT) -> None:
        self.module = module
        self.process = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: list[LogLine] = []
        self.stderr = ""
        self._changed = threading.Condition()
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read_stdout, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self.process.stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self, stream: IO[bytes]) -> None:
        for raw in stream:
            text = raw.decode("utf-8", "replace").rstrip("\n")
            try:
                line = json.loads(text)
            except ValueError:
                line = {"event": "<not json>", "text": text}
            if not isinstance(line, dict):
                line = {"event": "<not json>", "text": text}
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def _read_stderr(self, stream: IO[bytes]) -> None:
        text = stream.read().decode("utf-8", "replace")
        with self._changed:
            self.stderr = text
            self._changed.notify_all()

    def events(self, name: str) -> list[LogLine]:
        with self._changed:
            return [line for line in self.lines if line.get("event") == name]

    def wait_for(
        self, predicate: Callable[[list[LogLine]], bool], timeout: float, what: str = "condition"
    ) -> None:
        """Block until `predicate(lines)` holds; fail with the log tail if `timeout` passes."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.lines):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    message = f"{self.module}: no {what} within {timeout} s"
                    raise AssertionError(f"{message}\n{self.tail()}")
                # The timeout also re-checks predicates that depend on the process having exited.
                self._changed.wait(min(remaining, 0.5))

    def wait_for_events(self, name: str, count: int, timeout: float) -> list[LogLine]:
        self.wait_for(
            lambda lines: sum(line.get("event") == name for line in lines) >= count,
            timeout,
            f"{count} x {name!r}",
        )
        return self.events(name)

    def signal(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    def wait_exit(self, timeout: float) -> int:
        """Exit code, after stdout and stderr were read to the end."""
        code = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def stop(self) -> None:
        """Teardown: kill if still running; never leaves a process behind."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        for reader in self._readers:
            reader.join(timeout=5)

    def tail(self, count: int = 30) -> str:
        shown = [json.dumps(line, ensure_ascii=False)[:400] for line in self.lines[-count:]]
        return "\n".join([*shown, f"stderr: {self.stderr[-2000:]}"])
