"""Scaling mode `steps`: the reference design's step policy, its configurable steps and the
high-backlog policy, as the consumer stack synthesizes them (and as Terraform validates them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from devtools.terraform_offline import OfflineValidator, Toolchain, ToolchainMissing
from tests.infra.stack_json import (
    ALARM,
    SCALABLE_TARGET,
    SCALING_POLICY,
    SERVICE,
    named,
    only_resource,
    queue_ref,
    reference,
    resources,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.infra.stack_json import Stack


def step_policies(stack: Stack) -> dict[str, dict[str, Any]]:
    """Step scaling policies by name: their adjustment type, cooldown and step adjustments."""
    found = {}
    for body in resources(stack, SCALING_POLICY).values():
        assert body["policy_type"] == "StepScaling"
        found[body["name"]] = body["step_scaling_policy_configuration"]
    return found


def alarm_of(stack: Stack, policy_name: str) -> dict[str, Any]:
    """The alarm whose action is the policy named `policy_name`."""
    logical_id, _ = named(stack, SCALING_POLICY, policy_name)
    (body,) = [
        body
        for body in resources(stack, ALARM).values()
        if body.get("alarm_actions") == [reference(SCALING_POLICY, logical_id, "arn")]
    ]
    return body


def steps(*bounds: tuple[str | None, str | None, int]) -> list[dict[str, Any]]:
    """Step adjustments as cdk.tf.json holds them (absent bounds are infinite)."""
    return [
        {
            key: value
            for key, value in (
                ("metric_interval_lower_bound", lower),
                ("metric_interval_upper_bound", upper),
                ("scaling_adjustment", change),
            )
            if value is not None
        }
        for lower, upper, change in bounds
    ]


@pytest.fixture
def default_steps(consumer_with_scaling: Callable[[dict[str, Any]], Stack]) -> Stack:
    """The consumer stack with `scaling: {mode: steps}`: every default, the reference design's."""
    return consumer_with_scaling({"mode": "steps"})


def test_default_steps_scale_between_0_and_50_tasks_from_0(default_steps: Stack) -> None:
    # Given the default steps mode
    # When synthesized
    target = only_resource(default_steps, SCALABLE_TARGET)

    # Then the service scales between 0 and 50 tasks and starts at 0
    assert (target["min_capacity"], target["max_capacity"]) == (0, 50)
    assert named(default_steps, SERVICE, "workers-consumer")[1]["desired_count"] == 0


def test_default_steps_are_the_reference_step_list(default_steps: Stack) -> None:
    # Given the default steps mode
    # When synthesized
    policies = step_policies(default_steps)

    # Then +1 from 1, +3 from 5, +5 from 10 visible (bounds relative to the threshold 1), and -1
    # at 0 visible (threshold 0, bound inclusive), each a minute apart at most
    assert policies["workers-consumer-step-scale-out"] == {
        "adjustment_type": "ChangeInCapacity",
        "cooldown": 60,
        "metric_aggregation_type": "Maximum",
        "step_adjustment": steps(("0", "4", 1), ("4", "9", 3), ("9", None, 5)),
    }
    assert policies["workers-consumer-step-scale-in"] == {
        "adjustment_type": "ChangeInCapacity",
        "cooldown": 60,
        "metric_aggregation_type": "Maximum",
        "step_adjustment": steps((None, "0", -1)),
    }


def test_a_high_backlog_adds_67_percent_of_the_running_tasks(default_steps: Stack) -> None:
    # Given the default steps mode (high backlog from 100 visible messages)
    # When synthesized
    policy = step_policies(default_steps)["workers-consumer-high-backlog"]
    alarm = alarm_of(default_steps, "workers-consumer-high-backlog")

    # Then a percentage step fires at 100 or more visible messages
    assert policy == {
        "adjustment_type": "PercentChangeInCapacity",
        "cooldown": 60,
        "metric_aggregation_type": "Maximum",
        "step_adjustment": steps(("0", None, 67)),
    }
    assert (alarm["comparison_operator"], alarm["threshold"]) == (
        "GreaterThanOrEqualToThreshold",
        100,
    )


@pytest.mark.parametrize(
    ("policy", "comparison", "threshold"),
    [
        ("workers-consumer-step-scale-out", "GreaterThanOrEqualToThreshold", 1),
        ("workers-consumer-step-scale-in", "LessThanOrEqualToThreshold", 0),
    ],
)
def test_each_step_policy_has_a_one_minute_alarm_on_visible_messages(
    default_steps: Stack, policy: str, comparison: str, threshold: int
) -> None:
    # Given the default steps mode
    # When synthesized
    alarm = alarm_of(default_steps, policy)

    # Then the alarm reads the queue's largest visible count of each minute, acts on one
    # datapoint, and changes nothing without data
    assert {key: value for key, value in alarm.items() if key != "//"} == {
        "alarm_name": policy,
        "alarm_description": alarm["alarm_description"],
        "namespace": "AWS/SQS",
        "metric_name": "ApproximateNumberOfMessagesVisible",
        "dimensions": {"QueueName": queue_ref(default_steps, "workers-consumer", "name")},
        "statistic": "Maximum",
        "period": 60,
        "comparison_operator": comparison,
        "threshold": threshold,
        "evaluation_periods": 1,
        "datapoints_to_alarm": 1,
        "treat_missing_data": "notBreaching",
        "alarm_actions": alarm["alarm_actions"],
    }


def test_configured_steps_and_no_high_backlog(
    consumer_with_scaling: Callable[[dict[str, Any]], Stack],
) -> None:
    # Given steps that remove 5 below 3 visible, 1 below 10, hold below 20, add 2 from 20, and
    # no high-backlog policy
    scaling = {
        "mode": "steps",
        "min_tasks": 1,
        "max_tasks": 8,
        "steps": [
            {"at_least": 0, "change": -5},
            {"at_least": 3, "change": -1},
            {"at_least": 10, "change": 0},
            {"at_least": 20, "change": 2},
        ],
        "high_backlog": None,
    }

    # When synthesized
    stack = consumer_with_scaling(scaling)
    policies = step_policies(stack)

    # Then scale-out starts at 20; scale-in covers 9 visible and fewer (threshold 9): counts
    # 0-2 are 7 or more below it, counts 3-9 less; the hold band has no alarm at all
    assert sorted(policies) == ["workers-consumer-step-scale-in", "workers-consumer-step-scale-out"]
    assert policies["workers-consumer-step-scale-out"]["step_adjustment"] == steps(("0", None, 2))
    assert policies["workers-consumer-step-scale-in"]["step_adjustment"] == steps(
        (None, "-7", -5), ("-7", "0", -1)
    )
    assert alarm_of(stack, "workers-consumer-step-scale-out")["threshold"] == 20
    assert alarm_of(stack, "workers-consumer-step-scale-in")["threshold"] == 9
    target = only_resource(stack, SCALABLE_TARGET)
    assert (target["min_capacity"], target["max_capacity"]) == (1, 8)


def test_steps_without_a_removing_step_have_no_scale_in(
    consumer_with_scaling: Callable[[dict[str, Any]], Stack],
) -> None:
    # Given steps that never remove a task
    scaling = {
        "mode": "steps",
        "steps": [{"at_least": 0, "change": 0}, {"at_least": 1, "change": 1}],
    }

    # When synthesized
    stack = consumer_with_scaling(scaling)

    # Then only the scale-out and high-backlog policies exist
    assert sorted(step_policies(stack)) == [
        "workers-consumer-high-backlog",
        "workers-consumer-step-scale-out",
    ]


@pytest.mark.slow
def test_a_steps_mode_consumer_passes_terraform_validate(
    default_steps: Stack, tmp_path: Path
) -> None:
    try:
        toolchain = Toolchain.locate()
    except ToolchainMissing as error:
        pytest.skip(f"cannot run terraform validate offline: {error.reason}")
    validator = OfflineValidator(toolchain, tmp_path / "validate")

    result = validator.validate(tmp_path / "cdktf.out" / "stacks" / "consumer")

    assert result.valid, result.report()
