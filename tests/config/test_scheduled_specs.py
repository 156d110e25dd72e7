"""`kind: scheduled` specs: the defaults, the schedule expressions EventBridge Scheduler takes,
and each bad spec's exact message (`<file>: <field>: <what is wrong and what is allowed>`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import yaml

from modules.config import ConfigError, RetrySpec, ScheduledSpec, load_config
from modules.schedule_expression import InvalidSchedule, check_schedule

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

JOB = "workers/reporter/service.yaml"
JOB_KEYS = (
    "description, containers, logs, handler, kind, schedule, timezone, enabled, task_count, retry, "
    "flexible_window_minutes, watches"
)
MINIMAL_JOB = {
    "kind": "scheduled",
    "schedule": "rate(1 hour)",
    "containers": [{"name": "worker"}],
}


def write_job(root: Path, spec: dict[str, Any]) -> None:
    (root / JOB).write_text(yaml.safe_dump(spec))


def problems_for(root: Path, **changes: Any) -> list[str]:
    """The problems load_config reports for the minimal job with `changes`."""
    write_job(root, {**MINIMAL_JOB, **changes})
    with pytest.raises(ConfigError) as raised:
        load_config(root)
    return raised.value.problems


def test_a_minimal_job_takes_the_documented_defaults(repo_copy: Callable[[], Path]) -> None:
    # Given only kind, schedule and one container
    root = repo_copy()
    write_job(root, MINIMAL_JOB)

    # When loaded
    job = load_config(root).service("reporter")

    # Then UTC, enabled, one task, Scheduler's own retry defaults, no window, nothing watched
    assert isinstance(job, ScheduledSpec)
    assert (job.timezone, job.enabled, job.task_count) == ("UTC", True, 1)
    assert job.retry == RetrySpec(maximum_retry_attempts=185, maximum_event_age_seconds=86400)
    assert (job.flexible_window_minutes, job.watches) == (None, None)
    assert (job.task_size.cpu, job.task_size.memory) == (256, 512)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"schedule": "cron(0 8 * * ?)"},
            "schedule: cron(...) must have 6 fields (minutes hours day-of-month month day-of-week "
            "year), found 5; EventBridge's cron has a year field and `?` in one day field, "
            "e.g. cron(0 8 * * ? *); got 'cron(0 8 * * ?)'",
            id="cron-with-five-fields",
        ),
        pytest.param(
            {"schedule": "cron(0 8 * * * *)"},
            "schedule: cron(...) needs `?` in exactly one of day-of-month and day-of-week "
            "(EventBridge cannot take both); got '*' and '*', e.g. cron(0 8 * * ? *) or "
            "cron(0 8 ? * MON-FRI *); got 'cron(0 8 * * * *)'",
            id="cron-without-question-mark",
        ),
        pytest.param(
            {"schedule": "cron(0 25 * * ? *)"},
            "schedule: cron(...) hours: '25' is not allowed; allowed: 0-23, '*', lists (a,b), "
            "ranges (a-b) and steps (*/n, a/n); got 'cron(0 25 * * ? *)'",
            id="cron-hour-out-of-range",
        ),
        pytest.param(
            {"schedule": "rate(1 minutes)"},
            "schedule: rate(...) with 1 takes the singular unit: rate(1 minute); "
            "got 'rate(1 minutes)'",
            id="rate-plural-for-one",
        ),
        pytest.param(
            {"schedule": "rate(5 hour)"},
            "schedule: rate(...) with 5 takes the plural unit: rate(5 hours); got 'rate(5 hour)'",
            id="rate-singular-for-five",
        ),
        pytest.param(
            {"schedule": "rate(0 minutes)"},
            "schedule: rate(...) must hold a whole number of at least 1 and a unit "
            "(minute(s)/hour(s)/day(s)), separated by one space, e.g. rate(1 hour) or "
            "rate(15 minutes); got 'rate(0 minutes)'",
            id="rate-of-zero",
        ),
        pytest.param(
            {"schedule": "rate(2 weeks)"},
            "schedule: rate(...) unit must be one of minute(s)/hour(s)/day(s), "
            "e.g. rate(15 minutes); got 'rate(2 weeks)'",
            id="rate-in-weeks",
        ),
        pytest.param(
            {"schedule": "every 5 minutes"},
            "schedule: must be rate(<n> <unit>) or cron(<6 fields>), e.g. rate(15 minutes) or "
            "cron(0 8 * * ? *); got 'every 5 minutes'",
            id="neither-rate-nor-cron",
        ),
        pytest.param(
            {"task_count": 0},
            "task_count: must be at least 1; got 0",
            id="zero-tasks",
        ),
        pytest.param(
            {"task_count": 11},
            "task_count: must be at most 10; got 11",
            id="more-tasks-than-run-task-starts",
        ),
        pytest.param(
            {"timezone": "Europe/Berln"},
            "timezone: must be an IANA time zone name such as Europe/Berlin, America/New_York or "
            "UTC (did you mean Europe/Berlin?); got 'Europe/Berln'",
            id="misspelt-time-zone",
        ),
        pytest.param(
            {"schedulle": "rate(1 hour)"},
            f"schedulle: unknown key; did you mean schedule? allowed: {JOB_KEYS}",
            id="unknown-key",
        ),
        pytest.param(
            {"retry": {"maximum_retry_attempts": 186}},
            "retry.maximum_retry_attempts: must be at most 185; got 186",
            id="too-many-retries",
        ),
        pytest.param(
            {"retry": {"maximum_event_age_seconds": 30}},
            "retry.maximum_event_age_seconds: must be at least 60; got 30",
            id="event-age-below-a-minute",
        ),
        pytest.param(
            {"flexible_window_minutes": 0},
            "flexible_window_minutes: must be at least 1; got 0",
            id="empty-flexible-window",
        ),
        pytest.param(
            {"watches": "billing"},
            "watches: no consumer named 'billing' declares a queue; consumers: consumer",
            id="watches-no-consumer",
        ),
    ],
)
def test_bad_job_spec_is_rejected_with_its_message(
    changes: dict[str, Any], expected: str, repo_copy: Callable[[], Path]
) -> None:
    assert problems_for(repo_copy(), **changes) == [f"{JOB}: {expected}"]


def test_a_job_without_a_schedule_says_so(repo_copy: Callable[[], Path]) -> None:
    root = repo_copy()
    write_job(root, {"kind": "scheduled", "containers": [{"name": "worker"}]})

    with pytest.raises(ConfigError) as raised:
        load_config(root)

    assert raised.value.problems == [f"{JOB}: schedule: required, but missing"]


# --- alerts.slack in the project file ------------------------------------------------------------


def test_a_bad_slack_id_is_a_config_error(repo_copy: Callable[[], Path]) -> None:
    root = repo_copy()
    project = yaml.safe_load((root / "platform.yaml").read_text())
    slack = {"workspace_id": "t0123", "channel_id": "#alerts"}
    (root / "platform.yaml").write_text(yaml.safe_dump({**project, "alerts": {"slack": slack}}))

    with pytest.raises(ConfigError) as raised:
        load_config(root)

    rule = "must be a Slack id: uppercase letters and digits, e.g. T0123ABCD"
    assert raised.value.problems == [
        f"platform.yaml: alerts.slack.workspace_id: {rule}; got 't0123'",
        f"platform.yaml: alerts.slack.channel_id: {rule}; got '#alerts'",
    ]


# --- the expressions themselves -----------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minute)",
        "rate(15 minutes)",
        "rate(1 hour)",
        "rate(36 hours)",
        "rate(1 day)",
        "cron(0 8 * * ? *)",
        "cron(0/15 * ? * MON-FRI *)",
        "cron(5,35 14 * * ? 2026-2030)",
        "cron(*/10 9-17 ? JAN-MAR 2-6 *)",
        "cron(0 18 L * ? *)",
        "cron(0 12 LW * ? *)",
        "cron(0 12 15W * ? *)",
        "cron(0 9 ? * 6L *)",
        "cron(0 9 ? * MON#1 *)",
        "cron(0 9 ? * 2#1 *)",
        "cron(0 0 1 */3 ? *)",
    ],
)
def test_expressions_eventbridge_scheduler_accepts_are_accepted(expression: str) -> None:
    assert check_schedule(expression) == expression


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 days)",
        "rate(-5 minutes)",
        "rate(05 minutes)",
        "rate(5  minutes)",
        "rate(1.5 hours)",
        "Rate(5 minutes)",
        "at(2026-01-01T00:00:00)",
        "cron(0 8 * * ? * *)",
        "cron(0 8 ? * ? *)",
        "cron(? 8 * * ? *)",
        "cron(60 8 * * ? *)",
        "cron(0 8 0 * ? *)",
        "cron(0 8 * 13 ? *)",
        "cron(0 8 ? * 8 *)",
        "cron(0 8 ? * FUN *)",
        "cron(0 8 * * ? 1969)",
        "cron(0 8 20-10 * ? *)",
        "cron(0/0 8 * * ? *)",
        "cron(0 8 ? * 2#6 *)",
        "cron(0 8 32W * ? *)",
    ],
)
def test_expressions_eventbridge_scheduler_rejects_are_rejected(expression: str) -> None:
    with pytest.raises(InvalidSchedule):
        check_schedule(expression)
