"""Scheduled jobs (`kind: scheduled`): containers that run to completion on a schedule."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from modules.config.base import NAME_PATTERN, Strict
from modules.config.services import ServiceBase
from modules.schedule_expression import check_schedule, check_timezone


class RetrySpec(Strict):
    """How EventBridge Scheduler retries starting the job's tasks when RunTask fails (throttling,
    no capacity). A task that starts and then fails is not retried: it raises an alert."""

    maximum_retry_attempts: int = Field(
        185, ge=0, le=185, description="Retries of a failed start. Default: 185."
    )
    maximum_event_age_seconds: int = Field(
        86400,
        ge=60,
        le=86400,
        description=(
            "Give up (and send the invocation to the DLQ) this many seconds after the scheduled "
            "time. Default: 86400."
        ),
    )


class ScheduledSpec(ServiceBase):
    """A job: its containers run to completion on a schedule (EventBridge Scheduler -> RunTask)."""

    kind: Literal["scheduled"] = Field(description="Runs on a schedule, then exits.")
    schedule: str = Field(
        description=(
            "When it runs: rate(<n> minute(s)|hour(s)|day(s)), or cron(<minutes> <hours> "
            "<day-of-month> <month> <day-of-week> <year>) with `?` in one day field, "
            "e.g. rate(15 minutes) or cron(0 8 ? * MON-FRI *)."
        )
    )
    timezone: str = Field(
        "UTC", description="IANA time zone a cron schedule is read in. Default: UTC."
    )
    enabled: bool = Field(
        True,
        description=(
            "false pauses the schedule and keeps every resource; true resumes it. Default: true."
        ),
    )
    task_count: int = Field(1, ge=1, le=10, description="Tasks each run starts. Default: 1.")
    retry: RetrySpec = Field(
        default_factory=RetrySpec,
        description="Retries of a run whose tasks could not be started (Scheduler's defaults).",
    )
    flexible_window_minutes: int | None = Field(
        None,
        ge=1,
        le=1440,
        description=(
            "Let Scheduler start a run up to this many minutes late, to spread load. "
            "Default: off (on time)."
        ),
    )
    watches: str | None = Field(
        None,
        pattern=NAME_PATTERN,
        description=(
            "A consumer whose queue the job may read the attributes of (depth, in flight); its "
            "URL is QUEUE_URL. Default: none."
        ),
    )

    # InvalidSchedule is a ValueError: pydantic reports its message as the field's problem.
    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return check_schedule(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return check_timezone(value)
