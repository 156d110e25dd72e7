"""The usage part of the monthly cost: what the work costs, from the configuration.

Consumers are simulated (the scaling simulator, on prices.yaml's `consumer_workload`); every
other kind runs what its spec says at the volumes prices.yaml states (`assumptions`). Each line
says how it was counted, so a reader can redo or rescale it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from costs.fixed import Line
from modules.config import (
    ConsumerSpec,
    CreatedNetwork,
    IngestSpec,
    JobSpec,
    ProducerSpec,
    ScheduledSpec,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from costs.table import PriceTable, RegionPrices
    from modules.config import AnyService, PlatformConfig
    from modules.sizing import TaskSize

__all__ = ["USAGE_TYPES", "cron_runs_per_day", "runs_per_month", "usage_lines"]

# The resource types prices.yaml calls `usage` and this module prices (tests/costs checks).
USAGE_TYPES = frozenset(
    {
        "aws_sqs_queue",
        "aws_scheduler_schedule",
        "aws_lambda_function",
        "aws_lambda_event_source_mapping",
        "aws_dynamodb_table",
        "aws_api_gateway_rest_api",
    }
)
MINIMUM_BILLED_SECONDS = 60  # Fargate bills at least a minute per task
MILLION = 1e6
_RATE_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class _Context:
    config: PlatformConfig
    table: PriceTable
    prices: RegionPrices

    @property
    def hours(self) -> float:
        return self.table.hours_per_month

    def assume(self, name: str) -> float:
        return float(self.table.assumption(name))


def usage_lines(config: PlatformConfig, table: PriceTable, prices: RegionPrices) -> list[Line]:
    """Every service's usage, and the network's data charge, as lines of their stacks."""
    ctx = _Context(config, table, prices)
    lines = _network(ctx)
    for service in config.services:
        lines += _BY_KIND[type(service)](service, ctx)
    return lines


def _fargate(stack: str, what: str, task_hours: float, size: TaskSize, ctx: _Context) -> Line:
    vcpu, gb = size.cpu / 1024, size.memory / 1024
    per_hour = vcpu * ctx.prices["fargate_vcpu_hour"] + gb * ctx.prices["fargate_gb_hour"]
    detail = f"{what}: {task_hours:,.1f} task-hours x {vcpu:g} vCPU / {gb:g} GB"
    return Line(stack, False, "Fargate", detail, task_hours * per_hour)


def _requests(stack: str, item: str, count: float, price_name: str, ctx: _Context) -> Line:
    price = ctx.prices[price_name]
    detail = f"{count:,.0f} requests x ${price} per million"
    return Line(stack, False, item, detail, count / MILLION * price)


def _network(ctx: _Context) -> list[Line]:
    network = ctx.config.project.network
    if not isinstance(network, CreatedNetwork):
        return []  # an existing VPC's routing is its owners' bill
    gigabytes = ctx.assume("network_gb_month")
    price_name = "nat_gateway_gb" if network.egress == "nat" else "interface_endpoint_gb"
    price = ctx.prices[price_name]
    what = "NAT gateway" if network.egress == "nat" else "interface endpoints"
    detail = f"{gigabytes:g} GB through the {what} x ${price}"
    return [Line("cluster", False, "data processed", detail, gigabytes * price)]


def _consumer(service: AnyService, ctx: _Context) -> list[Line]:
    from simulator.cost import cost_of, prices_from
    from simulator.runner import RunOptions, arrivals_for, default_handler, run_spec
    from simulator.workload import parse_workload

    assert isinstance(service, ConsumerSpec)
    workload_spec = str(ctx.table.assumption("consumer_workload"))
    hours = ctx.assume("simulated_hours")
    options = RunOptions(workload=parse_workload(workload_spec), hours=hours)
    horizon = hours * 3600
    arrivals = arrivals_for(options.workload, options.seed, horizon)
    result = run_spec(service, options, arrivals, horizon, default_handler(service))
    cost = cost_of(result, prices_from(ctx.prices))
    scale = ctx.hours / hours
    what = f"simulated: {workload_spec}, {hours:g} h x {scale:g}"
    return [
        _fargate(service.name, what, cost.task_hours * scale, service.task_size, ctx),
        _requests(service.name, "SQS", cost.sqs_requests * scale, "sqs_requests_per_million", ctx),
    ]


def _producer(service: AnyService, ctx: _Context) -> list[Line]:
    assert isinstance(service, ProducerSpec)
    what = f"{service.tasks} task(s) always"
    return [_fargate(service.name, what, service.tasks * ctx.hours, service.task_size, ctx)]


def _scheduled(service: AnyService, ctx: _Context) -> list[Line]:
    assert isinstance(service, ScheduledSpec)
    runs = runs_per_month(service.schedule, ctx.hours) if service.enabled else 0.0
    seconds = max(ctx.assume("scheduled_run_seconds"), MINIMUM_BILLED_SECONDS)
    task_hours = runs * service.task_count * seconds / 3600
    what = f"{runs:,.0f} runs x {service.task_count} task(s) x {seconds:g} s"
    lines = [
        _fargate(service.name, what, task_hours, service.task_size, ctx),
        _requests(service.name, "Scheduler", runs, "scheduler_invocations_per_million", ctx),
    ]
    if service.watches is not None:  # one GetQueueAttributes per run
        lines.append(_requests(service.name, "SQS", runs, "sqs_requests_per_million", ctx))
    return lines


def _job(service: AnyService, ctx: _Context) -> list[Line]:
    assert isinstance(service, JobSpec)
    jobs = ctx.assume("job_runs_per_month")
    seconds = max(ctx.assume("job_run_seconds"), MINIMUM_BILLED_SECONDS)
    fifo = service.queue.type == "fifo"
    sqs_price = "sqs_fifo_requests_per_million" if fifo else "sqs_requests_per_million"
    # Polls of the event source mapping, plus each job's send and its dispatcher's delete.
    sqs_requests = ctx.assume("job_queue_poll_requests_month") + 2 * jobs
    what = f"{jobs:,.0f} jobs x {seconds:g} s"
    return [
        _fargate(service.name, what, jobs * seconds / 3600, service.task_size, ctx),
        _job_functions(service.name, jobs, ctx),
        _job_table(service.name, jobs, ctx),
        _requests(service.name, "SQS", sqs_requests, sqs_price, ctx),
    ]


def _job_functions(stack: str, jobs: float, ctx: _Context) -> Line:
    """The dispatcher and the reaper: invocations and GB-seconds per job."""
    invocations = jobs * ctx.assume("job_lambda_invocations")
    gb_seconds = invocations * ctx.assume("job_lambda_seconds") * ctx.assume("job_lambda_gb")
    monthly = (
        invocations / MILLION * ctx.prices["lambda_requests_per_million"]
        + gb_seconds * ctx.prices["lambda_gb_second"]
    )
    return Line(
        stack, False, "Lambda", f"{invocations:,.0f} calls, {gb_seconds:,.0f} GB-s", monthly
    )


def _job_table(stack: str, jobs: float, ctx: _Context) -> Line:
    writes, reads = jobs * ctx.assume("job_table_writes"), jobs * ctx.assume("job_table_reads")
    monthly = (
        writes / MILLION * ctx.prices["dynamodb_writes_per_million"]
        + reads / MILLION * ctx.prices["dynamodb_reads_per_million"]
    )
    return Line(stack, False, "DynamoDB", f"{writes:,.0f} writes, {reads:,.0f} reads", monthly)


def _ingest(service: AnyService, ctx: _Context) -> list[Line]:
    assert isinstance(service, IngestSpec)
    requests = ctx.assume("ingest_requests_month")
    return [
        _requests(service.name, "API Gateway", requests, "api_rest_requests_per_million", ctx),
        _requests(service.name, "WAF", requests, "waf_requests_per_million", ctx),
        _requests(service.name, "SQS", requests, "sqs_requests_per_million", ctx),
    ]


_BY_KIND: dict[type, Callable[[AnyService, _Context], list[Line]]] = {
    ConsumerSpec: _consumer,
    ProducerSpec: _producer,
    ScheduledSpec: _scheduled,
    JobSpec: _job,
    IngestSpec: _ingest,
}


def runs_per_month(schedule: str, hours_per_month: float) -> float:
    """How often a Scheduler expression fires in a month of `hours_per_month` hours."""
    if rate := re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", schedule):
        every = int(rate.group(1)) * _RATE_SECONDS[rate.group(2)]
        return hours_per_month * 3600 / every
    cron = re.fullmatch(r"cron\((.+)\)", schedule)
    assert cron is not None, f"not a schedule expression: {schedule}"
    return cron_runs_per_day(cron.group(1)) * hours_per_month / 24


# Field ranges of a Scheduler cron: minutes, hours, day of month, month, day of week.
_CRON_FIELDS = ((0, 59), (0, 23), (1, 31), (1, 12), (1, 7))
_NAMES = {
    name: index
    for names in (
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
        ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"),
    )
    for index, name in enumerate(names, start=1)
}


def cron_runs_per_day(body: str) -> float:
    """Average firings a day of `minutes hours day-of-month month day-of-week year`."""
    minutes, hours, day_of_month, month, day_of_week, _year = body.split()
    per_day = _count(minutes, _CRON_FIELDS[0]) * _count(hours, _CRON_FIELDS[1])
    if day_of_month in ("?", "*") and day_of_week in ("?", "*"):
        day_share = 1.0
    elif day_of_month in ("?", "*"):
        day_share = _count(day_of_week, _CRON_FIELDS[4]) / 7
    else:
        day_share = min(_count(day_of_month, _CRON_FIELDS[2]), 30.44) / 30.44
    return per_day * day_share * _count(month, _CRON_FIELDS[3]) / 12


def _count(field: str, bounds: tuple[int, int]) -> float:
    """How many values a cron field takes (an L, W or # part counts as one)."""
    low, high = bounds
    total = 0
    for part in field.split(","):
        span, _, step = part.partition("/")
        if any(mark in span for mark in "LW#"):
            total += 1
            continue
        if span in ("*", "?"):
            first, last = low, high
        elif "-" in span:
            start, end = span.split("-")
            first, last = _value(start), _value(end)
        else:
            first = _value(span)
            last = high if step else first
        total += (last - first) // int(step or 1) + 1 if last >= first else 0
    return float(total)


def _value(text: str) -> int:
    return _NAMES[text.upper()] if text.upper() in _NAMES else int(text)
