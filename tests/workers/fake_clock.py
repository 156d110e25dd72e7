"""A clock that moves only when a test moves it, for the runtime's threads that wait on time.

The runtime's timing loops (outbox.py, protection.py) take a `clock` and a `wait` (a
condition's wait with a timeout on that clock). `FakeClock` is both: a runtime thread that
waits on it sleeps until the test moves the clock (then it looks whether its moment came) or
its condition is notified, never for a real time. Each step a test takes returns once every
thread waiting on the clock has looked at the new state and waits again, so what the test
asserts next is what the runtime did at that moment, whatever the machine's load.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

# Real seconds a step may take before the test fails: a deadline, never a synchronisation.
STEP_DEADLINE_SECONDS = 10.0
# Real seconds between looks at a thread that may have ended without waiting again.
_POLL_SECONDS = 0.01


@dataclass
class _Sleeper:
    condition: threading.Condition
    entry: int  # the how-many-th wait this was, over all threads


class FakeClock:
    """Monotonic seconds from `start`; call it for the time, pass `wait` as the runtime's wait."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._changed = threading.Condition()
        self._sleepers: dict[threading.Thread, _Sleeper | None] = {}  # None: awake
        self._entries = 0

    def __call__(self) -> float:
        with self._changed:
            return self._now

    def wait(self, condition: threading.Condition, timeout: float | None) -> bool:
        """Called with `condition` held, as `condition.wait(timeout)`. Wakes on a notify and
        whenever the clock moves: the runtime's loops compare the clock with their own deadlines
        after every wake-up, as they must for a real condition's spurious ones."""
        me = threading.current_thread()
        with self._changed:
            if timeout is not None and timeout <= 0:
                return False
            self._entries += 1
            self._sleepers[me] = _Sleeper(condition, self._entries)
            self._changed.notify_all()
        try:
            return condition.wait()
        finally:
            with self._changed:
                self._sleepers[me] = None

    def advance(self, seconds: float) -> None:
        """Move the clock on; return once the threads waiting on it wait again."""
        with self.step():
            with self._changed:
                self._now += seconds
                waiting = [s.condition for s in self._sleepers.values() if s is not None]
            for condition in waiting:
                with condition:
                    condition.notify_all()

    def advance_to(self, moment: float) -> None:
        self.advance(max(0.0, moment - self()))

    @contextmanager
    def step(self) -> Iterator[None]:
        """Around something that wakes a runtime thread (a notify, a start): on leaving, wait
        until every thread using the clock has waited again since, or ended."""
        with self._changed:
            mark = self._entries
        yield
        self._wait_quiet(mark)

    def _wait_quiet(self, mark: int) -> None:
        deadline = time.monotonic() + STEP_DEADLINE_SECONDS
        with self._changed:
            while not self._quiet_since(mark):
                left = deadline - time.monotonic()
                assert left > 0, f"a runtime thread did not wait again in {STEP_DEADLINE_SECONDS} s"
                # Woken by a thread that waits again; a thread that ends says nothing: look again.
                self._changed.wait(min(left, _POLL_SECONDS))

    def _quiet_since(self, mark: int) -> bool:
        """Every live thread that used the clock waits, on a wait begun after `mark`; and one
        thread at least did (a thread just started may not have waited yet)."""
        live = [sleeper for thread, sleeper in self._sleepers.items() if thread.is_alive()]
        return all(s is not None and s.entry > mark for s in live) and bool(self._sleepers)
