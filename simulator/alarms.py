"""CloudWatch metric alarms: M of N datapoints against a threshold, with missing data.

An alarm reads the latest N readable datapoints (metrics.py) at each evaluation and goes
to ALARM when at least M of them breach, to OK when too few can breach, and to
INSUFFICIENT_DATA when it has no datapoint at all (treat_missing_data = missing, the
default, and what target tracking alarms use). While in ALARM it invokes its scaling
policy at every evaluation [CW-ALARM in timings.py].
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator.metrics import CloudWatch, Datapoint

__all__ = [
    "BACKLOG_PER_TASK",
    "MESSAGES_IN_QUEUE",
    "TRACKING_FLOOR",
    "VISIBLE",
    "WAITING_WITHOUT_TASKS",
    "Alarm",
    "AlarmState",
    "Comparison",
    "MetricExpression",
    "MissingData",
]


@dataclass(frozen=True)
class MetricExpression:
    """A CloudWatch metric or metric-math expression over one period's datapoint."""

    name: str
    value: Callable[[Datapoint], float | None]


def _visible(point: Datapoint) -> float | None:
    return point.visible


# The platform's expressions (modules/constructs/backlog_scaling.py) wrap SQS series in
# FILL(..., 0): while tasks run, RunningTaskCount has datapoints and a missing SQS value
# reads as 0; with no task and no SQS datapoint there is nothing at all (missing).
def _filled_visible(point: Datapoint) -> float | None:
    if point.visible is None:
        return 0.0 if point.running > 0 else None
    return point.visible


def _backlog_per_task(point: Datapoint) -> float | None:
    # IF(running > 1, visible / running, visible), i.e. visible / max(running, 1), floored at
    # TRACKING_FLOOR so that target tracking's ceil(capacity x metric / target) stays >= 1.
    visible = _filled_visible(point)
    if visible is None:
        return None
    return max(visible / max(point.running, 1.0), TRACKING_FLOOR)


def _waiting_without_tasks(point: Datapoint) -> float | None:
    # IF(visible > 0 AND running == 0, 1, 0)
    visible = _filled_visible(point)
    if visible is None:
        return None
    return 1.0 if visible > 0 and point.running == 0 else 0.0


def _messages_in_queue(point: Datapoint) -> float | None:
    # FILL(visible, 0) + FILL(in_flight, 0); no SQS datapoint at all is missing data.
    if point.visible is None or point.in_flight is None:
        return None
    return point.visible + point.in_flight


# modules/constructs/backlog_scaling.py TRACKING_FLOOR (tests/simulator checks they agree).
TRACKING_FLOOR = 0.001
VISIBLE = MetricExpression("ApproximateNumberOfMessagesVisible", _visible)
BACKLOG_PER_TASK = MetricExpression("visible / max(running tasks, 1)", _backlog_per_task)
WAITING_WITHOUT_TASKS = MetricExpression(
    "1 if visible > 0 and no task runs", _waiting_without_tasks
)
MESSAGES_IN_QUEUE = MetricExpression("visible + in flight", _messages_in_queue)


class Comparison(Enum):
    GREATER = ">"
    GREATER_OR_EQUAL = ">="
    LESS = "<"
    LESS_OR_EQUAL = "<="

    def breaches(self, value: float, threshold: float) -> bool:
        return _COMPARE[self](value, threshold)


_COMPARE: dict[Comparison, Callable[[float, float], bool]] = {
    Comparison.GREATER: operator.gt,
    Comparison.GREATER_OR_EQUAL: operator.ge,
    Comparison.LESS: operator.lt,
    Comparison.LESS_OR_EQUAL: operator.le,
}


class MissingData(Enum):
    """CloudWatch's TreatMissingData."""

    MISSING = "missing"
    NOT_BREACHING = "notBreaching"
    BREACHING = "breaching"


class AlarmState(Enum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


@dataclass
class Alarm:
    name: str
    metric: MetricExpression
    comparison: Comparison
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int | None = None
    treat_missing: MissingData = MissingData.MISSING
    state: AlarmState = AlarmState.INSUFFICIENT_DATA
    # The most recent non-missing value seen: what a policy acts on when invoked.
    last_value: float | None = None

    def evaluate(self, cloudwatch: CloudWatch, now: float) -> AlarmState:
        needed = self.datapoints_to_alarm or self.evaluation_periods
        window = cloudwatch.readable(now, self.evaluation_periods)
        values = [self.metric.value(point) for point in window]
        present = [value for value in values if value is not None]
        if present:
            self.last_value = present[-1]
        missing = self.evaluation_periods - len(present)
        breaching = sum(self.comparison.breaches(value, self.threshold) for value in present)
        if self.treat_missing is MissingData.BREACHING:
            breaching += missing
        elif self.treat_missing is MissingData.MISSING and not present:
            self.state = AlarmState.INSUFFICIENT_DATA
            return self.state
        could_still_breach = breaching + (
            missing if self.treat_missing is MissingData.MISSING else 0
        )
        if breaching >= needed:
            self.state = AlarmState.ALARM
        elif could_still_breach < needed:
            self.state = AlarmState.OK
        # else: too few datapoints to decide either way, the state stays as it was.
        return self.state

    def describe(self) -> str:
        needed = self.datapoints_to_alarm or self.evaluation_periods
        return (
            f"{self.metric.name} {self.comparison.value} {self.threshold:g} for {needed} of "
            f"{self.evaluation_periods} datapoints"
        )
