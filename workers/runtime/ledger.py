"""What a consumer holds: places for messages, handler slots, and the messages it received and
not yet settled.

A message is held from its receive until SQS accepted its delete or visibility change;
that includes a prefetched message still waiting for a handler slot. While held, the
heartbeat keeps it invisible; holding anything keeps the task protected.
"""

from __future__ import annotations

import threading
from collections import deque
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
    """Bounded holding and bounded concurrency, under one lock.

    `capacity` = concurrency + prefetch places: a receive takes places before it asks SQS for
    messages, and a message keeps its place until its handler is done or it was released.
    `concurrency` handler slots: a held message waits for one, first come first served;
    the prefetched messages are those waiting. With prefetch 0 a receive never asks for more
    messages than there are free handler slots.
    """

    def __init__(self, concurrency: int, prefetch: int = 0) -> None:
        self.concurrency = concurrency
        self.prefetch = prefetch
        self.capacity = concurrency + prefetch
        self._free = self.capacity  # places for messages
        self._idle = concurrency  # handler slots
        self._queue: deque[object] = deque()  # handlers waiting for a slot, oldest first
        self._changed = threading.Condition()

    def reserve(self, most: int, stopping: Callable[[], bool], gather: float = 0.0) -> int:
        """Take up to `most` places for a receive; 0 when the worker is stopping.

        Waits until more than half the prefetch is free (prefetch 0: one place), so a receive
        tops up the buffer with a fuller batch instead of asking for one message at a time;
        then up to `gather` seconds for `most` places. Handlers that started together (one
        receive) tend to end together: a moment's wait turns receives of 1 into one of many.
        """
        low_water = min(most, self.prefetch // 2 + 1)
        with self._changed:
            self._changed.wait_for(lambda: self._free >= low_water or stopping())
            if gather > 0:
                self._changed.wait_for(lambda: self._free >= most or stopping(), timeout=gather)
            if stopping():
                return 0
            taken = min(most, self._free)
            self._free -= taken
            return taken

    def give(self, count: int = 1) -> None:
        """Return places: a receive brought fewer messages, or a message left the worker."""
        if count <= 0:
            return
        with self._changed:
            self._free = min(self.capacity, self._free + count)
            self._changed.notify_all()

    def start(self, stopping: Callable[[], bool]) -> bool:
        """Wait for a handler slot, in arrival order; False (no slot taken) when stopping."""
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            self._changed.wait_for(
                lambda: (self._idle > 0 and self._queue[0] is ticket) or stopping()
            )
            self._queue.remove(ticket)
            self._changed.notify_all()  # the next in line may take another idle slot
            if stopping():
                return False
            self._idle -= 1
            return True

    def end(self) -> None:
        """A handler is done with its slot."""
        with self._changed:
            self._idle = min(self.concurrency, self._idle + 1)
            self._changed.notify_all()

    def wait_all_free(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(
                lambda: self._free == self.capacity and self._idle == self.concurrency,
                timeout=max(timeout, 0),
            )

    def wake(self) -> None:
        with self._changed:
            self._changed.notify_all()
