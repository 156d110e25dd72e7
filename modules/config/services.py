"""What every `service.yaml` has, whatever its kind: the name (from the folder), a description,
the log group, and for every kind that runs tasks, its containers and the Fargate size they add
up to."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from modules.config.base import (
    CONTAINER_NAME_PATTERN,
    ENV_NAME_PATTERN,
    HANDLER_PATTERN,
    NAME_PATTERN,
    PATTERN_RULES,
    FieldError,
    Strict,
    _repeated,
)
from modules.config.limits import task_definition_problem
from modules.sizing import NoFargateSize, TaskSize, fargate_size
from workers.runtime.consumer_settings import ConsumerSettings
from workers.runtime.jobs.settings import (
    JOB_ATTEMPT_VARIABLE,
    JOB_ID_VARIABLE,
    JOB_TASK_ARN_VARIABLE,
    RunnerSettings,
)
from workers.runtime.kinds import (
    HANDLER_MODULE,
    KINDS,
    Kind,
    TaskSettings,
    handler_target,
)

# Values CloudWatch Logs accepts for retention_in_days.
# fmt: off
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
                      1096, 1827, 2192, 2557, 2922, 3288, 3653)
# fmt: on

# Environment variables the platform sets in worker containers (see workers/README), named by
# the runtime's settings classes: what every task is told, what the consumer stack always writes
# (the producer's and the scheduled task's queue among it), the job runner's task definition
# variables and the ones RunTask (or the local launcher) adds per job.
PLATFORM_ENVIRONMENT = tuple(
    dict.fromkeys(
        (
            *TaskSettings(region="", service_name="", kind="", handler="").to_env(),
            *ConsumerSettings(queue_url="").to_env(),
            *RunnerSettings.task_definition_env(
                table="", timeout_seconds=0, status_retention_days=0
            ),
            JOB_ID_VARIABLE,
            JOB_ATTEMPT_VARIABLE,
            JOB_TASK_ARN_VARIABLE,
        )
    )
)


class ContainerSpec(Strict):
    """One container of a service's task."""

    name: str = Field(pattern=CONTAINER_NAME_PATTERN, description="Container name.")
    cpu: int = Field(256, ge=128, le=16384, description="CPU units (1024 = 1 vCPU). Default: 256.")
    memory: int = Field(512, ge=128, le=122880, description="Memory in MiB. Default: 512.")
    command: list[str] | None = Field(None, description="Overrides the image's CMD. Default: none.")
    environment: dict[str, str] = Field(default_factory=dict, description="Extra variables.")

    @field_validator("environment", mode="before")
    @classmethod
    def _scalar_values(cls, value: Any) -> Any:
        # YAML reads `60` as an int; a container only ever sees strings.
        if isinstance(value, dict):
            return {
                key: str(item)
                if isinstance(item, int | float) and not isinstance(item, bool)
                else item
                for key, item in value.items()
            }
        return value

    @field_validator("environment")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(ENV_NAME_PATTERN, key):
                raise FieldError(key, f"a variable name must be {PATTERN_RULES[ENV_NAME_PATTERN]}")
            if key in PLATFORM_ENVIRONMENT:
                raise FieldError(
                    key,
                    "is set by the platform; choose another name (reserved: "
                    f"{', '.join(PLATFORM_ENVIRONMENT)})",
                )
        return value


class LogsSpec(Strict):
    """The service's CloudWatch log group (the logs stack owns it, so it outlives the service)."""

    retention_days: int = Field(
        30,
        description=(
            f"Days the logs are kept: one of {', '.join(map(str, LOG_RETENTION_DAYS))}. "
            "Default: 30."
        ),
    )

    @field_validator("retention_days")
    @classmethod
    def _allowed(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return value


class SpecBase(Strict):
    """What every `service.yaml` has, whatever its kind. `name` comes from the folder."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field("", description="What the service does, for its readers.")


class ServiceBase(SpecBase):
    """Fields every kind of service has (but `ingest`, which runs no containers: it takes
    `description` and `logs` only). `name` comes from the worker's folder."""

    containers: list[ContainerSpec] = Field(
        min_length=1,
        max_length=10,
        description="The task's containers; their cpu and memory add up to the task size.",
    )
    logs: LogsSpec = Field(default_factory=LogsSpec, description="The service's log group.")
    handler: str | None = Field(
        None,
        pattern=HANDLER_PATTERN,
        description=(
            "The function the platform calls, as 'module:function' inside the service's folder "
            "(README: Adding a service). Default: the kind's function in the module handler: "
            "handler:handle for a consumer, handler:produce for a producer, handler:run for a "
            "scheduled job or a job"
        ),
    )

    @field_validator("containers")
    @classmethod
    def _unique_names(cls, value: list[ContainerSpec]) -> list[ContainerSpec]:
        repeated = _repeated([container.name for container in value])
        if repeated:
            raise ValueError(f"container names must be unique; used more than once: {repeated}")
        return value

    @model_validator(mode="after")
    def _fits_fargate(self) -> ServiceBase:
        try:
            self.task_size  # noqa: B018 - computed here so that a bad size fails at load time
        except NoFargateSize as error:
            raise FieldError(
                "containers", f"{error} (cpu and memory add up over the containers)"
            ) from None
        return self

    @model_validator(mode="after")
    def _fits_a_task_definition(self) -> ServiceBase:
        problem = task_definition_problem(self.containers)
        if problem is not None:
            raise FieldError("containers", problem)
        return self

    @property
    def kind_name(self) -> str:
        """The service's `kind`: a literal field of each subclass, not of this base."""
        return str(getattr(self, "kind"))  # noqa: B009 - the attribute is the subclass's

    @property
    def runtime_kind(self) -> Kind:
        """What the runtime calls in this service (workers.runtime.kinds)."""
        return KINDS[self.kind_name]

    @property
    def handler_module(self) -> str:
        """The handler's module inside the service's folder, dotted (`handler` by default)."""
        return HANDLER_MODULE if self.handler is None else self.handler.partition(":")[0]

    @property
    def handler_function(self) -> str:
        """The handler's name (the kind's function by default)."""
        return (
            self.runtime_kind.function if self.handler is None else self.handler.partition(":")[2]
        )

    def task_settings(self, region: str) -> TaskSettings:
        """What every container of the service's task is told about itself (task definition)."""
        return TaskSettings(
            region=region,
            service_name=self.name,
            kind=self.kind_name,
            handler=handler_target(self.name, self.handler_module, self.handler_function),
        )

    @property
    def task_size(self) -> TaskSize:
        """The Fargate size that holds all containers together."""
        return fargate_size(
            sum(container.cpu for container in self.containers),
            sum(container.memory for container in self.containers),
        )
