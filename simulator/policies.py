"""The scaling policy a service.yaml declares, as Application Auto Scaling will run it.

One class per scaling mode turns the typed config (modules/config/scaling.py) into a
`ScalingPlan`: min, max and the policies with their alarms, matching what the stack
deploys (modules/constructs/backlog_scaling.py). `MODES` maps each config type to its
class; a new mode is one new class and one entry there.
Each class also tells the capacity planner which knobs it may turn, and how to write the
result back as a `scaling:` block.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, get_args

from modules.config import (
    BacklogPerTaskScaling,
    QueueDepthScaling,
    StepAdjustmentBounds,
    StepPolicyBounds,
    StepScaling,
)
from simulator.alarms import (
    BACKLOG_PER_TASK,
    MESSAGES_IN_QUEUE,
    VISIBLE,
    WAITING_UNRECEIVED,
    WAITING_WITHOUT_TASKS,
    Alarm,
    Comparison,
    MetricExpression,
    MissingData,
)
from simulator.autoscaling import (
    AdjustmentType,
    ScalingPolicy,
    StepAdjustment,
    StepScalingPolicy,
    TargetTrackingPolicy,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pydantic import BaseModel

    from modules.config import ConsumerSpec
    from simulator.timings import Timings

__all__ = [
    "MODES",
    "BacklogPerTaskMode",
    "FromZeroAlarm",
    "PolicyMode",
    "QueueDepthMode",
    "ScalingPlan",
    "StepsMode",
    "UnsupportedModeError",
    "mode_of",
]


@dataclass(frozen=True)
class ScalingPlan:
    min_capacity: int
    max_capacity: int
    policies: list[ScalingPolicy]
    label: str

    @property
    def alarm_metrics(self) -> int:
        """CloudWatch bills alarms per metric they read: this plan's count (cost.py)."""
        return sum(alarm.metric.metrics for policy in self.policies for alarm in policy.alarms)


class FromZeroAlarm(Enum):
    """Which alarm starts the first task of a min-0 service.

    SQS: "messages visible and none in flight", on SQS metrics alone (what the stack deploys).
    RUNNING_TASKS: "messages visible and RunningTaskCount 0", the former design, which needs
    Container Insights to report 0 for a service with no task (simulate --idle-task-metric).
    """

    SQS = "sqs"
    RUNNING_TASKS = "running-tasks"


def _target_tracking(
    name: str,
    metric: MetricExpression,
    target: float,
    timings: Timings,
    cooldowns: tuple[float, float],
) -> TargetTrackingPolicy:
    """Target tracking with the two alarms Application Auto Scaling creates for it."""
    scale_out_cooldown, scale_in_cooldown = cooldowns
    return TargetTrackingPolicy(
        name=name,
        high=Alarm(
            f"{name}-AlarmHigh",
            metric,
            Comparison.GREATER,
            target,
            timings.target_tracking_scale_out_datapoints,
        ),
        low=Alarm(
            f"{name}-AlarmLow",
            metric,
            Comparison.LESS,
            target * timings.target_tracking_scale_in_ratio,
            timings.target_tracking_scale_in_datapoints,
        ),
        target=target,
        scale_out_cooldown=scale_out_cooldown,
        scale_in_cooldown=scale_in_cooldown,
        scale_in_max_ratio=timings.target_tracking_scale_in_max_ratio,
    )


class PolicyMode(ABC):
    """How one `scaling.mode` is simulated and tuned."""

    config_type: ClassVar[type[BaseModel]]

    @classmethod
    @abstractmethod
    def plan(
        cls, spec: ConsumerSpec, timings: Timings, from_zero: FromZeroAlarm = FromZeroAlarm.SQS
    ) -> ScalingPlan: ...

    @classmethod
    @abstractmethod
    def knobs(cls, spec: ConsumerSpec) -> Iterator[dict[str, Any]]:
        """Scaling-field updates the capacity planner tries (target value x max tasks)."""

    @classmethod
    def default_config(cls) -> BaseModel:
        """This mode with every default (for --compare-modes)."""
        # `mode` is a one-value Literal (required for some modes): pass that value.
        (mode,) = get_args(cls.config_type.model_fields["mode"].annotation)
        return cls.config_type.model_validate({"mode": mode})

    @classmethod
    def with_updates(cls, spec: ConsumerSpec, updates: dict[str, Any]) -> ConsumerSpec:
        """`spec` with its scaling block changed, validated like a service.yaml would be."""
        scaling = cls.config_type.model_validate({**spec.scaling.model_dump(), **updates})
        return spec.model_copy(update={"scaling": scaling})


def _scale_to_zero(
    idle_minutes: int, timings: Timings, from_zero_alarm: FromZeroAlarm
) -> list[ScalingPolicy]:
    """The two step policies that take a min-0 service out of and back into 0 tasks."""
    # Target tracking computes 0 from 0 tasks: this one starts the first task (+1).
    waiting = WAITING_UNRECEIVED if from_zero_alarm is FromZeroAlarm.SQS else WAITING_WITHOUT_TASKS
    from_zero = StepScalingPolicy(
        name="ScaleOutFromZero",
        alarm=Alarm(
            "MessagesWaitingUnreceived",
            waiting,
            Comparison.GREATER_OR_EQUAL,
            1,
            1,
            treat_missing=MissingData.NOT_BREACHING,
        ),
        adjustment_type=AdjustmentType.CHANGE_IN_CAPACITY,
        steps=(StepAdjustment(lower=0, upper=None, adjustment=1),),
        cooldown=timings.scale_from_zero_cooldown_seconds,
    )
    # Nothing visible or in flight for idle_minutes: no task has work, stop them all.
    to_zero = StepScalingPolicy(
        name="ScaleInToZero",
        alarm=Alarm(
            "Idle",
            MESSAGES_IN_QUEUE,
            Comparison.LESS,
            1,
            idle_minutes,
            treat_missing=MissingData.NOT_BREACHING,
        ),
        adjustment_type=AdjustmentType.EXACT_CAPACITY,
        steps=(StepAdjustment(lower=None, upper=0, adjustment=0),),
        cooldown=timings.scale_to_zero_cooldown_seconds,
    )
    return [from_zero, to_zero]


_MAX_TASKS_TRIED = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30)


class BacklogPerTaskMode(PolicyMode):
    """Target tracking on backlog per task, a 0 -> 1 step, and scale to zero when idle."""

    config_type = BacklogPerTaskScaling

    @classmethod
    def plan(
        cls, spec: ConsumerSpec, timings: Timings, from_zero: FromZeroAlarm = FromZeroAlarm.SQS
    ) -> ScalingPlan:
        scaling = spec.scaling
        assert isinstance(scaling, BacklogPerTaskScaling)
        target = spec.backlog_target
        # Its metric is floored above 0 (alarms.TRACKING_FLOOR): it never computes 0 tasks.
        tracking = _target_tracking(
            "BacklogPerTask",
            BACKLOG_PER_TASK,
            target,
            timings,
            (timings.backlog_scale_out_cooldown_seconds, timings.backlog_scale_in_cooldown_seconds),
        )
        policies: list[ScalingPolicy] = [tracking]
        if scaling.min_tasks == 0:
            policies += _scale_to_zero(scaling.idle_minutes, timings, from_zero)
        label = (
            f"backlog-per-task (target {target:g}/task, {scaling.min_tasks}-{scaling.max_tasks}"
            " tasks)"
        )
        return ScalingPlan(scaling.min_tasks, scaling.max_tasks, policies, label)

    @classmethod
    def knobs(cls, spec: ConsumerSpec) -> Iterator[dict[str, Any]]:
        scaling = spec.scaling
        assert isinstance(scaling, BacklogPerTaskScaling)
        # The target is latency / processing time x concurrency: tune the latency budget.
        processing = scaling.processing_time_seconds
        latencies = sorted(
            {max(int(processing * factor + 0.999), 1) for factor in (1, 1.5, 2, 3, 5, 8, 12)}
        )
        for latency in latencies:
            for max_tasks in _MAX_TASKS_TRIED:
                if max_tasks >= max(scaling.min_tasks, 1):
                    yield {"acceptable_latency_seconds": latency, "max_tasks": max_tasks}


class QueueDepthMode(PolicyMode):
    """The reference design's policy: target tracking on ApproximateNumberOfMessagesVisible."""

    config_type = QueueDepthScaling

    @classmethod
    def plan(
        cls, spec: ConsumerSpec, timings: Timings, from_zero: FromZeroAlarm = FromZeroAlarm.SQS
    ) -> ScalingPlan:
        scaling = spec.scaling
        assert isinstance(scaling, QueueDepthScaling)
        tracking = _target_tracking(
            "QueueDepth",
            VISIBLE,
            scaling.target_visible_messages,
            timings,
            (timings.default_scale_out_cooldown_seconds, timings.default_scale_in_cooldown_seconds),
        )
        label = (
            f"queue-depth (target {scaling.target_visible_messages} visible, "
            f"{scaling.min_tasks}-{scaling.max_tasks} tasks)"
        )
        return ScalingPlan(scaling.min_tasks, scaling.max_tasks, [tracking], label)

    @classmethod
    def knobs(cls, spec: ConsumerSpec) -> Iterator[dict[str, Any]]:
        scaling = spec.scaling
        assert isinstance(scaling, QueueDepthScaling)
        for target in (1, 2, 3, 5, 10, 20, 50, 100):
            for max_tasks in _MAX_TASKS_TRIED:
                if max_tasks >= max(scaling.min_tasks, 1):
                    yield {"target_visible_messages": target, "max_tasks": max_tasks}


# modules/constructs/backlog_scaling.py STEP_ALARM_MINUTES: a step alarm acts on one datapoint.
STEP_ALARM_DATAPOINTS = 1


def _step_policy(
    name: str,
    comparison: Comparison,
    adjustment_type: AdjustmentType,
    bounds: StepPolicyBounds,
    timings: Timings,
) -> StepScalingPolicy:
    """A step policy of mode `steps`: a one-minute alarm on visible messages and its steps."""
    return StepScalingPolicy(
        name=name,
        alarm=Alarm(
            name,
            VISIBLE,
            comparison,
            bounds.threshold,
            STEP_ALARM_DATAPOINTS,
            treat_missing=MissingData.NOT_BREACHING,
        ),
        adjustment_type=adjustment_type,
        steps=tuple(
            StepAdjustment(step.lower, step.upper, step.change) for step in bounds.adjustments
        ),
        cooldown=timings.step_cooldown_seconds,
    )


class StepsMode(PolicyMode):
    """The reference design's step policy: steps on visible messages, and a percentage for a
    high backlog."""

    config_type = StepScaling

    @classmethod
    def plan(
        cls, spec: ConsumerSpec, timings: Timings, from_zero: FromZeroAlarm = FromZeroAlarm.SQS
    ) -> ScalingPlan:
        scaling = spec.scaling
        assert isinstance(scaling, StepScaling)
        policies: list[ScalingPolicy] = [
            _step_policy(
                "StepScaleOut",
                Comparison.GREATER_OR_EQUAL,
                AdjustmentType.CHANGE_IN_CAPACITY,
                scaling.scale_out,
                timings,
            )
        ]
        if scaling.scale_in is not None:
            policies.append(
                _step_policy(
                    "StepScaleIn",
                    Comparison.LESS_OR_EQUAL,
                    AdjustmentType.CHANGE_IN_CAPACITY,
                    scaling.scale_in,
                    timings,
                )
            )
        high = scaling.high_backlog
        if high is not None:
            policies.append(
                _step_policy(
                    "HighBacklog",
                    Comparison.GREATER_OR_EQUAL,
                    AdjustmentType.PERCENT_CHANGE_IN_CAPACITY,
                    StepPolicyBounds(
                        high.visible_messages, (StepAdjustmentBounds(0, None, high.add_percent),)
                    ),
                    timings,
                )
            )
        steps = ", ".join(f"{step.change:+d} from {step.at_least}" for step in scaling.steps)
        surge = f"; +{high.add_percent} % from {high.visible_messages}" if high else ""
        label = f"steps ({steps}{surge}; {scaling.min_tasks}-{scaling.max_tasks} tasks)"
        return ScalingPlan(scaling.min_tasks, scaling.max_tasks, policies, label)

    @classmethod
    def knobs(cls, spec: ConsumerSpec) -> Iterator[dict[str, Any]]:
        scaling = spec.scaling
        assert isinstance(scaling, StepScaling)
        # The steps are the user's; the planner tries where the percentage policy starts (or
        # none) and the ceiling.
        top = scaling.steps[-1].at_least
        add_percent = scaling.high_backlog.add_percent if scaling.high_backlog else 67
        surges: list[dict[str, int] | None] = [None]
        surges += [
            {"visible_messages": visible, "add_percent": add_percent}
            for visible in (20, 50, 100, 200, 500)
            if visible > top
        ]
        for surge in surges:
            for max_tasks in (*_MAX_TASKS_TRIED, 50):
                if max_tasks >= max(scaling.min_tasks, 1):
                    yield {"high_backlog": surge, "max_tasks": max_tasks}


MODES: dict[type[BaseModel], type[PolicyMode]] = {
    BacklogPerTaskScaling: BacklogPerTaskMode,
    QueueDepthScaling: QueueDepthMode,
    StepScaling: StepsMode,
}


class UnsupportedModeError(ValueError):
    """A scaling mode the simulator has no model of yet."""


def mode_of(spec: ConsumerSpec) -> type[PolicyMode]:
    try:
        return MODES[type(spec.scaling)]
    except KeyError:
        raise UnsupportedModeError(
            f"the simulator has no model of scaling mode {type(spec.scaling).__name__}; "
            "add a PolicyMode to simulator/policies.py MODES"
        ) from None
