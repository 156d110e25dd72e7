"""What the dispatcher, the reaper and the job runner read from their environment.

The job stack builds the same dataclasses and writes them with `to_env()`, so the variable
names and their meaning are defined once, here. `from_env` checks every value and raises
EnvError with one clear line.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from workers.runtime import env
from workers.runtime.kinds import QUEUE_URL_VARIABLE
from workers.runtime.limits import (
    MAX_JOB_TIMEOUT_SECONDS,
    MAX_PARALLEL_JOBS,
    SQS_MAX_VISIBILITY_SECONDS,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["LaunchSettings", "PlatformSettings", "QueueType", "RunnerSettings"]

# Waiting for a slot or a group: a message comes back after 5 s, then 10, 20... at most 5 min.
DEFAULT_WAIT_BASE_SECONDS = 5
DEFAULT_WAIT_CAP_SECONDS = 300


class QueueType(StrEnum):
    STANDARD = "standard"
    FIFO = "fifo"


def _queue_type(name: str, source: Mapping[str, str] | None) -> QueueType:
    raw = env.optional_str(name, QueueType.STANDARD, source)
    try:
        return QueueType(raw)
    except ValueError:
        raise env.EnvError(f"{name}={raw!r} is not valid: must be standard or fifo") from None


def _int(name: str, default: float, low: int, high: int, source: Mapping[str, str] | None) -> int:
    return int(env.number(name, default, minimum=low, maximum=high, integer=True, env=source))


def _required_int(name: str, low: int, high: int, source: Mapping[str, str] | None) -> int:
    env.required_str(name, source)  # a clear "is required" rather than a silent default
    return _int(name, 0, low, high, source)


def _csv(name: str, source: Mapping[str, str] | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.required_str(name, source).split(",") if part.strip())


@dataclass(frozen=True)
class PlatformSettings:
    """What the dispatcher and the reaper share: the table, the queues and the job's limits.

    wait_base_seconds / wait_cap_seconds: how a message waiting for a slot or its group comes
    back (base * 2^(receives - 1), at most the cap). Default: 5 s and 300 s.
    """

    table: str
    queue_url: str
    dead_letter_queue_url: str
    queue_type: QueueType
    max_parallel_jobs: int
    max_attempts: int
    retry_delay_seconds: int
    status_retention_days: int
    wait_base_seconds: int = DEFAULT_WAIT_BASE_SECONDS
    wait_cap_seconds: int = DEFAULT_WAIT_CAP_SECONDS

    @property
    def fifo(self) -> bool:
        return self.queue_type == QueueType.FIFO

    def to_env(self) -> dict[str, str]:
        values = {
            "JOBS_TABLE": self.table,
            QUEUE_URL_VARIABLE: self.queue_url,
            "DEAD_LETTER_QUEUE_URL": self.dead_letter_queue_url,
            "QUEUE_TYPE": str(self.queue_type),
            "MAX_PARALLEL_JOBS": str(self.max_parallel_jobs),
            "MAX_ATTEMPTS": str(self.max_attempts),
            "RETRY_DELAY_SECONDS": str(self.retry_delay_seconds),
            "STATUS_RETENTION_DAYS": str(self.status_retention_days),
        }
        # Only when they differ from the defaults: the stack never sets them.
        if self.wait_base_seconds != DEFAULT_WAIT_BASE_SECONDS:
            values["WAIT_BASE_SECONDS"] = str(self.wait_base_seconds)
        if self.wait_cap_seconds != DEFAULT_WAIT_CAP_SECONDS:
            values["WAIT_CAP_SECONDS"] = str(self.wait_cap_seconds)
        return values

    @classmethod
    def from_env(cls, source: Mapping[str, str] | None = None) -> PlatformSettings:
        return cls(
            table=env.required_str("JOBS_TABLE", source),
            queue_url=env.required_str(QUEUE_URL_VARIABLE, source),
            dead_letter_queue_url=env.required_str("DEAD_LETTER_QUEUE_URL", source),
            queue_type=_queue_type("QUEUE_TYPE", source),
            max_parallel_jobs=_required_int("MAX_PARALLEL_JOBS", 1, MAX_PARALLEL_JOBS, source),
            max_attempts=_required_int("MAX_ATTEMPTS", 1, 100, source),
            retry_delay_seconds=_required_int(
                "RETRY_DELAY_SECONDS", 0, SQS_MAX_VISIBILITY_SECONDS, source
            ),
            status_retention_days=_required_int("STATUS_RETENTION_DAYS", 1, 3650, source),
            wait_base_seconds=_int(
                "WAIT_BASE_SECONDS",
                DEFAULT_WAIT_BASE_SECONDS,
                0,
                SQS_MAX_VISIBILITY_SECONDS,
                source,
            ),
            wait_cap_seconds=_int(
                "WAIT_CAP_SECONDS", DEFAULT_WAIT_CAP_SECONDS, 0, SQS_MAX_VISIBILITY_SECONDS, source
            ),
        )


@dataclass(frozen=True)
class LaunchSettings:
    """Where RunTask starts a job's task: cluster, task definition, network, job container."""

    cluster: str
    task_definition: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    container: str

    def to_env(self, subnets: str | None = None) -> dict[str, str]:
        """`subnets`: the comma-separated list, when it is a Terraform expression (the stack)."""
        return {
            "CLUSTER": self.cluster,
            "TASK_DEFINITION": self.task_definition,
            "SUBNETS": subnets if subnets is not None else ",".join(self.subnets),
            "SECURITY_GROUPS": ",".join(self.security_groups),
            "JOB_CONTAINER": self.container,
        }

    @classmethod
    def from_env(cls, source: Mapping[str, str] | None = None) -> LaunchSettings:
        return cls(
            cluster=env.required_str("CLUSTER", source),
            task_definition=env.required_str("TASK_DEFINITION", source),
            subnets=_csv("SUBNETS", source),
            security_groups=_csv("SECURITY_GROUPS", source),
            container=env.required_str("JOB_CONTAINER", source),
        )


# The variables RunTask sets per task (container overrides): which job, which attempt.
JOB_ID_VARIABLE = "JOB_ID"
JOB_ATTEMPT_VARIABLE = "JOB_ATTEMPT"
# Set by the local launcher only; in ECS the runner asks the task metadata endpoint.
JOB_TASK_ARN_VARIABLE = "JOB_TASK_ARN"


@dataclass(frozen=True)
class RunnerSettings:
    """The job runner's view: its table and limits (task definition) and its job (overrides)."""

    table: str
    job_id: str
    attempt: int
    timeout_seconds: int
    status_retention_days: int

    @staticmethod
    def task_definition_env(
        table: str, timeout_seconds: int, status_retention_days: int
    ) -> dict[str, str]:
        """What the task definition sets; RunTask adds JOB_ID and JOB_ATTEMPT per task."""
        return {
            "JOBS_TABLE": table,
            "JOB_TIMEOUT_SECONDS": str(timeout_seconds),
            "STATUS_RETENTION_DAYS": str(status_retention_days),
        }

    @classmethod
    def from_env(cls, source: Mapping[str, str] | None = None) -> RunnerSettings:
        return cls(
            table=env.required_str("JOBS_TABLE", source),
            job_id=env.required_str(JOB_ID_VARIABLE, source),
            attempt=_required_int(JOB_ATTEMPT_VARIABLE, 1, 100, source),
            timeout_seconds=_required_int(
                "JOB_TIMEOUT_SECONDS", 1, MAX_JOB_TIMEOUT_SECONDS, source
            ),
            status_retention_days=_required_int("STATUS_RETENTION_DAYS", 1, 3650, source),
        )
