"""The policies the simulator runs are the ones the stack deploys, with AWS's arithmetic."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

from modules.config import ConsumerSpec
from simulator.alarms import TRACKING_FLOOR, Alarm, Comparison
from simulator.autoscaling import (
    AdjustmentType,
    StepAdjustment,
    StepScalingPolicy,
    TargetTrackingPolicy,
)
from simulator.policies import MODES, STEP_ALARM_DATAPOINTS, mode_of
from simulator.timings import Timings
from tests.simulator.support import consumer, run

CONSTRUCT = Path(__file__).resolve().parents[2] / "modules/constructs/backlog_scaling.py"


def construct_constants() -> dict[str, object]:
    """Module-level NAME = literal assignments of the scaling construct, without importing cdktf."""
    tree = ast.parse(CONSTRUCT.read_text(encoding="utf-8"))
    constants: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants


def test_every_scaling_config_type_has_a_simulated_mode() -> None:
    config_types = set(get_args(ConsumerSpec.model_fields["scaling"].annotation))

    assert config_types == set(MODES)


def test_timings_and_floor_agree_with_the_deployed_construct() -> None:
    constants = construct_constants()
    timings = Timings()

    assert constants["SCALE_OUT_COOLDOWN_SECONDS"] == timings.backlog_scale_out_cooldown_seconds
    assert constants["SCALE_IN_COOLDOWN_SECONDS"] == timings.backlog_scale_in_cooldown_seconds
    assert constants["SCALE_FROM_ZERO_COOLDOWN_SECONDS"] == timings.scale_from_zero_cooldown_seconds
    assert constants["TRACKING_FLOOR"] == TRACKING_FLOOR
    assert constants["MINUTE"] == timings.metric_period_seconds


@pytest.mark.parametrize(
    ("min_tasks", "names"),
    [
        (0, ["BacklogPerTask", "ScaleOutFromZero", "ScaleInToZero"]),
        (1, ["BacklogPerTask"]),
    ],
)
def test_backlog_mode_adds_the_zero_steps_only_with_min_zero(
    min_tasks: int, names: list[str]
) -> None:
    spec = consumer({"mode": "backlog-per-task", "min_tasks": min_tasks})

    plan = mode_of(spec).plan(spec, Timings())

    assert [policy.name for policy in plan.policies] == names
    tracking = plan.policies[0]
    assert isinstance(tracking, TargetTrackingPolicy)
    assert tracking.target == spec.backlog_target == 50
    assert tracking.low.threshold == pytest.approx(45)  # 0.9 x target
    assert (tracking.high.evaluation_periods, tracking.low.evaluation_periods) == (3, 15)


def test_queue_depth_mode_is_the_reference_target_tracking() -> None:
    spec = consumer({"mode": "queue-depth"})

    plan = mode_of(spec).plan(spec, Timings())

    assert (plan.min_capacity, plan.max_capacity) == (1, 3)
    (tracking,) = plan.policies
    assert isinstance(tracking, TargetTrackingPolicy)
    assert tracking.target == 3
    assert (tracking.scale_out_cooldown, tracking.scale_in_cooldown) == (300, 300)


def _alarm(value: float, threshold: float, comparison: Comparison) -> Alarm:
    alarm = Alarm(
        "a",
        metric=None,
        comparison=comparison,
        threshold=threshold,  # type: ignore[arg-type]
        evaluation_periods=1,
    )
    alarm.last_value = value
    return alarm


def test_percent_change_rounds_as_the_user_guide_example() -> None:
    # Application Auto Scaling user guide, step scaling: threshold 50 %, capacity 10.
    out = StepScalingPolicy(
        "out",
        _alarm(0, 50, Comparison.GREATER_OR_EQUAL),
        AdjustmentType.PERCENT_CHANGE_IN_CAPACITY,
        (StepAdjustment(0, 10, 0), StepAdjustment(10, 20, 10), StepAdjustment(20, None, 30)),
        cooldown=0,
    )
    scale_in = StepScalingPolicy(
        "in",
        _alarm(0, 50, Comparison.LESS_OR_EQUAL),
        AdjustmentType.PERCENT_CHANGE_IN_CAPACITY,
        (StepAdjustment(-10, 0, 0), StepAdjustment(-20, -10, -10), StepAdjustment(None, -20, -30)),
        cooldown=0,
    )

    def at(policy: StepScalingPolicy, metric: float, capacity: int) -> int | None:
        policy.alarm.last_value = metric
        return policy.desired_capacity(policy.alarm, capacity)

    assert at(out, 60, 10) == 11  # +10 % of 10
    assert at(out, 70, 11) == 14  # +30 % of 11 = 3.3, rounded down
    assert at(scale_in, 40, 14) == 13  # -10 % of 14 = -1.4, rounded up to -1
    assert at(scale_in, 30, 13) == 10  # -30 % of 13 = -3.9 -> -3


def test_percent_change_below_one_rounds_away_from_zero_and_respects_min_magnitude() -> None:
    policy = StepScalingPolicy(
        "p",
        _alarm(1, 0, Comparison.GREATER),
        AdjustmentType.PERCENT_CHANGE_IN_CAPACITY,
        (StepAdjustment(0, None, 25),),
        cooldown=0,
        min_adjustment_magnitude=2,
    )

    assert policy.desired_capacity(policy.alarm, 4) == 6  # 25 % of 4 = 1, at least 2
    assert policy.desired_capacity(policy.alarm, 2) == 4  # 0.5 -> 1, at least 2


@pytest.mark.parametrize(
    ("capacity", "metric", "wanted"),
    [(1, 230, 5), (3, 50, None), (3, 150, 9), (0, 500, None), (10, 44, 9), (10, 0.001, 9)],
)
def test_target_tracking_asks_for_ceil_of_proportional_capacity(
    capacity: int, metric: float, wanted: int | None
) -> None:
    spec = consumer({"mode": "backlog-per-task"})
    tracking = mode_of(spec).plan(spec, Timings()).policies[0]
    assert isinstance(tracking, TargetTrackingPolicy)
    alarm = tracking.high if metric > tracking.target else tracking.low
    alarm.last_value = metric

    assert tracking.desired_capacity(alarm, capacity) == wanted


# --- mode steps ---------------------------------------------------------------------------------


def test_step_constants_agree_with_the_deployed_construct() -> None:
    constants = construct_constants()

    assert constants["STEP_COOLDOWN_SECONDS"] == Timings().step_cooldown_seconds
    assert constants["STEP_ALARM_MINUTES"] == STEP_ALARM_DATAPOINTS


def test_steps_mode_is_the_reference_step_list_with_a_high_backlog_policy() -> None:
    spec = consumer({"mode": "steps"})

    plan = mode_of(spec).plan(spec, Timings())

    assert (plan.min_capacity, plan.max_capacity) == (0, 50)
    out, scale_in, high = plan.policies
    assert isinstance(out, StepScalingPolicy)
    assert isinstance(scale_in, StepScalingPolicy)
    assert isinstance(high, StepScalingPolicy)
    assert (out.alarm.comparison, out.alarm.threshold) == (Comparison.GREATER_OR_EQUAL, 1)
    assert out.adjustment_type is AdjustmentType.CHANGE_IN_CAPACITY
    assert out.steps == (
        StepAdjustment(0, 4, 1),
        StepAdjustment(4, 9, 3),
        StepAdjustment(9, None, 5),
    )
    assert (scale_in.alarm.comparison, scale_in.alarm.threshold) == (Comparison.LESS_OR_EQUAL, 0)
    assert scale_in.steps == (StepAdjustment(None, 0, -1),)
    assert (high.alarm.comparison, high.alarm.threshold) == (Comparison.GREATER_OR_EQUAL, 100)
    assert high.adjustment_type is AdjustmentType.PERCENT_CHANGE_IN_CAPACITY
    assert high.steps == (StepAdjustment(0, None, 67),)
    assert {policy.alarm.evaluation_periods for policy in (out, scale_in, high)} == {1}


@pytest.mark.parametrize(
    ("policy_index", "capacity", "visible", "wanted"),
    [
        (0, 0, 1, 1),  # +1 from 1 visible: out of zero
        (0, 1, 4, 2),
        (0, 2, 5, 5),  # +3 from 5
        (0, 2, 9, 5),
        (0, 10, 10, 15),  # +5 from 10
        (0, 10, 150, 15),
        (1, 3, 0, 2),  # -1 at 0 visible
        (2, 10, 150, 16),  # +67 % of 10 = 6.7, rounded down
        (2, 1, 100, 2),  # +0.67 rounds up to 1
    ],
)
def test_steps_ask_for_the_reference_adjustments(
    policy_index: int, capacity: int, visible: int, wanted: int
) -> None:
    spec = consumer({"mode": "steps"})
    policy = mode_of(spec).plan(spec, Timings()).policies[policy_index]
    assert isinstance(policy, StepScalingPolicy)
    policy.alarm.last_value = visible

    assert policy.desired_capacity(policy.alarm, capacity) == wanted


def test_steps_start_tasks_for_a_burst_and_stop_them_all_when_it_is_handled() -> None:
    # Given the reference design's steps and a burst of 200 messages after 10 quiet minutes
    spec = consumer({"mode": "steps"})

    # When simulated for two hours
    result = run(spec, [600.0] * 200, hours=2)

    # Then every message is handled, the high-backlog policy took part, and no task is left
    assert len(result.latencies) == 200
    assert "HighBacklog" in {activity.policy for activity in result.activities}
    assert max(activity.to_capacity for activity in result.activities) > 5
    assert result.activities[-1].to_capacity == 0
