"""Known answers: cases where the right result can be worked out by hand."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from simulator.cost import prices_for
from simulator.engine import Scenario, simulate
from simulator.policies import mode_of
from simulator.report import summarize
from simulator.tasks import Fixed
from simulator.timings import Timings
from simulator.workload import parse_workload
from tests.simulator.support import consumer, fixed_tasks, run

if TYPE_CHECKING:
    from modules.config import ConsumerSpec

PRICES = prices_for("eu-west-1")


def test_steady_arrivals_under_capacity_wait_for_nothing_and_never_scale() -> None:
    # Given one message every 30 s, 60 s handlers and 10 slots: at most 2 in flight.
    spec = consumer(
        {
            "mode": "backlog-per-task",
            "min_tasks": 1,
            "max_tasks": 5,
            "acceptable_latency_seconds": 300,
            "processing_time_seconds": 60,
        }
    )
    arrivals = [120.0 + 30 * index for index in range(200)]

    result = run(spec, arrivals)

    # Then every message takes exactly its handler time, and no policy ever acts.
    assert result.latencies == [60.0] * 200
    assert result.activities == []
    assert max(sample.running for sample in result.samples) == 1


@pytest.mark.parametrize(
    ("messages", "concurrency", "tasks"), [(400, 10, 2), (200, 5, 4), (90, 3, 1), (1000, 10, 10)]
)
def test_a_burst_on_fixed_tasks_drains_in_n_times_handler_over_slots(
    messages: int, concurrency: int, tasks: int
) -> None:
    spec = fixed_tasks(tasks, concurrency=concurrency)

    result = run(spec, [120.0] * messages, hours=6)

    assert result.peak_at == 120.0
    assert result.drained_at is not None
    expected = messages * 60 / concurrency / tasks
    assert result.drained_at - result.peak_at == pytest.approx(expected)
    assert summarize(result, PRICES).time_to_drain == pytest.approx(expected)
    assert max(result.latencies) == pytest.approx(expected)


def test_min_zero_with_no_arrivals_costs_no_task_hours(backlog_spec: ConsumerSpec) -> None:
    result = run(backlog_spec, [], hours=24)
    summary = summarize(result, PRICES)

    assert result.tasks == []
    assert summary.cost.task_hours == 0
    assert summary.cost.fargate == 0
    assert summary.time_to_drain is None and summary.p95 is None


def test_a_pinned_task_is_billed_for_the_whole_run() -> None:
    result = run(fixed_tasks(1), [], hours=3)
    cost = summarize(result, PRICES).cost

    assert cost.task_hours == pytest.approx(3)
    # 0.25 vCPU x 3 h x $0.04048 + 0.5 GB x 3 h x $0.004445
    assert cost.fargate == pytest.approx(0.25 * 3 * 0.04048 + 0.5 * 3 * 0.004445)


def test_same_random_seed_same_answer_other_seed_other_answer(backlog_spec: ConsumerSpec) -> None:
    workload = parse_workload("producer+burst:300@1h")

    def once(seed: int) -> tuple[list[float], list[object]]:
        arrivals = workload.arrivals(random.Random(seed), 4 * 3600)
        result = run(backlog_spec, arrivals, hours=4, seed=seed, failure_rate=0.1)
        return result.latencies, [*result.samples, *result.activities]

    assert once(5) == once(5)
    assert once(5) != once(6)


def test_a_handler_that_always_times_out_sends_the_message_to_the_dlq() -> None:
    # Handlers run 100 s against a 90 s timeout: every receive fails, and after
    # max_receive_count receives SQS moves the message to the DLQ.
    spec = fixed_tasks(1, queue={"handler_timeout_seconds": 90, "max_receive_count": 3})

    result = run(spec, [120.0] * 5, hours=2, handler=Fixed(100.0))

    assert result.latencies == []
    assert len(result.queue.dead_letters) == 5
    assert all(message.receives == 3 for message in result.queue.dead_letters)


def test_scale_in_waits_for_busy_tasks_and_never_cuts_a_handler(
    backlog_spec: ConsumerSpec,
) -> None:
    # A burst makes the service scale out; scale-in later must not lose or repeat work.
    result = run(backlog_spec, [630.0] * 700, hours=3)

    assert len(result.latencies) == 700
    assert result.queue.dead_letters == []
    # Protected busy tasks were never stopped mid-handler: each message was received once.
    assert all(message.receives == 1 for message in result.messages)
    assert max(sample.running for sample in result.samples) == 10
    assert result.samples[-1].running == 0


@pytest.mark.parametrize("protection", [True, False])
def test_without_scale_in_protection_long_handlers_are_cut_and_handled_again(
    protection: bool,
) -> None:
    # 400 s handlers outlive the 120 s stop timeout; target tracking scales in while the
    # tail of a burst is still being handled.
    spec = consumer(
        {
            "mode": "backlog-per-task",
            "min_tasks": 1,
            "max_tasks": 10,
            "acceptable_latency_seconds": 300,
            "processing_time_seconds": 60,
        },
        queue={"handler_timeout_seconds": 500},
    )
    assert spec.stop_timeout == 120
    plan = mode_of(spec).plan(spec, Timings())
    scenario = Scenario(
        spec=spec,
        plan=plan,
        arrivals=[630.0] * 700,
        horizon=3 * 3600,
        handler=Fixed(400.0),
        scale_in_protection=protection,
    )

    result = simulate(scenario)

    received_twice = sum(message.receives > 1 for message in result.messages)
    assert len(result.latencies) == 700
    assert (received_twice == 0) is protection


@pytest.mark.parametrize(("prefetch", "receives"), [(0, 3), (2, 1)])
def test_prefetched_messages_wait_in_the_task_for_a_handler_slot(
    prefetch: int, receives: int
) -> None:
    # One task with one handler slot, three messages at once
    spec = fixed_tasks(1, concurrency=1, prefetch=prefetch)

    result = run(spec, [120.0] * 3)

    # The handler takes them one after another either way; prefetch brings them in one receive
    assert sorted(result.latencies) == [60.0, 120.0, 180.0]
    assert result.queue.receive_requests == receives


def test_prefetch_holds_messages_another_task_could_have_handled() -> None:
    # Two pinned tasks of one slot each; the first to receive takes three with prefetch 2
    spec = fixed_tasks(2, concurrency=1, prefetch=2)
    lone = fixed_tasks(2, concurrency=1)

    held, fair = run(spec, [120.0] * 3), run(lone, [120.0] * 3)

    # Without prefetch the second task takes the second message at once
    assert max(fair.latencies) == 120.0
    assert max(held.latencies) == 180.0


def test_a_run_that_cannot_drain_stops_at_the_cap_and_says_so() -> None:
    # 0 to 0 tasks: nothing ever handles the message
    spec = consumer({"mode": "queue-depth", "min_tasks": 0, "max_tasks": 1})
    result = run(spec, [60.0], hours=1)

    assert result.capped
    assert result.latencies == []
    assert result.end >= 3600 + 24 * 3600
