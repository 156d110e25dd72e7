"""Each alarm acts no earlier than its evaluation periods and publication delay allow.

With a burst at 630 s the first breaching datapoint is the period ending at 660 s, readable
one publication delay later; an alarm of N datapoints can first fire when the N-th such
period is readable.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from simulator.autoscaling import TargetTrackingPolicy
from simulator.metrics import IdleTaskMetric
from simulator.policies import FromZeroAlarm, mode_of
from simulator.timings import Timings
from tests.simulator.support import consumer, run

if TYPE_CHECKING:
    from modules.config import ConsumerSpec
    from simulator.engine import RunResult

BURST_AT = 630.0
FIRST_PERIOD_END = 660.0


def reference_queue_depth_policy() -> ConsumerSpec:
    """The reference design's target tracking on 3 visible messages, with its 1 to 3 tasks."""
    return consumer({"mode": "queue-depth", "min_tasks": 1, "max_tasks": 3})


@pytest.mark.parametrize("delay", [0.0, 60.0, 120.0])
def test_target_tracking_scales_out_after_three_datapoints(delay: float) -> None:
    timings = replace(Timings(), metric_publication_delay_seconds=delay)

    result = run(reference_queue_depth_policy(), [BURST_AT] * 100, timings=timings)

    first = result.activities[0]
    assert first.at == FIRST_PERIOD_END + 2 * 60 + delay
    assert (first.from_capacity, first.to_capacity) == (1, 3)


def test_scale_out_datapoints_are_a_timing_override() -> None:
    timings = replace(Timings(), target_tracking_scale_out_datapoints=5)

    result = run(reference_queue_depth_policy(), [BURST_AT] * 100, timings=timings)

    assert result.activities[0].at == FIRST_PERIOD_END + 4 * 60 + 60


def test_target_tracking_scales_in_after_fifteen_datapoints_below_ninety_percent() -> None:
    result = run(reference_queue_depth_policy(), [BURST_AT] * 100)

    scale_in = next(a for a in result.activities if a.to_capacity < a.from_capacity)
    # The last datapoint at or above 0.9 x target (2.7 visible) before the scale-in:
    last_high = max(s.at for s in result.samples if s.visible >= 2.7 and s.at < scale_in.at)
    assert scale_in.at == last_high + 15 * 60 + 60
    # Gradually: one task at a time (10 % of 3, at least one), a scale-in cooldown apart
    scale_ins = [(a.at, a.from_capacity, a.to_capacity) for a in result.activities[1:]]
    assert scale_ins == [(scale_in.at, 3, 2), (scale_in.at + 300, 2, 1)]


def test_one_scale_in_removes_at_most_its_share_of_the_capacity() -> None:
    spec = consumer({"mode": "backlog-per-task", "min_tasks": 1, "max_tasks": 30})
    tracking = mode_of(spec).plan(spec, Timings()).policies[0]
    assert isinstance(tracking, TargetTrackingPolicy)
    tracking.low.last_value = 0.001

    assert tracking.desired_capacity(tracking.low, 30) == 27  # 10 % of 30
    assert tracking.desired_capacity(tracking.low, 5) == 4  # at least one
    everything = replace(Timings(), target_tracking_scale_in_max_ratio=1.0)
    tracking = mode_of(spec).plan(spec, everything).policies[0]
    assert isinstance(tracking, TargetTrackingPolicy)
    tracking.low.last_value = 0.001
    assert tracking.desired_capacity(tracking.low, 30) == 1


def test_backlog_target_tracking_adds_capacity_in_proportion(backlog_spec: ConsumerSpec) -> None:
    spec = backlog_spec.model_copy(
        update={"scaling": backlog_spec.scaling.model_copy(update={"min_tasks": 1})}
    )

    result = run(spec, [BURST_AT] * 240)

    first = result.activities[0]
    assert first.at == FIRST_PERIOD_END + 2 * 60 + 60
    # 1 task, 240 - 10 visible: ceil(1 x 230 / 50) = 5.
    assert (first.from_capacity, first.to_capacity) == (1, 5)


def test_from_zero_step_fires_after_one_datapoint_once_per_cooldown(
    backlog_spec: ConsumerSpec,
) -> None:
    result = run(backlog_spec, [BURST_AT] * 20, queue_active_at_start=True)

    first = result.activities[0]
    assert (first.policy, first.at) == ("ScaleOutFromZero", FIRST_PERIOD_END + 60)
    assert (first.from_capacity, first.to_capacity) == (0, 1)
    # The alarm stays in ALARM until RunningTaskCount shows the task; within the cooldown the
    # same +1 adds nothing more.
    assert [a.policy for a in result.activities].count("ScaleOutFromZero") == 1


def test_idle_alarm_scales_to_zero_after_idle_minutes(backlog_spec: ConsumerSpec) -> None:
    result = run(backlog_spec, [BURST_AT] * 20, hours=3)

    to_zero = result.activities[-1]
    assert (to_zero.policy, to_zero.to_capacity) == ("ScaleInToZero", 0)
    last_busy = max(s.at for s in result.samples if s.visible + s.in_flight > 0)
    assert to_zero.at == last_busy + 15 * 60 + 60
    assert result.samples[-1].running == 0


def test_an_inactive_queue_delays_scale_from_zero_by_fifteen_minutes(
    backlog_spec: ConsumerSpec,
) -> None:
    # After six idle hours SQS stops publishing; its metrics resume up to 15 minutes after
    # the next message (timings.py [SQS-CW]). A min-0 run starts with such a queue unless told.
    awake = run(backlog_spec, [3630.0], hours=10, queue_active_at_start=True)
    asleep = run(backlog_spec, [3630.0], hours=10)
    dozed_off = run(backlog_spec, [3630.0, 8 * 3600.0 + 30], hours=10, queue_active_at_start=True)

    assert awake.activities[0].at == 3660 + 60
    assert asleep.activities[0].at == 3660 + 15 * 60 + 60
    assert asleep.latencies[0] - awake.latencies[0] == 15 * 60
    # and a queue active at the start goes to sleep after six idle hours all the same
    woken = next(a for a in dozed_off.activities if a.at > 8 * 3600)
    assert woken.at == 8 * 3600 + 60 + 15 * 60 + 60


def test_a_service_that_keeps_tasks_running_keeps_its_queue_active() -> None:
    result = run(reference_queue_depth_policy(), [3630.0], hours=2)

    assert result.scenario.queue_starts_active
    assert result.latencies == [60.0]


@pytest.mark.parametrize("idle_metric", list(IdleTaskMetric))
@pytest.mark.parametrize("active", [True, False])
def test_scale_from_zero_on_sqs_metrics_starts_a_task_whatever_ecs_reports(
    backlog_spec: ConsumerSpec, idle_metric: IdleTaskMetric, active: bool
) -> None:
    # Given a service at 0 tasks and RunningTaskCount reporting 0, or nothing, while it has none
    result = run(
        backlog_spec,
        [BURST_AT] * 20,
        queue_active_at_start=active,
        idle_task_metric=idle_metric,
    )

    # Then "visible and none in flight" starts the first task one datapoint after the metrics
    # show the messages (15 minutes later on a queue that was inactive), and all are handled
    first = result.activities[0]
    delay = 0 if active else 15 * 60
    assert (first.policy, first.at) == ("ScaleOutFromZero", FIRST_PERIOD_END + 60 + delay)
    assert len(result.latencies) == 20
    assert not result.capped


def test_the_former_alarm_on_running_tasks_stalls_when_ecs_reports_nothing(
    backlog_spec: ConsumerSpec,
) -> None:
    # Given the former design: "visible and RunningTaskCount == 0"
    def once(idle_metric: IdleTaskMetric) -> RunResult:
        return run(
            backlog_spec,
            [BURST_AT] * 20,
            queue_active_at_start=True,
            idle_task_metric=idle_metric,
            from_zero=FromZeroAlarm.RUNNING_TASKS,
        )

    # Then it starts a task when the metric reports 0
    assert once(IdleTaskMetric.ZERO).activities[0].at == FIRST_PERIOD_END + 60
    # and never when it reports nothing: the messages wait until the run's time cap
    stalled = once(IdleTaskMetric.MISSING)
    assert stalled.activities == []
    assert stalled.latencies == []
    assert stalled.capped
