"""Application Auto Scaling for one ECS service: policies, capacity arithmetic, cooldowns.

What is modelled, each from the Application Auto Scaling User Guide (see timings.py):
- Target tracking computes the capacity that would bring the metric to its target,
  `ceil(capacity x metric / target)`: rounding up adds enough and removes too little, never
  the reverse [AAS-TT]. Its capacity is the scalable dimension, the service's desired count;
  at 0 it computes 0, so it cannot scale out from zero. It "scales in more gradually"
  [AAS-TT]: one scale-in removes at most `target_tracking_scale_in_max_ratio` of the capacity
  (at least one task), the next one a scale-in cooldown later if AlarmLow still holds
  (an assumption: AWS gives no number; timings.py).
- Step scaling picks the step whose bounds (relative to the alarm threshold) hold the
  metric, and applies ChangeInCapacity, ExactCapacity or PercentChangeInCapacity with the
  documented rounding and MinAdjustmentMagnitude.
- Cooldowns, per policy. During a scale-out cooldown a policy computes from the capacity
  it had before the scale-out that started the cooldown, so it only adds capacity when the
  new answer is larger. A scale-in cooldown blocks that policy's scale-ins; any scale-out
  ends every scale-in cooldown at once.
- Several policies at once: any scale-out wins over scale-ins, and among proposals in the
  same direction the largest capacity wins. Min and max clamp every result.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from simulator.alarms import AlarmState, Comparison

if TYPE_CHECKING:
    from simulator.alarms import Alarm
    from simulator.metrics import CloudWatch

__all__ = [
    "AdjustmentType",
    "ScalableTarget",
    "ScalingActivity",
    "ScalingPolicy",
    "StepAdjustment",
    "StepScalingPolicy",
    "TargetTrackingPolicy",
]

# ceil() of a ratio computed in floating point: 3 x 50 / 50 must stay 3, not become 4.
_EPSILON = 1e-9


class ScalingPolicy(ABC):
    """One Application Auto Scaling policy with the alarms that invoke it."""

    name: str
    scale_out_cooldown: float
    scale_in_cooldown: float

    @property
    @abstractmethod
    def alarms(self) -> list[Alarm]: ...

    @abstractmethod
    def desired_capacity(self, alarm: Alarm, capacity: int) -> int | None:
        """The capacity this policy asks for when `alarm` invokes it, or None for no change."""

    @abstractmethod
    def describe(self) -> str: ...


@dataclass
class TargetTrackingPolicy(ScalingPolicy):
    """Keeps `metric` near `target` through an AlarmHigh and an AlarmLow it owns."""

    name: str
    high: Alarm
    low: Alarm
    target: float
    scale_out_cooldown: float
    scale_in_cooldown: float
    scale_in_max_ratio: float = 1.0

    @property
    def alarms(self) -> list[Alarm]:
        return [self.high, self.low]

    def desired_capacity(self, alarm: Alarm, capacity: int) -> int | None:
        if alarm.last_value is None:
            return None
        wanted = math.ceil(capacity * alarm.last_value / self.target - _EPSILON)
        if alarm is self.high:
            return wanted if wanted > capacity else None
        if wanted >= capacity:
            return None
        step = max(1, math.floor(capacity * self.scale_in_max_ratio + _EPSILON))
        return max(wanted, capacity - step)

    def describe(self) -> str:
        return f"target tracking: {self.high.metric.name} at {self.target:g}"


class AdjustmentType(Enum):
    CHANGE_IN_CAPACITY = "ChangeInCapacity"
    EXACT_CAPACITY = "ExactCapacity"
    PERCENT_CHANGE_IN_CAPACITY = "PercentChangeInCapacity"


@dataclass(frozen=True)
class StepAdjustment:
    """Bounds relative to the alarm threshold; None is minus or plus infinity."""

    lower: float | None
    upper: float | None
    adjustment: int


@dataclass
class StepScalingPolicy(ScalingPolicy):
    name: str
    alarm: Alarm
    adjustment_type: AdjustmentType
    steps: tuple[StepAdjustment, ...]
    cooldown: float
    min_adjustment_magnitude: int | None = None

    @property
    def alarms(self) -> list[Alarm]:
        return [self.alarm]

    @property
    def scale_out_cooldown(self) -> float:  # type: ignore[override]
        return self.cooldown

    @property
    def scale_in_cooldown(self) -> float:  # type: ignore[override]
        return self.cooldown

    def desired_capacity(self, alarm: Alarm, capacity: int) -> int | None:
        if alarm.last_value is None:
            return None
        above = alarm.comparison in (Comparison.GREATER, Comparison.GREATER_OR_EQUAL)
        step = self._step(alarm.last_value - alarm.threshold, above)
        if step is None:
            return None
        return self._apply(step.adjustment, capacity)

    def _step(self, breach: float, above: bool) -> StepAdjustment | None:
        # For an alarm on values above its threshold the lower bound is inclusive and the
        # upper exclusive; for one on values below it, the reverse (so `upper: 0` matches a
        # metric equal to a `<=` threshold).
        for step in self.steps:
            lower = -math.inf if step.lower is None else step.lower
            upper = math.inf if step.upper is None else step.upper
            inside = lower <= breach < upper if above else lower < breach <= upper
            if inside:
                return step
        return None

    def _apply(self, adjustment: int, capacity: int) -> int:
        if self.adjustment_type is AdjustmentType.EXACT_CAPACITY:
            return adjustment
        if self.adjustment_type is AdjustmentType.CHANGE_IN_CAPACITY:
            return capacity + adjustment
        change = capacity * adjustment / 100
        # Documented rounding: > 1 down, (0, 1) to 1, (-1, 0) to -1, < -1 up.
        if change > 1 or change < -1:
            rounded = math.trunc(change)
        elif change > 0:
            rounded = 1
        elif change < 0:
            rounded = -1
        else:
            rounded = 0
        if self.min_adjustment_magnitude and rounded:
            rounded = int(math.copysign(max(abs(rounded), self.min_adjustment_magnitude), rounded))
        return capacity + rounded

    def describe(self) -> str:
        return f"step scaling: {self.alarm.describe()}"


@dataclass(frozen=True)
class ScalingActivity:
    at: float
    policy: str
    from_capacity: int
    to_capacity: int


@dataclass
class _Cooldown:
    scale_out_until: float = -math.inf
    scale_out_base: int = 0
    scale_in_until: float = -math.inf


@dataclass
class ScalableTarget:
    """`ecs:service:DesiredCount` with its min, max and policies."""

    min_capacity: int
    max_capacity: int
    policies: list[ScalingPolicy]
    desired: int = 0
    activities: list[ScalingActivity] = field(default_factory=list)
    _cooldowns: dict[str, _Cooldown] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.desired = self.min_capacity
        self._cooldowns = {policy.name: _Cooldown() for policy in self.policies}

    def evaluate(self, cloudwatch: CloudWatch, now: float) -> int:
        """Evaluate every alarm, invoke the policies of those in ALARM; the new desired count."""
        outs: list[tuple[int, ScalingPolicy, int]] = []
        ins: list[tuple[int, ScalingPolicy]] = []
        capacity = self.desired
        for policy in self.policies:
            cooldown = self._cooldowns[policy.name]
            for alarm in policy.alarms:
                if alarm.evaluate(cloudwatch, now) is not AlarmState.ALARM:
                    continue
                wanted = self._clamp(policy.desired_capacity(alarm, capacity))
                if wanted is None or wanted == capacity:
                    continue
                if wanted < capacity:
                    if now >= cooldown.scale_in_until:
                        ins.append((wanted, policy))
                    continue
                base = capacity
                if now < cooldown.scale_out_until:
                    # The capacity the cooldown's scale-out added counts as already there.
                    base = cooldown.scale_out_base
                    wanted = self._clamp(policy.desired_capacity(alarm, base))
                    if wanted is None or wanted <= capacity:
                        continue
                outs.append((wanted, policy, base))
        if outs:
            wanted, policy, base = max(outs, key=lambda proposal: proposal[0])
            self._set(now, policy, wanted)
            cooldown = self._cooldowns[policy.name]
            if now >= cooldown.scale_out_until:
                cooldown.scale_out_base = base
            cooldown.scale_out_until = now + policy.scale_out_cooldown
            for other in self._cooldowns.values():
                other.scale_in_until = -math.inf
        elif ins:
            wanted, policy = max(ins, key=lambda proposal: proposal[0])
            self._set(now, policy, wanted)
            self._cooldowns[policy.name].scale_in_until = now + policy.scale_in_cooldown
        return self.desired

    def _clamp(self, wanted: int | None) -> int | None:
        return None if wanted is None else min(max(wanted, self.min_capacity), self.max_capacity)

    def _set(self, now: float, policy: ScalingPolicy, wanted: int) -> None:
        self.activities.append(ScalingActivity(now, policy.name, self.desired, wanted))
        self.desired = wanted
