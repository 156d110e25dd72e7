"""Configuration: the project file and one service spec per worker, validated into typed objects.

Users edit YAML: `platform.yaml` (owned by the platform team) and
`workers/<name>/service.yaml` (owned by each service's developers). Everything is
validated here, once; stacks only ever see the typed models below. Every problem
is reported with the file, the field and what is allowed, all problems at once.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from modules.sizing import NoFargateSize, TaskSize, fargate_size

PROJECT_FILE = "platform.yaml"
SERVICE_FILE = "service.yaml"
WORKERS_DIR = "workers"

# Stacks the platform itself owns; a service may not take their names.
PLATFORM_STACKS = ("cluster", "logs")

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,19}$"
NAME_RULE = "lowercase letters, digits and '-', starting with a letter, at most 20 characters"
ENV_NAME_PATTERN = r"^[A-Z_][A-Z0-9_]*$"

# Values CloudWatch Logs accepts for retention_in_days.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
                      1096, 1827, 2192, 2557, 2922, 3288, 3653)

# Environment variables the platform sets in every worker container (see workers/README).
PLATFORM_ENVIRONMENT = (
    "AWS_REGION",
    "QUEUE_URL",
    "WORKER_CONCURRENCY",
    "HANDLER_TIMEOUT_SECONDS",
    "VISIBILITY_TIMEOUT_SECONDS",
    "SERVICE_NAME",
    "STOP_TIMEOUT_SECONDS",
)

SQS_MAX_VISIBILITY_SECONDS = 12 * 60 * 60
# Fargate sends SIGKILL at most this long after SIGTERM.
FARGATE_MAX_STOP_TIMEOUT_SECONDS = 120


class Strict(BaseModel):
    """Base for every config model: unknown keys are errors, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- project file -----------------------------------------------------------------------------


class CreatedNetwork(Strict):
    """A new VPC with private subnets only and VPC endpoints instead of a NAT gateway."""

    mode: Literal["create"] = "create"
    cidr: str = Field("10.40.0.0/16", description="VPC CIDR block, /16 to /24. Default: 10.40.0.0/16.")
    availability_zones: int = Field(
        2, ge=2, le=6, description="How many AZs get a private subnet (2 to 6). Default: 2."
    )

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value)
        except ValueError as error:
            raise ValueError(f"must be an IPv4 CIDR block such as 10.40.0.0/16 ({error})") from None
        if not 16 <= network.prefixlen <= 24:
            raise ValueError("prefix length must be between /16 and /24 (AWS VPC limits)")
        return value


class ExistingNetwork(Strict):
    """A VPC the platform team already runs; tasks go into its private subnets."""

    mode: Literal["existing"]
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$", description="The VPC id.")
    private_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(
        min_length=2, description="Private subnets in at least two AZs."
    )

    @field_validator("private_subnet_ids")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("subnet ids must be unique")
        return value


class LocalState(Strict):
    """State files in a folder of the repository (one file per stack). For trying things out."""

    backend: Literal["local"] = "local"
    path: str = Field(
        "terraform-state", description="Folder relative to the repository root. Default: terraform-state."
    )

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if value.startswith("/") or ".." in Path(value).parts or not value.strip():
            raise ValueError("must be a folder inside the repository, e.g. terraform-state")
        return value


class S3State(Strict):
    """State in S3, one key per stack, with S3-native locking."""

    backend: Literal["s3"]
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="Bucket name.")
    key_prefix: str = Field("", description="Prefix for each stack's key. Default: none.")
    region: str | None = Field(None, description="Bucket region. Default: the project's region.")
    use_lockfile: bool = Field(True, description="S3-native state locking. Default: true.")


class ProjectConfig(Strict):
    """`platform.yaml`: what every stack shares."""

    project: str = Field(pattern=NAME_PATTERN, description="Prefix of every resource name.")
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$", description="AWS region, e.g. eu-west-1.")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags on every resource.")
    network: CreatedNetwork | ExistingNetwork = Field(
        default_factory=CreatedNetwork, discriminator="mode"
    )
    state: LocalState | S3State = Field(default_factory=LocalState, discriminator="backend")
    alert_emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = Field(
        default_factory=list, description="Addresses subscribed to the alert topic. Default: none."
    )


# --- service specs ----------------------------------------------------------------------------


class ContainerSpec(Strict):
    """One container of a service's task."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,31}$", description="Container name.")
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
                key: str(item) if isinstance(item, int | float) and not isinstance(item, bool) else item
                for key, item in value.items()
            }
        return value

    @field_validator("environment")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.match(ENV_NAME_PATTERN, key):
                raise ValueError(f"variable name {key!r} must match {ENV_NAME_PATTERN}")
            if key in PLATFORM_ENVIRONMENT:
                raise ValueError(
                    f"{key} is set by the platform; reserved names are {', '.join(PLATFORM_ENVIRONMENT)}"
                )
        return value


class LogsSpec(Strict):
    retention_days: int = Field(30, description="Log retention. Default: 30 days.")

    @field_validator("retention_days")
    @classmethod
    def _allowed(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return value


class QueueSpec(Strict):
    """The consumer's queue and its dead-letter queue."""

    handler_timeout_seconds: int = Field(
        60, ge=1, le=43_000, description="Longest one message may be handled. Default: 60."
    )
    visibility_timeout_seconds: int | None = Field(
        None,
        ge=0,
        le=SQS_MAX_VISIBILITY_SECONDS,
        description="Default: handler timeout + 30 s (time to delete after the handler).",
    )
    max_receive_count: int = Field(
        5, ge=1, le=1000, description="Receives before a message goes to the DLQ. Default: 5."
    )
    message_retention_days: int = Field(4, ge=1, le=14, description="Default: 4 days.")
    dead_letter_retention_days: int = Field(14, ge=1, le=14, description="Default: 14 days.")

    @model_validator(mode="after")
    def _visibility_covers_handler(self) -> QueueSpec:
        if (
            self.visibility_timeout_seconds is not None
            and self.visibility_timeout_seconds < self.handler_timeout_seconds
        ):
            raise ValueError(
                f"visibility_timeout_seconds ({self.visibility_timeout_seconds}) must be at least "
                f"handler_timeout_seconds ({self.handler_timeout_seconds}), or a message is "
                "delivered again while its handler still runs"
            )
        if self.visibility_timeout > SQS_MAX_VISIBILITY_SECONDS:
            raise ValueError(f"handler_timeout_seconds + 30 exceeds SQS's {SQS_MAX_VISIBILITY_SECONDS} s")
        return self

    @property
    def visibility_timeout(self) -> int:
        if self.visibility_timeout_seconds is not None:
            return self.visibility_timeout_seconds
        return self.handler_timeout_seconds + 30


class ScalingMode(StrEnum):
    BACKLOG_PER_TASK = "backlog-per-task"
    QUEUE_DEPTH = "queue-depth"


class BacklogPerTaskScaling(Strict):
    """Target tracking on visible messages per running task, a 0 -> 1 step, and scale to zero when idle."""

    mode: Literal[ScalingMode.BACKLOG_PER_TASK] = ScalingMode.BACKLOG_PER_TASK
    min_tasks: int = Field(0, ge=0, le=1000, description="Default: 0 (scale to zero).")
    max_tasks: int = Field(10, ge=1, le=1000, description="Default: 10.")
    acceptable_latency_seconds: int = Field(
        300, ge=1, description="How long a message may wait before it is handled. Default: 300."
    )
    processing_time_seconds: float = Field(
        60, gt=0, description="Average handler time of one message. Default: 60."
    )
    idle_minutes: int = Field(
        15, ge=1, le=1440, description="No message visible or in flight this long -> 0 tasks. Default: 15."
    )

    @model_validator(mode="after")
    def _bounds(self) -> BacklogPerTaskScaling:
        _check_task_bounds(self.min_tasks, self.max_tasks)
        if self.acceptable_latency_seconds < self.processing_time_seconds:
            raise ValueError(
                f"acceptable_latency_seconds ({self.acceptable_latency_seconds}) must be at least "
                f"processing_time_seconds ({self.processing_time_seconds}): no backlog could meet it"
            )
        return self


class QueueDepthScaling(Strict):
    """The seed's policy: target tracking on visible messages in the queue."""

    mode: Literal[ScalingMode.QUEUE_DEPTH]
    min_tasks: int = Field(1, ge=0, le=1000, description="Default: 1.")
    max_tasks: int = Field(3, ge=1, le=1000, description="Default: 3.")
    target_visible_messages: int = Field(3, ge=1, description="Default: 3.")

    @model_validator(mode="after")
    def _bounds(self) -> QueueDepthScaling:
        _check_task_bounds(self.min_tasks, self.max_tasks)
        return self


def _check_task_bounds(min_tasks: int, max_tasks: int) -> None:
    if max_tasks < min_tasks:
        raise ValueError(f"max_tasks ({max_tasks}) must be at least min_tasks ({min_tasks})")


class ServiceBase(Strict):
    """Fields every kind of service has. `name` comes from the worker's folder."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    containers: list[ContainerSpec] = Field(min_length=1, max_length=10)
    logs: LogsSpec = Field(default_factory=LogsSpec)

    @field_validator("containers")
    @classmethod
    def _unique_names(cls, value: list[ContainerSpec]) -> list[ContainerSpec]:
        names = [container.name for container in value]
        if len(set(names)) != len(names):
            raise ValueError(f"container names must be unique; got {', '.join(names)}")
        return value

    @model_validator(mode="after")
    def _fits_fargate(self) -> ServiceBase:
        try:
            self.task_size  # noqa: B018 - computed here so that a bad size fails at load time
        except NoFargateSize as error:
            raise ValueError(f"containers: {error}") from None
        return self

    @property
    def task_size(self) -> TaskSize:
        """The Fargate size that holds all containers together."""
        return fargate_size(
            sum(container.cpu for container in self.containers),
            sum(container.memory for container in self.containers),
        )


class ConsumerSpec(ServiceBase):
    """A service that receives from its own queue and scales with the backlog."""

    kind: Literal["consumer"]
    concurrency: int = Field(4, ge=1, le=100, description="Handlers running at once per task. Default: 4.")
    queue: QueueSpec = Field(default_factory=QueueSpec)
    scaling: BacklogPerTaskScaling | QueueDepthScaling = Field(
        default_factory=BacklogPerTaskScaling, discriminator="mode"
    )

    @property
    def stop_timeout(self) -> int:
        """Seconds between SIGTERM and SIGKILL: enough to finish a handler, within Fargate's limit."""
        return min(FARGATE_MAX_STOP_TIMEOUT_SECONDS, self.queue.handler_timeout_seconds + 10)

    @property
    def backlog_target(self) -> float:
        """Visible messages one task may hold and still meet the latency goal.

        A task handles `concurrency` messages at a time, so it drains
        latency / processing_time * concurrency messages within the acceptable latency.
        """
        scaling = self.scaling
        assert isinstance(scaling, BacklogPerTaskScaling)
        return round(
            scaling.acceptable_latency_seconds / scaling.processing_time_seconds * self.concurrency, 2
        )


class ProducerSpec(ServiceBase):
    """A service that sends to a consumer's queue."""

    kind: Literal["producer"]
    sends_to: str = Field(pattern=NAME_PATTERN, description="Name of the consumer it sends to.")
    tasks: int = Field(1, ge=0, le=1000, description="Running tasks. Default: 1.")


ServiceSpec = Annotated[ConsumerSpec | ProducerSpec, Field(discriminator="kind")]
ServiceT = TypeVar("ServiceT", ConsumerSpec, ProducerSpec)
M = TypeVar("M")
SERVICE_KINDS = ("consumer", "producer")


class PlatformConfig(BaseModel):
    """The whole configuration: the project and every service, sorted by name."""

    model_config = ConfigDict(frozen=True)

    root: Path
    project: ProjectConfig
    services: tuple[ConsumerSpec | ProducerSpec, ...]

    def service(self, name: str) -> ConsumerSpec | ProducerSpec:
        return next(service for service in self.services if service.name == name)

    def of_kind(self, kind: type[ServiceT]) -> list[ServiceT]:
        return [service for service in self.services if isinstance(service, kind)]


# --- loading ----------------------------------------------------------------------------------


class ConfigError(Exception):
    """One or more configuration problems, each `file: field: what is wrong and what is allowed`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that rejects duplicate keys instead of silently keeping the last."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.MarkedYAMLError(
                problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def _read_yaml(path: Path, label: str) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506
    except FileNotFoundError:
        raise ConfigError([f"{label}: file not found"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{label}: not UTF-8 text"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError([f"{label}{where}: invalid YAML: {problem}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{label}: must be a mapping of keys to values, got {type(data).__name__}"])
    return data


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    """A pydantic error as (dotted field path, message in plain words)."""
    # Tagged unions add the tag ('consumer', 'create', ...) to the path: drop it.
    tags = {*SERVICE_KINDS, "create", "existing", "local", "s3", *ScalingMode}
    loc = [str(part) for part in error["loc"] if str(part) not in tags]
    field = ".".join(loc) or "(top level)"
    kind = error["type"]
    message = error["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "union_tag_invalid":
        field = ".".join([*loc, error["ctx"]["discriminator"].strip("'")])
        message = f"must be one of {error['ctx']['expected_tags']}; got {error['ctx']['tag']!r}"
    elif kind == "union_tag_not_found":
        field = ".".join([*loc, error["ctx"]["discriminator"].strip("'")])
        message = "missing"
    elif kind == "missing":
        message = "required, but missing"
    elif kind == "string_pattern_mismatch" and loc and loc[-1] in ("project", "name", "sends_to"):
        message = f"must be {NAME_RULE}; got {error['input']!r}"
    elif not isinstance(error.get("input"), dict | list):
        message = f"{message}; got {error['input']!r}"
    return field, message


def _validate(adapter: TypeAdapter[M], data: dict[str, Any], label: str) -> M:
    try:
        return adapter.validate_python(data)
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            field, message = _describe(item)
            problems.append(f"{label}: {field}: {message}")
        raise ConfigError(problems) from None


_PROJECT = TypeAdapter(ProjectConfig)
_SERVICE: TypeAdapter[ConsumerSpec | ProducerSpec] = TypeAdapter(ServiceSpec)


def load_config(root: Path) -> PlatformConfig:
    """Read and validate `platform.yaml` and every `workers/*/service.yaml` under `root`.

    Raises ConfigError listing every problem found; returns nothing partial.
    """
    problems: list[str] = []
    project: ProjectConfig | None = None
    try:
        project = _validate(_PROJECT, _read_yaml(root / PROJECT_FILE, PROJECT_FILE), PROJECT_FILE)
    except ConfigError as error:
        problems += error.problems

    services: list[ConsumerSpec | ProducerSpec] = []
    for spec_path in sorted((root / WORKERS_DIR).glob(f"*/{SERVICE_FILE}")):
        label = spec_path.relative_to(root).as_posix()
        try:
            data = _read_yaml(spec_path, label)
            if "name" in data:
                raise ConfigError([f"{label}: name: unknown key; a service is named by its folder"])
            services.append(_validate(_SERVICE, {**data, "name": spec_path.parent.name}, label))
        except ConfigError as error:
            problems += error.problems

    problems += _cross_checks(services)
    if problems:
        raise ConfigError(problems)
    assert project is not None
    return PlatformConfig(root=root, project=project, services=tuple(services))


def _cross_checks(services: list[ConsumerSpec | ProducerSpec]) -> list[str]:
    """Rules that span several files."""
    problems = []
    consumers = {service.name for service in services if isinstance(service, ConsumerSpec)}
    for service in services:
        label = f"{WORKERS_DIR}/{service.name}/{SERVICE_FILE}"
        if service.name in PLATFORM_STACKS:
            problems.append(
                f"{label}: name: '{service.name}' is taken by a platform stack "
                f"({', '.join(PLATFORM_STACKS)}); rename the folder"
            )
        if isinstance(service, ProducerSpec) and service.sends_to not in consumers:
            allowed = ", ".join(sorted(consumers)) or "none declared"
            problems.append(
                f"{label}: sends_to: no consumer named '{service.sends_to}' declares a queue; "
                f"consumers: {allowed}"
            )
    return problems
