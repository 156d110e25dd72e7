"""The fixed monthly cost of a synthesized stack: what its resources cost before any work arrives.

One rule per resource type that prices.yaml calls `fixed`, each reading only the resource's own
settings in cdk.tf.json (and the stated volumes of prices.yaml), so that the estimate is a count
anyone can redo by hand from the JSON (tests/costs does, for the default configuration).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from costs.table import PriceTable, RegionPrices

__all__ = ["FIXED_RULES", "Line", "fixed_lines"]

Stack = dict[str, Any]
# Retention "never expire": storage grows for ever; the estimate counts a year of it.
UNLIMITED_RETENTION_MONTHS = 12.0
DAYS_PER_MONTH = 730 / 24


@dataclass(frozen=True)
class Line:
    """One item of an estimate: what, how it was counted, and its monthly cost."""

    stack: str
    fixed: bool
    item: str
    detail: str
    monthly: float


@dataclass(frozen=True)
class _Context:
    stack: Stack
    prices: RegionPrices
    table: PriceTable

    @property
    def hours(self) -> float:
        return self.table.hours_per_month


def _blocks(value: Any) -> list[dict[str, Any]]:
    """A nested block as a list, whether cdk.tf.json wrote it as one object or a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _interface_endpoint(body: dict[str, Any], ctx: _Context) -> tuple[float, str] | None:
    if body.get("vpc_endpoint_type") != "Interface":
        return None
    zones, price = len(body.get("subnet_ids", [])), ctx.prices["interface_endpoint_az_hour"]
    service = ".".join(body["service_name"].split(".")[3:])  # com.amazonaws.<region>.<service>
    return zones * ctx.hours * price, f"{service}: {zones} AZ x {ctx.hours:g} h x ${price}"


def _hourly(price_name: str, what: str) -> Callable[[dict[str, Any], _Context], tuple[float, str]]:
    def rule(body: dict[str, Any], ctx: _Context) -> tuple[float, str]:
        price = ctx.prices[price_name]
        return ctx.hours * price, f"{what}: {ctx.hours:g} h x ${price}"

    return rule


def alarm_metrics(body: dict[str, Any]) -> int:
    """Metrics a CloudWatch alarm reads: one, or each `metric` of its metric math."""
    queries = _blocks(body.get("metric_query"))
    return sum(1 for query in queries if query.get("metric")) if queries else 1


def _alarm(body: dict[str, Any], ctx: _Context) -> tuple[float, str]:
    metrics, price = alarm_metrics(body), ctx.prices["alarm_metric_month"]
    return metrics * price, f"{body['alarm_name']}: {metrics} metric(s) x ${price}"


def tracking_alarm_metrics(body: dict[str, Any]) -> int:
    """Metrics the two alarms of a target tracking policy read (0 for a step policy, whose
    alarm is a resource of its own)."""
    (config, *_) = _blocks(body.get("target_tracking_scaling_policy_configuration")) or [None]
    if config is None:
        return 0
    (custom, *_) = _blocks(config.get("customized_metric_specification")) or [None]
    queries = _blocks(custom.get("metrics")) if custom else []
    per_alarm = sum(1 for query in queries if query.get("metric_stat")) if queries else 1
    return 2 * per_alarm


def _tracking_alarms(body: dict[str, Any], ctx: _Context) -> tuple[float, str] | None:
    metrics, price = tracking_alarm_metrics(body), ctx.prices["alarm_metric_month"]
    if not metrics:
        return None
    detail = f"{body['name']}: AlarmHigh and AlarmLow, {metrics} metric(s) x ${price}"
    return metrics * price, detail


def _container_insights(
    scope: str,
) -> Callable[[dict[str, Any], _Context], tuple[float, str] | None]:
    def rule(body: dict[str, Any], ctx: _Context) -> tuple[float, str] | None:
        if scope == "cluster" and {"name": "containerInsights", "value": "enabled"} not in _blocks(
            body.get("setting")
        ):
            return None
        count = ctx.table.assumption(f"container_insights_metrics_per_{scope}")
        price = ctx.prices["custom_metric_month"]
        what = f"Container Insights, {body['name']}: {count} metrics x ${price}"
        return count * price, what

    return rule


def _log_group(body: dict[str, Any], ctx: _Context) -> tuple[float, str]:
    flow_logs = _flow_log_destinations(ctx.stack)
    volume_name = (
        "flow_log_gb_month" if _is_referenced(body, flow_logs) else "log_gb_per_service_month"
    )
    ingested = float(ctx.table.assumption(volume_name))
    retention = body.get("retention_in_days")
    months = UNLIMITED_RETENTION_MONTHS if not retention else retention / DAYS_PER_MONTH
    ingest, store = ctx.prices["log_ingest_gb"], ctx.prices["log_storage_gb_month"]
    monthly = ingested * ingest + ingested * months * store
    detail = (
        f"{body['name']}: {ingested:g} GB in x ${ingest} + {ingested * months:.2f} GB kept "
        f"({months:.1f} months) x ${store}"
    )
    return monthly, detail


def _flow_log_destinations(stack: Stack) -> list[str]:
    flow_logs = stack.get("resource", {}).get("aws_flow_log", {}).values()
    return [str(body.get("log_destination", "")) for body in flow_logs]


def _is_referenced(body: dict[str, Any], references: list[str]) -> bool:
    logical_id = body.get("//", {}).get("metadata", {}).get("uniqueId", "")
    return bool(logical_id) and any(f".{logical_id}." in ref for ref in references)


def _repository(body: dict[str, Any], ctx: _Context) -> tuple[float, str]:
    size, price = (
        float(ctx.table.assumption("image_gb_per_repository")),
        ctx.prices["ecr_storage_gb_month"],
    )
    return size * price, f"{body['name']}: {size:g} GB of images x ${price}"


def _web_acl(body: dict[str, Any], ctx: _Context) -> tuple[float, str]:
    rules = len(_blocks(body.get("rule")))
    acl, rule = ctx.prices["waf_web_acl_month"], ctx.prices["waf_rule_month"]
    return acl + rules * rule, f"{body['name']}: ${acl} + {rules} rule(s) x ${rule}"


def _kms_key(body: dict[str, Any], ctx: _Context) -> tuple[float, str]:
    price = ctx.prices["kms_key_month"]
    return price, f"{body.get('description', 'key')}: ${price}"


Rule = Callable[[dict[str, Any], _Context], tuple[float, str] | None]
FIXED_RULES: dict[str, Rule] = {
    "aws_vpc_endpoint": _interface_endpoint,
    "aws_nat_gateway": _hourly("nat_gateway_hour", "NAT gateway"),
    "aws_eip": _hourly("public_ipv4_hour", "public IPv4 address"),
    "aws_cloudwatch_metric_alarm": _alarm,
    "aws_appautoscaling_policy": _tracking_alarms,
    "aws_ecs_cluster": _container_insights("cluster"),
    "aws_ecs_service": _container_insights("service"),
    "aws_cloudwatch_log_group": _log_group,
    "aws_ecr_repository": _repository,
    "aws_wafv2_web_acl": _web_acl,
    "aws_kms_key": _kms_key,
}


def fixed_lines(name: str, stack: Stack, prices: RegionPrices, table: PriceTable) -> list[Line]:
    """The stack's fixed monthly items, one per resource that costs anything, in JSON order."""
    ctx = _Context(stack, prices, table)
    lines = []
    for resource_type, resources in sorted(stack.get("resource", {}).items()):
        rule = FIXED_RULES.get(resource_type)
        if rule is None:
            continue
        for logical_id, body in sorted(resources.items()):
            priced = rule(body, ctx)
            if priced is not None:
                monthly, detail = priced
                lines.append(Line(name, True, f"{resource_type}.{logical_id}", detail, monthly))
    return lines
