"""Summaries of runs, and the table that compares them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simulator.cost import cost_of

if TYPE_CHECKING:
    from simulator.cost import Cost, FixedCosts, Prices
    from simulator.engine import RunResult

__all__ = ["Summary", "format_table", "percentile", "summarize"]


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values; None when there are none."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class Summary:
    label: str
    sent: int
    handled: int
    dead_lettered: int
    p50: float | None
    p95: float | None
    p99: float | None
    max_latency: float | None
    max_visible: int
    time_to_drain: float | None
    # When the run's first task was launched (None: no task ever was).
    first_task_at: float | None
    max_tasks: int
    scaling_activities: int
    simulated_hours: float
    cost: Cost
    fixed_counted: bool = True


def summarize(result: RunResult, prices: Prices, fixed: FixedCosts | None = None) -> Summary:
    latencies = sorted(result.latencies)
    drain = None
    if result.drained_at is not None and result.peak_at is not None:
        drain = result.drained_at - result.peak_at
    return Summary(
        label=result.scenario.label,
        sent=len(result.scenario.arrivals),
        handled=len(latencies),
        dead_lettered=len(result.queue.dead_letters),
        p50=percentile(latencies, 0.50),
        p95=percentile(latencies, 0.95),
        p99=percentile(latencies, 0.99),
        max_latency=latencies[-1] if latencies else None,
        max_visible=result.max_visible,
        time_to_drain=drain,
        first_task_at=min((task.launched_at for task in result.tasks), default=None),
        max_tasks=max((sample.running for sample in result.samples), default=0),
        scaling_activities=len(result.activities),
        simulated_hours=result.end / 3600,
        cost=cost_of(result, prices, fixed),
        fixed_counted=fixed is not None,
    )


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


_ROWS: list[tuple[str, str]] = [
    ("messages sent / handled / to DLQ", "counts"),
    ("latency p50", "p50"),
    ("latency p95", "p95"),
    ("latency p99", "p99"),
    ("latency max", "max_latency"),
    ("max backlog (visible)", "max_visible"),
    ("time to drain the peak backlog", "time_to_drain"),
    ("first task launched at", "first_task_at"),
    ("most tasks running", "max_tasks"),
    ("scaling activities", "scaling_activities"),
    ("task-hours", "task_hours"),
    ("Fargate vCPU-h / GB-h", "resource_hours"),
    ("SQS requests", "sqs_requests"),
    ("usage cost: Fargate + SQS (USD)", "usage"),
    ("fixed cost for the same hours (USD)", "fixed"),
    ("estimated cost (USD)", "total"),
]


def _cell(summary: Summary, key: str) -> str:
    cost = summary.cost
    cells = {
        "counts": f"{summary.sent} / {summary.handled} / {summary.dead_lettered}",
        "max_visible": str(summary.max_visible),
        "max_tasks": str(summary.max_tasks),
        "scaling_activities": str(summary.scaling_activities),
        "task_hours": f"{cost.task_hours:.2f}",
        "resource_hours": f"{cost.vcpu_hours:.2f} / {cost.gb_hours:.2f}",
        "sqs_requests": f"{cost.sqs_requests:,.0f}",
        "usage": f"${cost.usage:.4f} (${cost.fargate:.4f} + ${cost.sqs:.4f})",
        "fixed": f"${cost.fixed:.4f}" if summary.fixed_counted else "not counted",
        "total": f"${cost.total:.4f}" + ("" if summary.fixed_counted else " (usage only)"),
    }
    if key in cells:
        return cells[key]
    value: float | None = getattr(summary, key)
    return _seconds(value)


def format_table(summaries: list[Summary]) -> str:
    """A plain-text table, one column per run (Markdown-compatible)."""
    header = ["", *(summary.label for summary in summaries)]
    rows = [[name, *(_cell(summary, key) for summary in summaries)] for name, key in _ROWS]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]

    def line(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            + " |"
        )

    separator = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(header), separator, *(line(row) for row in rows)])
