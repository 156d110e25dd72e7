"""ECS task scale-in protection through the ECS agent, never stalling the work.

While a task holds messages, ECS must not pick it for scale-in: the consumer asks the
agent (`PUT $ECS_AGENT_URI/task-protection/v1/state`) to protect the task, renews the
protection before it expires, and releases it once it holds nothing. Every call has a
time limit and runs on its own thread; the worker waits for it only before a receive,
and only while no call has failed yet, so a hanging or failing agent costs at most one
time limit and handling goes on (logged, retried in the background).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from workers.runtime.backoff import Backoff

log = logging.getLogger("workers.consumer")

STATE_PATH = "/task-protection/v1/state"
# ECS accepts 1 to 2880 minutes (48 h).
MAX_EXPIRES_MINUTES = 2880


class ProtectionError(RuntimeError):
    """The agent did not confirm the change (timeout, HTTP error or a `failure` in its answer)."""


class TaskProtection:
    """One call to the agent's task-protection endpoint, with a time limit."""

    def __init__(self, agent_uri: str, timeout: float) -> None:
        self.url = agent_uri.rstrip("/") + STATE_PATH
        self.timeout = timeout

    def set(self, enabled: bool, expires_minutes: int | None = None) -> None:
        state: dict[str, object] = {"ProtectionEnabled": enabled}
        if enabled and expires_minutes is not None:
            state["ExpiresInMinutes"] = expires_minutes
        request = urllib.request.Request(
            self.url,
            data=json.dumps(state).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read(65536)
        except (OSError, urllib.error.URLError) as error:  # timeouts and HTTP errors included
            raise ProtectionError(repr(error)) from None
        _check_answer(answer)


def _check_answer(answer: bytes) -> None:
    """The agent answers 200 with `failure` or `error` when ECS refused the change."""
    try:
        document = json.loads(answer or b"{}")
    except ValueError:
        raise ProtectionError(f"unreadable answer: {answer[:200]!r}") from None
    if isinstance(document, dict):
        problem = document.get("failure") or document.get("error")
        if problem:
            raise ProtectionError(f"refused: {problem}")


class ProtectionKeeper:
    """Keeps the task protected while any reason for it holds ("receiving", "holding").

    With `client=None` (no ECS_AGENT_URI: not on ECS) every method is a no-op.
    """

    def __init__(
        self,
        client: TaskProtection | None,
        *,
        expires_minutes: int,
        renew_after: float,
        retry: Backoff,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[threading.Condition, float | None], object] = threading.Condition.wait,
    ) -> None:
        """`clock` and `wait` (a condition's wait with a timeout on that clock, None: until
        notified) are the real ones unless a test drives time by hand."""
        self._client = client
        self._expires_minutes = expires_minutes
        self._renew_after = renew_after
        self._retry = retry
        self._clock = clock
        self._wait = wait
        self._reasons: set[str] = set()
        self._protected = False
        self._failing = False
        self._failures = 0
        self._renew_at = 0.0
        self._retry_at = 0.0
        self._closing = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="task-protection", daemon=True)

    def start(self) -> None:
        if self._client is not None:
            self._thread.start()

    def want(self, reason: str, on: bool) -> None:
        with self._changed:
            if on:
                self._reasons.add(reason)
            else:
                self._reasons.discard(reason)
            self._changed.notify_all()

    def wait_protected(self) -> bool:
        """Wait (at most one call's time limit) for the outcome of a first protection attempt.

        Returns at once when protected, when not on ECS, or when the agent already failed:
        protection is worth a short wait, never a stall.
        """
        if self._client is None:
            return True
        with self._changed:
            self._changed.wait_for(
                lambda: self._protected or self._failing or not self._reasons or self._closing,
                timeout=self._client.timeout + 0.5,
            )
            return self._protected

    def close(self) -> None:
        """Release the protection (bounded by the call's time limit) and stop the thread."""
        if self._client is None:
            return
        with self._changed:
            self._closing = True
            self._reasons.clear()
            self._changed.notify_all()
        self._thread.join(self._client.timeout + 1)

    def _run(self) -> None:
        while True:
            enable = self._next_change()
            if enable is None:
                return
            self._apply(enable)

    def _next_change(self) -> bool | None:
        """True to protect or renew, False to release, None to stop."""
        with self._changed:
            while True:
                now = self._clock()
                wanted = bool(self._reasons)
                if now >= self._retry_at or self._closing:
                    if wanted and (not self._protected or now >= self._renew_at):
                        return True
                    if not wanted and self._protected:
                        return False
                if self._closing:
                    return None
                wake = self._retry_at if now < self._retry_at else float("inf")
                if wanted and self._protected:
                    wake = min(wake, max(self._renew_at, self._retry_at))
                self._wait(self._changed, None if wake == float("inf") else max(0.0, wake - now))

    def _apply(self, enable: bool) -> None:
        assert self._client is not None
        renewing = enable and self._protected
        started = self._clock()
        try:
            self._client.set(enable, self._expires_minutes if enable else None)
        except ProtectionError as error:
            with self._changed:
                if self._closing:
                    # One release attempt at shutdown; protection also expires on its own.
                    self._protected = False
                self._failing = True
                self._failures += 1
                delay = self._retry.jittered(self._failures)
                self._retry_at = self._clock() + delay
                self._changed.notify_all()
            log.warning(
                "task protection failed",
                extra={"enable": enable, "error": str(error)[:300], "retry_in_seconds": delay},
            )
            return
        with self._changed:
            self._protected = enable
            self._failing = False
            self._failures = 0
            self._retry_at = 0.0
            self._renew_at = started + self._renew_after
            self._changed.notify_all()
        event = "task protection renewed" if renewing else "task protected"
        log.info(
            event if enable else "task protection released",
            extra={"expires_in_minutes": self._expires_minutes} if enable else {},
        )
