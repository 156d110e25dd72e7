"""Starting a job's task: the one thing that differs between AWS and a laptop.

`TaskLauncher` is the interface; `EcsTaskLauncher` calls RunTask. Locally (devtools/local_jobs.py)
a launcher starts the job's command as a process instead. Both take the same request and must
be idempotent per `client_token`: the dispatcher may ask twice for the same attempt after it
died between starting a task and noting its ARN.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from workers.runtime.jobs.settings import JOB_ATTEMPT_VARIABLE, JOB_ID_VARIABLE

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

    from workers.runtime.jobs.settings import LaunchSettings

__all__ = ["EcsTaskLauncher", "LaunchFailed", "LaunchRequest", "TaskLauncher"]

# On-demand Fargate, as services and scheduled jobs use (a Spot interruption costs an attempt).
CAPACITY_PROVIDER = "FARGATE"
# `startedBy` on every job task: the ECS console and `list-tasks --started-by` show them.
STARTED_BY = "jobs-dispatcher"


@dataclass(frozen=True)
class LaunchRequest:
    job_id: str
    attempt: int

    @property
    def client_token(self) -> str:
        """RunTask's idempotency token (at most 64 characters): one per job attempt."""
        return hashlib.sha256(f"{self.job_id}#{self.attempt}".encode()).hexdigest()

    def environment(self) -> dict[str, str]:
        """What the job runner reads to know its job (container overrides)."""
        return {JOB_ID_VARIABLE: self.job_id, JOB_ATTEMPT_VARIABLE: str(self.attempt)}


class LaunchFailed(Exception):
    """The task could not be started; the message says why (it becomes the attempt's reason)."""


class TaskLauncher(Protocol):
    def launch(self, request: LaunchRequest) -> str:
        """Start the job's task; return its ARN. Raises LaunchFailed."""
        ...


class EcsTaskLauncher:
    """RunTask on Fargate in the cluster's private subnets, without a public IP."""

    def __init__(self, client: ECSClient, settings: LaunchSettings) -> None:
        self.client = client
        self.settings = settings

    def launch(self, request: LaunchRequest) -> str:
        settings = self.settings
        try:
            response = self.client.run_task(
                cluster=settings.cluster,
                taskDefinition=settings.task_definition,
                count=1,
                capacityProviderStrategy=[{"capacityProvider": CAPACITY_PROVIDER, "weight": 1}],
                platformVersion="LATEST",
                networkConfiguration={
                    "awsvpcConfiguration": {
                        "subnets": list(settings.subnets),
                        "securityGroups": list(settings.security_groups),
                        "assignPublicIp": "DISABLED",
                    }
                },
                overrides={
                    "containerOverrides": [
                        {
                            "name": settings.container,
                            "environment": [
                                {"name": name, "value": value}
                                for name, value in request.environment().items()
                            ],
                        }
                    ]
                },
                startedBy=STARTED_BY,
                clientToken=request.client_token,
                propagateTags="TASK_DEFINITION",
                enableECSManagedTags=True,
            )
        except (BotoCoreError, ClientError) as error:
            raise LaunchFailed(f"RunTask failed: {error}") from None
        tasks = response.get("tasks", [])
        if tasks:
            return str(tasks[0]["taskArn"])
        failures = "; ".join(
            f"{failure.get('reason', '?')} {failure.get('detail', '')}".strip()
            for failure in response.get("failures", [])
        )
        raise LaunchFailed(f"RunTask started no task: {failures or 'no reason given'}")
