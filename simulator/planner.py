"""Capacity planning: the cheapest target value and max tasks that meet a p95 latency goal.

It simulates the service on the same arrivals for every setting its mode's `knobs` offer
(target value x max tasks), keeps those whose p95 latency meets the goal with nothing sent
to the DLQ, and picks the cheapest (ties: fewer max tasks). For one target, once a run
never reached its max tasks, a higher max would change nothing: those runs are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from simulator.policies import mode_of
from simulator.report import summarize
from simulator.runner import run_spec

if TYPE_CHECKING:
    from modules.config import ConsumerSpec
    from simulator.cost import FixedCosts, Prices
    from simulator.report import Summary
    from simulator.runner import RunOptions
    from simulator.tasks import HandlerTime

__all__ = ["Candidate", "CapacityPlan", "plan_capacity", "scaling_snippet"]


@dataclass(frozen=True)
class Candidate:
    spec: ConsumerSpec
    updates: dict[str, Any]
    summary: Summary

    def meets(self, p95_goal: float) -> bool:
        summary = self.summary
        return summary.dead_lettered == 0 and (summary.p95 is None or summary.p95 <= p95_goal)


@dataclass(frozen=True)
class CapacityPlan:
    goal: float
    current: Summary
    best: Candidate | None
    tried: list[Candidate]


def plan_capacity(
    spec: ConsumerSpec,
    options: RunOptions,
    arrivals: list[float],
    horizon: float,
    handler: HandlerTime,
    p95_goal: float,
    prices: Prices,
    fixed: FixedCosts | None = None,
) -> CapacityPlan:
    mode = mode_of(spec)
    current = summarize(run_spec(spec, options, arrivals, horizon, handler), prices, fixed)
    tried: list[Candidate] = []
    capped_out: set[tuple[tuple[str, Any], ...]] = set()
    for updates in mode.knobs(spec):
        others = tuple(sorted((k, v) for k, v in updates.items() if k != "max_tasks"))
        if others in capped_out:
            continue
        candidate_spec = mode.with_updates(spec, updates)
        result = run_spec(candidate_spec, options, arrivals, horizon, handler)
        summary = summarize(result, prices, fixed)
        tried.append(Candidate(candidate_spec, updates, summary))
        if summary.max_tasks < updates["max_tasks"]:
            capped_out.add(others)  # the cap never bound: a higher one runs the same
    meeting = [candidate for candidate in tried if candidate.meets(p95_goal)]
    best = min(
        meeting,
        key=lambda c: (round(c.summary.cost.total, 6), c.updates["max_tasks"]),
        default=None,
    )
    return CapacityPlan(p95_goal, current, best, tried)


def scaling_snippet(spec: ConsumerSpec) -> str:
    """The `scaling:` block of a service.yaml, as the developers would paste it."""
    block = spec.scaling.model_dump(mode="json")
    return yaml.safe_dump({"scaling": block}, sort_keys=False).rstrip()
