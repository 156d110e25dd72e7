"""CloudWatch as the alarms see it: one datapoint a minute, readable only after a delay.

Each period's datapoint is the state at the period's end (SQS reports a point-in-time
approximate count once a minute). It becomes readable `metric_publication_delay_seconds`
after the period ends. SQS datapoints are missing while the queue is inactive (empty and
untouched for six hours) and for up to 15 minutes after it wakes up (see timings.py).

ContainerInsights' RunningTaskCount while a service runs no task is not documented: it may
report 0 or nothing. `IdleTaskMetric` picks one; the platform's scale-from-zero alarm must
work with either (simulator/README.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.timings import Timings

__all__ = ["CloudWatch", "Datapoint", "IdleTaskMetric", "QueueActivity"]


class IdleTaskMetric(Enum):
    """What RunningTaskCount reports for a minute in which the service runs no task."""

    ZERO = "zero"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Datapoint:
    """One period; a value is None when its metric emitted nothing for it."""

    period: int
    visible: float | None
    in_flight: float | None
    running: float | None


@dataclass
class QueueActivity:
    """Tracks SQS's notion of an active queue, which decides whether metrics flow.

    `last_active` -inf: the queue was idle for more than six hours before the run started, so it
    emits nothing until something touches it, and then only after the reactivation delay.
    """

    timings: Timings
    last_active: float = 0.0
    metrics_resume_at: float = 0.0

    @classmethod
    def at_start(cls, timings: Timings, *, active: bool) -> QueueActivity:
        return cls(timings) if active else cls(timings, last_active=-math.inf)

    def touch(self, now: float) -> None:
        """The queue held messages or was called at `now`."""
        if now - self.last_active >= self.timings.queue_inactive_after_seconds:
            self.metrics_resume_at = now + self.timings.queue_reactivation_metric_delay_seconds
        self.last_active = now

    def emits_metrics(self, now: float) -> bool:
        inactive = now - self.last_active >= self.timings.queue_inactive_after_seconds
        return not inactive and now >= self.metrics_resume_at


@dataclass
class CloudWatch:
    timings: Timings
    idle_task_metric: IdleTaskMetric = IdleTaskMetric.ZERO
    datapoints: list[Datapoint] = field(default_factory=list)

    def record(
        self, period_end: float, visible: int, in_flight: int, running: int, sqs_emits: bool
    ) -> None:
        period = len(self.datapoints)
        reports_running = running > 0 or self.idle_task_metric is IdleTaskMetric.ZERO
        self.datapoints.append(
            Datapoint(
                period=period,
                visible=float(visible) if sqs_emits else None,
                in_flight=float(in_flight) if sqs_emits else None,
                running=float(running) if reports_running else None,
            )
        )

    def readable(self, now: float, count: int) -> list[Datapoint]:
        """The latest `count` datapoints readable at `now`, oldest first (fewer at the start)."""
        period = self.timings.metric_period_seconds
        delay = self.timings.metric_publication_delay_seconds
        # Period k ends at (k + 1) * period and is readable `delay` later.
        last = int((now - delay) // period) - 1
        last = min(last, len(self.datapoints) - 1)
        if last < 0:
            return []
        return self.datapoints[max(0, last - count + 1) : last + 1]
