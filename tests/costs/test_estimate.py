"""`make cost`: the fixed part is a count anyone can redo from cdk.tf.json; the usage part says
how it was counted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from costs.__main__ import as_json, as_text, main
from costs.estimate import estimate, is_scaling, simulation_fixed_costs
from costs.fixed import alarm_metrics, tracking_alarm_metrics
from costs.table import load_prices
from costs.usage import cron_runs_per_day, runs_per_month
from modules.cdk import aws
from simulator.policies import mode_of
from simulator.timings import Timings

if TYPE_CHECKING:
    from pathlib import Path

    from modules.config import ConsumerSpec, PlatformConfig
    from tests.costs.conftest import Stacks

ENDPOINT = aws.vpc_endpoint.VpcEndpoint.TF_RESOURCE_TYPE
LOG_GROUP = aws.cloudwatch_log_group.CloudwatchLogGroup.TF_RESOURCE_TYPE
POLICY = aws.appautoscaling_policy.AppautoscalingPolicy.TF_RESOURCE_TYPE
ALARM = aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm.TF_RESOURCE_TYPE
HOURS = 730
# eu-west-1, costs/prices.yaml
ENDPOINT_AZ_HOUR, NAT_HOUR, IPV4_HOUR = 0.0104, 0.048, 0.005
ALARM_METRIC, CUSTOM_METRIC, KMS_KEY = 0.10, 0.30, 1.00
LOG_IN, LOG_KEPT, IMAGE_GB = 0.57, 0.03, 0.10
DAYS_PER_MONTH = HOURS / 24


def logs_cost(gigabytes: float, retention_days: int) -> float:
    return gigabytes * LOG_IN + gigabytes * retention_days / DAYS_PER_MONTH * LOG_KEPT


def of_type(stack: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return list(stack.get("resource", {}).get(resource_type, {}).values())


def test_the_fixed_part_is_the_hand_count_of_the_default_stacks(
    config: PlatformConfig, stacks: Stacks
) -> None:
    # What the default stacks hold, counted from the JSON
    interface = [
        e for e in of_type(stacks["cluster"], ENDPOINT) if e["vpc_endpoint_type"] == "Interface"
    ]
    assert len(interface) == 4 and {len(e["subnet_ids"]) for e in interface} == {2}
    service_groups = of_type(stacks["logs"], LOG_GROUP)
    assert [g["retention_in_days"] for g in service_groups] == [30] * 5
    # Alarm metrics: consumer target tracking 2 x 2, idle 2, not received 2, dead letters 1
    consumer_alarms = 2 * 2 + 2 + 2 + 1
    image = 0.5 * IMAGE_GB
    insights_service = 13 * CUSTOM_METRIC
    expected = {
        "cluster": 4 * 2 * HOURS * ENDPOINT_AZ_HOUR + 11 * CUSTOM_METRIC + logs_cost(0.05, 14),
        "logs": 5 * logs_cost(0.5, 30) + KMS_KEY,
        "consumer": consumer_alarms * ALARM_METRIC + image + insights_service,
        "producer": image + insights_service,
        "reporter": 1 * ALARM_METRIC + image,
        "crunch": 2 * ALARM_METRIC + image,
        "ingest": 5.00 + 2 * 1.00,  # web ACL and its two body rules
    }

    result = estimate(config, stacks)

    assert {s.stack: round(s.fixed, 6) for s in result.stacks} == {
        name: round(value, 6) for name, value in expected.items()
    }
    # 60.74 of the 64.07 the platform pays before any task runs is the four endpoints
    assert result.stack("cluster").fixed == pytest.approx(64.07, abs=0.01)


def test_nat_egress_costs_one_gateway_and_its_address_instead_of_endpoints(
    config: PlatformConfig, nat_stacks: Stacks
) -> None:
    from tests.costs.conftest import with_egress

    result = estimate(with_egress(config, "nat"), nat_stacks)

    cluster = result.stack("cluster")
    assert cluster.fixed == pytest.approx(
        HOURS * NAT_HOUR + HOURS * IPV4_HOUR + 11 * CUSTOM_METRIC + logs_cost(0.05, 14)
    )
    data = next(line for line in cluster.lines if not line.fixed)
    assert data.monthly == pytest.approx(5 * 0.048)  # per GB through the NAT gateway


def test_usage_says_how_it_was_counted(config: PlatformConfig, stacks: Stacks) -> None:
    result = estimate(config, stacks)

    producer = result.stack("producer")
    (fargate,) = [line for line in producer.lines if not line.fixed]
    assert fargate.monthly == pytest.approx(HOURS * (0.25 * 0.04048 + 0.5 * 0.004445))
    consumer_usage = [line for line in result.stack("consumer").lines if not line.fixed]
    assert [line.item for line in consumer_usage] == ["Fargate", "SQS"]
    assert "simulated: producer, 24 h" in consumer_usage[0].detail
    reporter = [line.detail for line in result.stack("reporter").lines if not line.fixed]
    assert reporter[0].startswith("2,920 runs x 1 task(s) x 60 s")


def test_without_a_configuration_only_the_fixed_part_is_estimated(stacks: Stacks) -> None:
    result = estimate(None, stacks)

    assert result.usage == 0
    assert result.fixed > 0
    assert result.region_label == "eu-west-1 prices"


def test_make_cost_prints_each_stack_and_the_total(
    outdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import REPO_ROOT

    assert main(["--root", str(REPO_ROOT), "--stacks", str(outdir)]) == 0

    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert rows[0] == "| stack | fixed | usage | total |"
    assert [row.split(" | ")[0] for row in rows[1:]] == [
        "| cluster", "| consumer", "| crunch", "| ingest", "| logs", "| producer", "| reporter",
        "| **all stacks**",
    ]  # fmt: skip
    assert "Stated volumes" in out


def test_the_json_form_holds_the_same_figures(config: PlatformConfig, stacks: Stacks) -> None:
    import json

    result = estimate(config, stacks)
    document = json.loads(as_json(result))

    assert document["total"] == round(result.total, 4)
    assert set(document["stacks"]) == {s.stack for s in result.stacks}
    assert "| **all stacks** |" in as_text(result, load_prices(), brief=True)


def test_the_simulator_counts_the_alarms_the_stack_deploys(
    config: PlatformConfig, stacks: Stacks
) -> None:
    # The consumer's scaling alarms in the JSON: target tracking's two, and the step alarms
    stack = stacks["consumer"]
    deployed = sum(tracking_alarm_metrics(p) for p in of_type(stack, POLICY))
    deployed += sum(
        alarm_metrics(alarm)
        for alarm in of_type(stack, ALARM)
        if any(f"{POLICY}." in action for action in alarm["alarm_actions"])
    )
    spec = config.service("consumer")
    plan = mode_of(spec).plan(spec, Timings())  # type: ignore[arg-type]

    assert plan.alarm_metrics == deployed == 8


def test_the_simulators_fixed_part_is_the_platform_and_the_service_stack(
    config: PlatformConfig, stacks: Stacks
) -> None:
    result = estimate(config, stacks)
    fixed = simulation_fixed_costs(stacks, "consumer", "eu-west-1")
    consumer: ConsumerSpec = config.service("consumer")  # type: ignore[assignment]
    scaling = sum(
        line.monthly
        for line in result.stack("consumer").lines
        if line.fixed and is_scaling(stacks["consumer"], line.item)
    )

    assert fixed.platform_monthly == pytest.approx(
        result.stack("cluster").fixed + result.stack("logs").fixed
    )
    assert fixed.service_monthly + scaling == pytest.approx(result.stack("consumer").fixed)
    assert scaling == pytest.approx(8 * ALARM_METRIC)
    assert consumer.scaling.min_tasks == 0


@pytest.mark.parametrize(
    ("schedule", "per_month"),
    [
        ("rate(15 minutes)", 2920),
        ("rate(1 hour)", 730),
        ("rate(2 days)", 730 / 48),
        ("cron(0 8 ? * MON-FRI *)", 5 / 7 * 730 / 24),
        ("cron(*/5 * * * ? *)", 288 * 730 / 24),
        ("cron(0 0,12 1 * ? *)", 2 / 30.44 * 730 / 24),
    ],
)
def test_runs_per_month_of_a_schedule(schedule: str, per_month: float) -> None:
    assert runs_per_month(schedule, HOURS) == pytest.approx(per_month)


def test_cron_names_and_steps() -> None:
    assert cron_runs_per_day("0 9 ? JAN-JUN SAT,SUN *") == pytest.approx(2 / 7 * 6 / 12)
    assert cron_runs_per_day("0/15 * * * ? *") == 96


def test_synthesize_writes_every_stack_of_a_configuration(tmp_path: Path) -> None:
    from costs.estimate import read_stacks, synthesize
    from tests.conftest import REPO_ROOT

    stacks = read_stacks(synthesize(REPO_ROOT, tmp_path / "cdktf.out"))

    assert {"cluster", "logs", "consumer"} <= set(stacks)
