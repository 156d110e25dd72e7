"""A bounded, per-process record of idempotency keys, to recognise duplicate deliveries.

It only sees what this process handled: another task (or this one after a restart) can
still receive a copy, so handlers must be idempotent themselves. The record saves the
common cases — a producer's retried send, and a redelivery after a delete that failed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_CAPACITY = 10_000


class Claim(Enum):
    NEW = "new"  # nobody handled this key: run the handler
    DONE = "done"  # handled already by this process: a duplicate, delete it
    STOPPED = "stopped"  # the worker is stopping while a copy was still being handled


class IdempotencyRecord:
    """Keys handled successfully (the most recent `capacity`) and keys being handled now."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._done: OrderedDict[str, None] = OrderedDict()
        self._running: set[str] = set()
        self._changed = threading.Condition()

    def claim(self, key: str, stopping: Callable[[], bool]) -> Claim:
        """NEW (and mark it running), DONE, or STOPPED.

        A copy whose key is being handled right now waits for that handler, so that the
        two never run at once and the copy is recognised once the first one succeeds.
        """
        with self._changed:
            self._changed.wait_for(lambda: key not in self._running or stopping())
            if key in self._running:
                return Claim.STOPPED
            if key in self._done:
                self._done.move_to_end(key)
                return Claim.DONE
            self._running.add(key)
            return Claim.NEW

    def finish(self, key: str, *, handled: bool) -> None:
        with self._changed:
            self._running.discard(key)
            if handled:
                self._done[key] = None
                self._done.move_to_end(key)
                while len(self._done) > self._capacity:
                    self._done.popitem(last=False)
            self._changed.notify_all()

    def wake(self) -> None:
        """Re-check waiting claims (the worker started stopping)."""
        with self._changed:
            self._changed.notify_all()
