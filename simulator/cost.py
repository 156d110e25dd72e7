"""What a run costs: Fargate vCPU-hours and GB-hours, and SQS requests.

Prices are on-demand Linux/x86 list prices in USD (aws.amazon.com/fargate/pricing; SQS
from ../shared/FACTS.md: $0.40 per million standard requests, a batch of up to 10 is one
request). Fargate bills each task per second from launch to stop with a one-minute
minimum (timings.py). Compute only: no NAT (the platform has none), logs, or storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.engine import RunResult

__all__ = ["PRICES", "Cost", "Prices", "cost_of", "prices_for"]


@dataclass(frozen=True)
class Prices:
    region: str
    vcpu_hour: float
    gb_hour: float
    sqs_per_million: float = 0.40


# Identical in these regions for Linux/x86 on-demand (checked on the pricing page).
PRICES: dict[str, Prices] = {
    region: Prices(region, vcpu_hour=0.04048, gb_hour=0.004445)
    for region in ("eu-west-1", "us-east-1", "us-east-2", "us-west-2")
}
DEFAULT_REGION = "eu-west-1"


def prices_for(region: str) -> Prices:
    """The region's prices, or eu-west-1's (labelled as such) when the table lacks it."""
    return PRICES.get(region, PRICES[DEFAULT_REGION])


@dataclass(frozen=True)
class Cost:
    task_hours: float
    vcpu_hours: float
    gb_hours: float
    fargate: float
    sqs_requests: float
    sqs: float
    prices: Prices

    @property
    def total(self) -> float:
        return self.fargate + self.sqs


def cost_of(result: RunResult, prices: Prices) -> Cost:
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
    )


def _send_requests(arrivals: list[float]) -> int:
    """Messages sent at the same instant go out in batches of 10 (SendMessageBatch)."""
    requests, run = 0, 0
    for index, sent_at in enumerate(arrivals):
        run = run + 1 if index and sent_at == arrivals[index - 1] else 1
        if run % 10 == 1:
            requests += 1
    return requests
