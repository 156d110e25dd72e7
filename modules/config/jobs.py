"""Long-running jobs (`kind: job`): one Fargate task per message, with status and retries."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from modules.config.base import Strict
from modules.config.services import ServiceBase
from workers.runtime.limits import MAX_JOB_TIMEOUT_SECONDS, MAX_PARALLEL_JOBS

JOB_QUEUE_TYPES = ("standard", "fifo")


class JobQueueSpec(Strict):
    """The job queue (one message per job) and its dead-letter queue."""

    type: str = Field(
        "standard",
        description=(
            "standard, or fifo: jobs of one message group never run at the same time (each "
            "waits until the one before it is final). Default: standard."
        ),
    )
    message_retention_days: int = Field(
        14, ge=1, le=14, description="How long a job may wait to be started. Default: 14 days."
    )
    dead_letter_retention_days: int = Field(
        14, ge=1, le=14, description="How long the dead-letter queue keeps one. Default: 14 days."
    )

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in JOB_QUEUE_TYPES:
            raise ValueError(f"must be {' or '.join(JOB_QUEUE_TYPES)}")
        return value


class JobSpec(ServiceBase):
    """Long-running jobs: each message on its queue runs once, as a Fargate task of its own,
    tracked in a status table, retried with backoff, never twice at once. The first container
    runs the job; any others are its sidecars. Reference: docs/long-running-jobs.md."""

    kind: Literal["job"] = Field(description="One task per message, with status and retries.")
    queue: JobQueueSpec = Field(
        default_factory=JobQueueSpec, description="The job queue and its dead-letter queue."
    )
    max_parallel_jobs: int = Field(
        5,
        ge=1,
        le=MAX_PARALLEL_JOBS,
        description="Jobs running at once; more wait in the queue. Default: 5.",
    )
    max_attempts: int = Field(
        3,
        ge=1,
        le=10,
        description="Runs of a job before it goes to the dead-letter queue. Default: 3.",
    )
    timeout_seconds: int = Field(
        3600,
        ge=1,
        le=MAX_JOB_TIMEOUT_SECONDS,
        description="Longest one attempt may run; then it fails (and is retried). Default: 3600.",
    )
    retry_delay_seconds: int = Field(
        60,
        ge=0,
        le=3600,
        description=(
            "Wait before the first retry; each next one waits twice as long, at most an hour. "
            "Default: 60."
        ),
    )
    status_retention_days: int = Field(
        30,
        ge=1,
        le=365,
        description="How long a finished job's status is kept in the table. Default: 30.",
    )

    @property
    def fifo(self) -> bool:
        return self.queue.type == "fifo"
