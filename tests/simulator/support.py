"""Simulator test helpers: small consumer specs and one-call runs with exact arrivals."""

from __future__ import annotations

from typing import Any

from modules.config import ConsumerSpec
from simulator.engine import RunResult, Scenario, simulate
from simulator.metrics import IdleTaskMetric
from simulator.policies import FromZeroAlarm, mode_of
from simulator.tasks import Fixed, HandlerTime
from simulator.timings import Timings


def consumer(scaling: dict[str, Any], **fields: Any) -> ConsumerSpec:
    """A valid consumer spec: one 256/512 container, concurrency 10 unless given."""
    data: dict[str, Any] = {
        "name": "consumer",
        "kind": "consumer",
        "concurrency": 10,
        "containers": [{"name": "worker", "cpu": 256, "memory": 512}],
        "queue": {"handler_timeout_seconds": 90},
        "scaling": scaling,
        **fields,
    }
    return ConsumerSpec.model_validate(data)


def fixed_tasks(count: int, **fields: Any) -> ConsumerSpec:
    """A service pinned at `count` tasks (queue-depth with min = max)."""
    return consumer({"mode": "queue-depth", "min_tasks": count, "max_tasks": count}, **fields)


def run(
    spec: ConsumerSpec,
    arrivals: list[float],
    *,
    hours: float = 2.0,
    handler: HandlerTime | None = None,
    timings: Timings | None = None,
    seed: int = 1,
    failure_rate: float = 0.0,
    queue_active_at_start: bool | None = None,
    idle_task_metric: IdleTaskMetric = IdleTaskMetric.ZERO,
    from_zero: FromZeroAlarm = FromZeroAlarm.SQS,
) -> RunResult:
    timings = timings or Timings()
    return simulate(
        Scenario(
            spec=spec,
            plan=mode_of(spec).plan(spec, timings, from_zero),
            arrivals=arrivals,
            horizon=hours * 3600,
            handler=handler or Fixed(60.0),
            timings=timings,
            seed=seed,
            failure_rate=failure_rate,
            queue_active_at_start=queue_active_at_start,
            idle_task_metric=idle_task_metric,
        )
    )
