"""What a run costs: the fixed part, prorated, and Fargate and SQS for the work.

Prices come from the price table, costs/prices.yaml (data, with its sources): Fargate bills each
task per second from launch to stop with a one-minute minimum (timings.py); SQS $0.40 per
million requests, a batch of up to 10 being one. The fixed part is what the platform and the
service's stack cost whether or not a message arrives (endpoints or NAT, Container Insights,
alarms, keys, logs at a stated volume: costs/fixed.py), from the synthesized stacks, with the
service's scaling alarms counted from the simulated plan so that each compared policy pays
for its own alarms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from costs.table import RegionPrices
    from simulator.engine import RunResult

__all__ = ["Cost", "FixedCosts", "Prices", "cost_of", "prices_for", "prices_from"]

HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class Prices:
    label: str
    vcpu_hour: float
    gb_hour: float
    sqs_per_million: float
    alarm_metric_month: float
    hours_per_month: float = HOURS_PER_MONTH


def prices_from(region: RegionPrices, hours_per_month: float = HOURS_PER_MONTH) -> Prices:
    return Prices(
        label=region.label,
        vcpu_hour=region["fargate_vcpu_hour"],
        gb_hour=region["fargate_gb_hour"],
        sqs_per_million=region["sqs_requests_per_million"],
        alarm_metric_month=region["alarm_metric_month"],
        hours_per_month=hours_per_month,
    )


def prices_for(region: str) -> Prices:
    """The region's prices from costs/prices.yaml (or its fallback's, labelled as such)."""
    from costs.table import load_prices

    table = load_prices()
    return prices_from(table.for_region(region), table.hours_per_month)


@dataclass(frozen=True)
class FixedCosts:
    """Monthly costs that do not depend on the work.

    platform_monthly: the cluster and logs stacks (network, Container Insights, alert key, logs).
    service_monthly: the service's own stack but its scaling alarms (DLQ alarm, image storage,
    Container Insights of the service), which `Cost` adds from the simulated plan.
    """

    platform_monthly: float
    service_monthly: float
    source: str


@dataclass(frozen=True)
class Cost:
    task_hours: float
    vcpu_hours: float
    gb_hours: float
    fargate: float
    sqs_requests: float
    sqs: float
    prices: Prices
    # The fixed part for the run's duration: platform, service stack, scaling alarms.
    fixed: float = 0.0

    @property
    def usage(self) -> float:
        return self.fargate + self.sqs

    @property
    def total(self) -> float:
        return self.fixed + self.usage


def cost_of(result: RunResult, prices: Prices, fixed: FixedCosts | None = None) -> Cost:
    timings = result.scenario.timings
    size = result.scenario.spec.task_size
    task_seconds = sum(
        task.billed_seconds(result.end, timings.fargate_minimum_billed_seconds)
        for task in result.tasks
    )
    task_hours = task_seconds / 3600
    vcpu_hours = task_hours * size.cpu / 1024
    gb_hours = task_hours * size.memory / 1024
    queue = result.queue
    requests = (
        _send_requests(result.scenario.arrivals)
        + queue.receive_requests
        + result.idle_receive_requests
        + queue.delete_requests
    )
    return Cost(
        task_hours=task_hours,
        vcpu_hours=vcpu_hours,
        gb_hours=gb_hours,
        fargate=vcpu_hours * prices.vcpu_hour + gb_hours * prices.gb_hour,
        sqs_requests=requests,
        sqs=requests / 1e6 * prices.sqs_per_million,
        prices=prices,
        fixed=_fixed_share(result, prices, fixed),
    )


def _fixed_share(result: RunResult, prices: Prices, fixed: FixedCosts | None) -> float:
    if fixed is None:
        return 0.0
    alarms = result.scenario.plan.alarm_metrics * prices.alarm_metric_month
    monthly = fixed.platform_monthly + fixed.service_monthly + alarms
    return monthly * (result.end / 3600) / prices.hours_per_month


def _send_requests(arrivals: list[float]) -> int:
    """Messages sent at the same instant go out in batches of 10 (SendMessageBatch)."""
    requests, run = 0, 0
    for index, sent_at in enumerate(arrivals):
        run = run + 1 if index and sent_at == arrivals[index - 1] else 1
        if run % 10 == 1:
            requests += 1
    return requests
