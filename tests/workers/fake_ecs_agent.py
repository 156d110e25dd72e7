"""A stand-in for the ECS agent's task-protection endpoint, on a free loopback port.

It records every call (with `time.monotonic()`) into a timeline the test shares with its
SQS hooks, so a test can check what happened in which order. Modes: "ok" answers like
the agent; "refuse" answers 200 with a `failure` (as when ECS refuses); "hang" never answers.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator


class Timeline:
    """Events from several threads, in the order they happened."""

    def __init__(self) -> None:
        self._events: list[tuple[float, str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def add(self, name: str, **details: Any) -> None:
        with self._lock:
            self._events.append((time.monotonic(), name, details))

    def events(self) -> list[tuple[float, str, dict[str, Any]]]:
        with self._lock:
            return list(self._events)

    def names(self) -> list[str]:
        return [name for _, name, _ in self.events()]


class FakeAgent:
    def __init__(self, timeline: Timeline, mode: str) -> None:
        self.timeline = timeline
        self.mode = mode
        self.release = threading.Event()  # lets hanging requests end at teardown
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1/fake-task"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                enabled = body["ProtectionEnabled"]
                agent.timeline.add("protect" if enabled else "unprotect", path=self.path, **body)
                if agent.mode == "hang":
                    agent.release.wait(timeout=60)
                    return
                answer: dict[str, Any] = {"protection": {"ProtectionEnabled": enabled}}
                if agent.mode == "refuse":
                    answer = {"failure": {"Reason": "TASK_NOT_VALID", "Detail": "injected"}}
                payload = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_: Any) -> None:
                """Quiet: the timeline is the record."""

        return Handler


@contextlib.contextmanager
def fake_agent(timeline: Timeline, mode: str = "ok") -> Iterator[FakeAgent]:
    agent = FakeAgent(timeline, mode)
    thread = threading.Thread(target=agent.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield agent
    finally:
        agent.release.set()
        agent.server.shutdown()
        agent.server.server_close()
        thread.join(timeout=5)
