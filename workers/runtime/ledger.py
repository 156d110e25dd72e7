"""What a consumer holds: free handler slots, and the messages it received and not yet settled.

A message is held from its receive until SQS accepted its delete or visibility change.
While held, the heartbeat keeps it invisible; holding anything keeps the task protected.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from workers.runtime.message import Message


@dataclass(eq=False)
class Held:
    """One received message and what the worker knows of its visibility.

    Times are `time.monotonic()` values. `received_at` is taken before the receive was sent,
    so it is never later than SQS's own receive time (the 12 h visibility limit counts from it).
    """

    message: Message
    receipt_handle: str
    received_at: float
    visible_until: float
    started_at: float | None = None
    overran: bool = False
    # Its handler is done (or will never run): a delete or a visibility change is queued.
    settling: bool = False
    # False after a visibility change was queued (extending would undo a backoff or a
    # release), after the 12 h limit, or once SQS said the handle is no longer valid.
    keep_extending: bool = True


class Ledger:
    """The held messages; calls `on_holding(True/False)` when it becomes non-empty/empty."""

    def __init__(self, on_holding: Callable[[bool], None] | None = None) -> None:
        self._held: set[Held] = set()
        self._lock = threading.Lock()
        self._on_holding = on_holding

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)

    def add(self, held: Held) -> None:
        with self._lock:
            self._held.add(held)
            if len(self._held) == 1 and self._on_holding is not None:
                self._on_holding(True)

    def remove(self, held: Held) -> None:
        with self._lock:
            if held not in self._held:
                return
            self._held.discard(held)
            if not self._held and self._on_holding is not None:
                self._on_holding(False)

    def start(self, held: Held, now: float) -> None:
        with self._lock:
            held.started_at = now

    def settle(self, held: Held, *, keep_extending: bool) -> None:
        """A delete (keep extending until it is done) or a visibility change was queued."""
        with self._lock:
            held.settling = True
            held.keep_extending = held.keep_extending and keep_extending

    def stop_extending(self, held: Held) -> None:
        with self._lock:
            held.keep_extending = False

    def extended(self, held: Held, visible_until: float) -> None:
        with self._lock:
            held.visible_until = visible_until

    def expiring(self, before: float) -> list[Held]:
        """Held messages the heartbeat should extend: invisible only until `before` or less."""
        with self._lock:
            return [h for h in self._held if h.keep_extending and h.visible_until <= before]

    def newly_overrunning(self, now: float, timeout: float) -> list[Held]:
        """Running handlers past `timeout` that were not reported yet (each is reported once)."""
        with self._lock:
            found = [
                h
                for h in self._held
                if h.started_at is not None
                and not h.settling
                and not h.overran
                and now - h.started_at > timeout
            ]
            for held in found:
                held.overran = True
            return found

    def running(self) -> list[Held]:
        """Messages whose handler started and has not finished."""
        with self._lock:
            return [h for h in self._held if h.started_at is not None and not h.settling]


class Slots:
    """Bounded concurrency: one slot per running handler, taken before a receive asks for more."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = size
        self._changed = threading.Condition()

    def take(self, most: int, stopping: Callable[[], bool], gather: float = 0.0) -> int:
        """Wait for at least one free slot, then up to `gather` seconds for `most` to be free;
        take up to `most`. 0 when the worker is stopping.

        Handlers that started together (one receive) tend to end together: waiting a moment
        for the rest turns many receives of 1 message into one receive of many.
        """
        with self._changed:
            self._changed.wait_for(lambda: self._free > 0 or stopping())
            if gather > 0:
                self._changed.wait_for(lambda: self._free >= most or stopping(), timeout=gather)
            if stopping():
                return 0
            taken = min(most, self._free)
            self._free -= taken
            return taken

    def give(self, count: int = 1) -> None:
        if count <= 0:
            return
        with self._changed:
            self._free = min(self.size, self._free + count)
            self._changed.notify_all()

    def wait_all_free(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._free == self.size, timeout=max(timeout, 0))

    def wake(self) -> None:
        with self._changed:
            self._changed.notify_all()
