"""Fargate tasks of the consumer service: lifecycle, concurrency and handler times.

A task is STARTING from launch until `Timings.task_start_seconds` later, then RUNNING:
it handles up to `concurrency` messages at once and holds up to `prefetch` more, waiting
for a handler slot (workers/runtime/ledger.py `Slots`). Scale-in sends SIGTERM: the task
DRAINS (receives nothing more, releases the messages still waiting, finishes the ones it
handles) and stops when it holds nothing, or at its stop timeout, when the runtime releases
what is left (visibility 0) before SIGKILL. While a task holds messages it is protected from
scale-in (workers/runtime/protection.py), so ECS picks idle tasks, and waits when every task
is busy.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import random

    from simulator.queue import Message

__all__ = [
    "Fixed",
    "HandlerTime",
    "HandlerTimeError",
    "LogNormal",
    "Task",
    "TaskState",
    "Uniform",
    "parse_handler_time",
]

HANDLER_FORMS = "fixed:SECONDS, uniform:LOW-HIGH, lognormal:MEAN,CV"


class HandlerTimeError(ValueError):
    """A handler-time spec that cannot be used; the message is one line."""


class HandlerTime(Protocol):
    """How long one message takes to handle."""

    label: str

    def sample(self, rng: random.Random) -> float: ...

    @property
    def mean(self) -> float: ...


@dataclass(frozen=True)
class Fixed:
    seconds: float
    label: str = "fixed"

    def sample(self, rng: random.Random) -> float:
        return self.seconds

    @property
    def mean(self) -> float:
        return self.seconds


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float
    label: str = "uniform"

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class LogNormal:
    """Right-skewed handler times: most are quick, a few are slow (the usual shape)."""

    mean_seconds: float
    cv: float
    label: str = "lognormal"

    def sample(self, rng: random.Random) -> float:
        sigma2 = math.log(1 + self.cv**2)
        return rng.lognormvariate(math.log(self.mean_seconds) - sigma2 / 2, math.sqrt(sigma2))

    @property
    def mean(self) -> float:
        return self.mean_seconds


def parse_handler_time(spec: str) -> HandlerTime:
    number = r"([0-9]*\.?[0-9]+)"
    if match := re.fullmatch(rf"fixed:{number}", spec.strip()):
        seconds = float(match.group(1))
        if seconds > 0:
            return Fixed(seconds, label=spec)
    elif match := re.fullmatch(rf"uniform:{number}-{number}", spec.strip()):
        low, high = float(match.group(1)), float(match.group(2))
        if 0 < low <= high:
            return Uniform(low, high, label=spec)
    elif match := re.fullmatch(rf"lognormal:{number},{number}", spec.strip()):
        mean, cv = float(match.group(1)), float(match.group(2))
        if mean > 0 and cv > 0:
            return LogNormal(mean, cv, label=spec)
    raise HandlerTimeError(
        f"handler time {spec!r}: expected {HANDLER_FORMS} with positive seconds (LOW <= HIGH)"
    )


class TaskState(Enum):
    STARTING = "starting"
    RUNNING = "running"
    DRAINING = "draining"
    STOPPED = "stopped"


@dataclass(eq=False)
class Task:
    id: int
    launched_at: float
    concurrency: int
    prefetch: int = 0
    state: TaskState = TaskState.STARTING
    stopped_at: float | None = None
    # Messages being handled, each with the generation of its handling (to cancel it).
    held: dict[Message, int] = field(default_factory=dict)
    # Received messages waiting for a handler slot (prefetch), oldest first.
    waiting: deque[Message] = field(default_factory=deque)
    # When the open DeleteMessageBatch started, and how many entries it has.
    delete_batch_opened: float = -math.inf
    delete_batch_size: int = 0

    @property
    def free_places(self) -> int:
        """How many more messages a receive may bring (0 unless RUNNING)."""
        if self.state is not TaskState.RUNNING:
            return 0
        return self.concurrency + self.prefetch - len(self.held) - len(self.waiting)

    @property
    def receive_threshold(self) -> int:
        """A receive waits until this many places are free: more than half the prefetch, so that
        it tops up with a fuller batch (workers/runtime/ledger.py `Slots.reserve`)."""
        return self.prefetch // 2 + 1

    @property
    def idle_slot(self) -> bool:
        return len(self.held) < self.concurrency

    @property
    def protected(self) -> bool:
        """Scale-in protection is on while the worker holds a message."""
        return bool(self.held or self.waiting)

    @property
    def counts_as_running(self) -> bool:
        """What ECS/ContainerInsights RunningTaskCount counts: started and not yet stopped."""
        return self.state in (TaskState.RUNNING, TaskState.DRAINING)

    def billed_seconds(self, until: float, minimum: float) -> float:
        end = self.stopped_at if self.stopped_at is not None else until
        return max(end - self.launched_at, minimum) if end > self.launched_at else 0.0
