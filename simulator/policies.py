"""The scaling policy a service.yaml declares, as Application Auto Scaling will run it.

One class per scaling mode turns the typed config (modules/config.py) into a
`ScalingPlan`: min, max and the policies with their alarms, matching what the stack
deploys (modules/constructs/backlog_scaling.py). `MODES` maps each config type to its
class; a new mode (e.g. a `steps` list) is one new class and one entry there.
Each class also tells the capacity planner which knobs it may turn, and how to write the
result back as a `scaling:` block.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, get_args

from modules.config import BacklogPerTaskScaling, QueueDepthScaling
from simulator.alarms import (
    BACKLOG_PER_TASK,
    IDLE,
    VISIBLE,
    VISIBLE_WITH_NO_TASK,
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

__all__ = ["MODES", "BacklogPerTaskMode", "PolicyMode", "QueueDepthMode", "ScalingPlan", "mode_of"]


@dataclass(frozen=True)
class ScalingPlan:
    min_capacity: int
    max_capacity: int
    policies: list[ScalingPolicy]
    label: str


def _target_tracking(
    name: str, metric: MetricExpression, target: float, timings: Timings, floor: int
) -> TargetTrackingPolicy:
    """Target tracking with the two alarms Application Auto Scaling creates for it."""
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
        scale_out_cooldown=timings.target_tracking_scale_out_cooldown_seconds,
        scale_in_cooldown=timings.target_tracking_scale_in_cooldown_seconds,
        floor=floor,
    )


class PolicyMode(ABC):
    """How one `scaling.mode` is simulated and tuned."""

    config_type: ClassVar[type[BaseModel]]

    @classmethod
    @abstractmethod
    def plan(cls, spec: ConsumerSpec, timings: Timings) -> ScalingPlan: ...

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


_MAX_TASKS_TRIED = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30)


class BacklogPerTaskMode(PolicyMode):
    """Target tracking on backlog per task, a 0 -> 1 step, and scale to zero when idle."""

    config_type = BacklogPerTaskScaling

    @classmethod
    def plan(cls, spec: ConsumerSpec, timings: Timings) -> ScalingPlan:
        scaling = spec.scaling
        assert isinstance(scaling, BacklogPerTaskScaling)
        target = spec.backlog_target
        tracking = _target_tracking("BacklogPerTask", BACKLOG_PER_TASK, target, timings, floor=1)
        # Target tracking computes 0 from 0 tasks: this step starts the first one.
        zero_to_one = StepScalingPolicy(
            name="ScaleFromZero",
            alarm=Alarm(
                "VisibleWithNoTask",
                VISIBLE_WITH_NO_TASK,
                Comparison.GREATER,
                0,
                1,
                treat_missing=MissingData.NOT_BREACHING,
            ),
            adjustment_type=AdjustmentType.EXACT_CAPACITY,
            steps=(StepAdjustment(lower=0, upper=None, adjustment=1),),
            cooldown=timings.step_scaling_cooldown_seconds,
        )
        # Nothing visible or in flight for idle_minutes: no task has work, stop them all.
        to_zero = StepScalingPolicy(
            name="ScaleToZero",
            alarm=Alarm(
                "Idle",
                IDLE,
                Comparison.LESS_OR_EQUAL,
                0,
                scaling.idle_minutes,
                treat_missing=MissingData.MISSING,
            ),
            adjustment_type=AdjustmentType.EXACT_CAPACITY,
            steps=(StepAdjustment(lower=None, upper=0, adjustment=0),),
            cooldown=timings.step_scaling_cooldown_seconds,
        )
        policies: list[ScalingPolicy] = [tracking, zero_to_one]
        if scaling.min_tasks == 0:
            policies.append(to_zero)
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
    """The seed's policy: target tracking on ApproximateNumberOfMessagesVisible."""

    config_type = QueueDepthScaling

    @classmethod
    def plan(cls, spec: ConsumerSpec, timings: Timings) -> ScalingPlan:
        scaling = spec.scaling
        assert isinstance(scaling, QueueDepthScaling)
        tracking = _target_tracking(
            "QueueDepth", VISIBLE, scaling.target_visible_messages, timings, floor=0
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


MODES: dict[type[BaseModel], type[PolicyMode]] = {
    BacklogPerTaskScaling: BacklogPerTaskMode,
    QueueDepthScaling: QueueDepthMode,
}


def mode_of(spec: ConsumerSpec) -> type[PolicyMode]:
    try:
        return MODES[type(spec.scaling)]
    except KeyError:
        raise NotImplementedError(
            f"the simulator has no model of scaling mode {type(spec.scaling).__name__}; "
            "add a PolicyMode to simulator/policies.py MODES"
        ) from None
