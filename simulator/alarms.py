"""CloudWatch metric alarms: M of N datapoints against a threshold, with missing data.

An alarm reads the latest N readable datapoints (metrics.py) at each evaluation and goes
to ALARM when at least M of them breach, to OK when too few can breach, and to
INSUFFICIENT_DATA when it has no datapoint at all (treat_missing_data = missing, the
default, and what target tracking alarms use). While in ALARM it invokes its scaling
policy at every evaluation [CW-ALARM in timings.py].
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, replace
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
    "WAITING_UNRECEIVED",
    "WAITING_WITHOUT_TASKS",
    "Alarm",
    "AlarmState",
    "Comparison",
    "MetricExpression",
    "MissingData",
    "filled",
]


@dataclass(frozen=True)
class MetricExpression:
    """A CloudWatch metric or metric-math expression over one period's datapoint.

    `metrics`: how many CloudWatch metrics it reads (an alarm is billed per metric).
    `fills`: the deployed expression wraps each metric in FILL(metric, 0). FILL gives a missing
    minute the value 0 when the metric has other datapoints in the alarm's window; a metric with
    no datapoint in the whole window has nothing to fill, and the expression yields no data
    (assumption: AWS does not document FILL of an empty series; this is the cautious reading).
    """

    name: str
    value: Callable[[Datapoint], float | None]
    metrics: int
    fills: bool = True


def filled(window: list[Datapoint]) -> list[Datapoint]:
    """`window` as FILL(metric, 0) sees it: gaps of a metric that has data in it become 0."""
    if all(p.visible is not None and p.running is not None for p in window) and all(
        p.in_flight is not None for p in window
    ):
        return window  # the usual case, and the cheap one: nothing to fill
    names = ("visible", "in_flight", "running")
    fillable = {
        name
        for name in names
        if any(getattr(p, name) is None for p in window)
        and any(getattr(p, name) is not None for p in window)
    }
    return [
        replace(point, **{name: 0.0 for name in fillable if getattr(point, name) is None})
        if any(getattr(point, name) is None for name in fillable)
        else point
        for point in window
    ]


def _visible(point: Datapoint) -> float | None:
    return point.visible


def _backlog_per_task(point: Datapoint) -> float | None:
    # IF(running > 1, visible / running, visible), i.e. visible / max(running, 1), floored at
    # TRACKING_FLOOR so that target tracking's ceil(capacity x metric / target) stays >= 1.
    if point.visible is None or point.running is None:
        return None
    return max(point.visible / max(point.running, 1.0), TRACKING_FLOOR)


def _waiting_unreceived(point: Datapoint) -> float | None:
    # IF(visible > 0 AND in_flight == 0, 1, 0): messages wait and nobody is receiving. SQS
    # metrics alone: it does not matter what RunningTaskCount reports for a service at 0.
    if point.visible is None or point.in_flight is None:
        return None
    return 1.0 if point.visible > 0 and point.in_flight == 0 else 0.0


def _waiting_without_tasks(point: Datapoint) -> float | None:
    # IF(visible > 0 AND running == 0, 1, 0): the former scale-from-zero alarm, kept to show
    # that it never fires when RunningTaskCount reports nothing for a service at 0.
    if point.visible is None or point.running is None:
        return None
    return 1.0 if point.visible > 0 and point.running == 0 else 0.0


def _messages_in_queue(point: Datapoint) -> float | None:
    # FILL(visible, 0) + FILL(in_flight, 0); no SQS datapoint at all is missing data.
    if point.visible is None or point.in_flight is None:
        return None
    return point.visible + point.in_flight


# modules/constructs/backlog_scaling.py TRACKING_FLOOR (tests/simulator checks they agree).
TRACKING_FLOOR = 0.001
VISIBLE = MetricExpression("ApproximateNumberOfMessagesVisible", _visible, 1, fills=False)
BACKLOG_PER_TASK = MetricExpression("visible / max(running tasks, 1)", _backlog_per_task, 2)
WAITING_UNRECEIVED = MetricExpression("1 if visible > 0 and none in flight", _waiting_unreceived, 2)
WAITING_WITHOUT_TASKS = MetricExpression(
    "1 if visible > 0 and no task runs", _waiting_without_tasks, 2
)
MESSAGES_IN_QUEUE = MetricExpression("visible + in flight", _messages_in_queue, 2)


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
        if self.metric.fills:
            window = filled(window)
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
