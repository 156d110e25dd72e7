"""Configuration: the project file and one service spec per worker, validated into typed objects.

Users edit YAML: `platform.yaml` (owned by the platform team) and
`workers/<name>/service.yaml` (owned by each service's developers). Everything is
validated here, once; stacks only ever see the typed models below. Every problem
is reported with the file, the field and what is allowed, all problems at once.
"""

from __future__ import annotations

import difflib
import ipaddress
import itertools
import re
import types
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from modules.ingest_contract import (
    DEFAULT_REQUEST_SCHEMA,
    JSON_SCHEMA_DRAFT_4,
    Route,
    check_request_schema,
)
from modules.schedule_expression import check_schedule, check_timezone
from modules.sizing import NoFargateSize, TaskSize, fargate_size

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic_core import ErrorDetails

PROJECT_FILE = "platform.yaml"
SERVICE_FILE = "service.yaml"
WORKERS_DIR = "workers"

# Stacks the platform itself owns; a service may not take their names.
PLATFORM_STACKS = ("cluster", "logs")

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,19}$"
NAME_RULE = "lowercase letters, digits and '-', starting with a letter, at most 20 characters"
ENV_NAME_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
VPC_ID_PATTERN = r"^vpc-[0-9a-f]{8,17}$"
SUBNET_ID_PATTERN = r"^subnet-[0-9a-f]{8,17}$"
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
CONTAINER_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"
_REGION = r"[a-z]{2}(-gov)?-[a-z]+-\d"
COGNITO_ISSUER_PATTERN = rf"^https://cognito-idp\.{_REGION}\.amazonaws\.com/{_REGION}_[0-9A-Za-z]+$"
COGNITO_CLIENT_ID_PATTERN = r"^[\w+]{1,128}$"
# What each pattern means, in the words an error message uses ("must be ...").
PATTERN_RULES = {
    NAME_PATTERN: NAME_RULE,
    REGION_PATTERN: "an AWS region such as eu-west-1",
    VPC_ID_PATTERN: "a VPC id: 'vpc-' and 8 to 17 hex digits, e.g. vpc-0a1b2c3d4e5f67890",
    SUBNET_ID_PATTERN: "a subnet id: 'subnet-' and 8 to 17 hex digits, e.g. subnet-0a1b2c3d",
    BUCKET_PATTERN: "an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-'",
    EMAIL_PATTERN: "an email address such as team@example.com",
    CONTAINER_NAME_PATTERN: (
        "lowercase letters, digits and '-', starting with a letter, at most 32 characters"
    ),
    ENV_NAME_PATTERN: "uppercase letters, digits and '_', not starting with a digit",
    COGNITO_ISSUER_PATTERN: (
        "a Cognito user pool issuer, https://cognito-idp.<region>.amazonaws.com/<user pool id>"
    ),
    COGNITO_CLIENT_ID_PATTERN: "a Cognito app client id: letters, digits, '_' or '+'",
}

# Values CloudWatch Logs accepts for retention_in_days.
# fmt: off
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
                      1096, 1827, 2192, 2557, 2922, 3288, 3653)
# fmt: on

# Environment variables the platform sets in every worker container (see workers/README).
PLATFORM_ENVIRONMENT = (
    "AWS_REGION",
    "QUEUE_URL",
    "WORKER_CONCURRENCY",
    "WORKER_PREFETCH",
    "HANDLER_TIMEOUT_SECONDS",
    "VISIBILITY_TIMEOUT_SECONDS",
    "SERVICE_NAME",
    "STOP_TIMEOUT_SECONDS",
    # Jobs (kind: job): the runner's table and timeout; RunTask sets the job per task.
    "JOBS_TABLE",
    "JOB_ID",
    "JOB_ATTEMPT",
    "JOB_TIMEOUT_SECONDS",
    "JOB_TASK_ARN",
    "STATUS_RETENTION_DAYS",
)

# The consumer's SQS read timeout: a 20 s long poll + 10 s (workers/runtime/aws.py, checked equal
# by a test). A queue's visibility timeout must outlast it.
CONSUMER_READ_TIMEOUT_SECONDS = 30
SQS_MAX_VISIBILITY_SECONDS = 12 * 60 * 60
# Fargate sends SIGKILL at most this long after SIGTERM.
FARGATE_MAX_STOP_TIMEOUT_SECONDS = 120


class FieldError(ValueError):
    """A problem a validator found in one field of the model it validates.

    Pydantic places a model validator's error at the model itself; raising this instead lets the
    message name the field (`queue.visibility_timeout_seconds`, not `queue`).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Strict(BaseModel):
    """Base for every config model: unknown keys are errors, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- project file -----------------------------------------------------------------------------


class CreatedNetwork(Strict):
    """A new VPC with private subnets only and VPC endpoints instead of a NAT gateway."""

    mode: Literal["create"] = Field("create", description="Create a new VPC.")
    cidr: str = Field(
        "10.40.0.0/16", description="VPC CIDR block, /16 to /24. Default: 10.40.0.0/16."
    )
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

    mode: Literal["existing"] = Field(description="Use a VPC that already exists.")
    vpc_id: str = Field(pattern=VPC_ID_PATTERN, description="The VPC id.")
    private_subnet_ids: list[Annotated[str, Field(pattern=SUBNET_ID_PATTERN)]] = Field(
        min_length=2, description="Private subnets in at least two AZs."
    )

    @field_validator("private_subnet_ids")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        repeated = _repeated(value)
        if repeated:
            raise ValueError(f"must be unique; listed more than once: {repeated}")
        return value


class LocalState(Strict):
    """State files in a folder of the repository (one file per stack). For trying things out."""

    backend: Literal["local"] = Field("local", description="State files in this repository.")
    path: str = Field(
        "terraform-state",
        description="Folder relative to the repository root. Default: terraform-state.",
    )

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if value.startswith("/") or ".." in Path(value).parts or not value.strip():
            raise ValueError("must be a folder inside the repository, e.g. terraform-state")
        return value


class S3State(Strict):
    """State in S3, one key per stack, with S3-native locking."""

    backend: Literal["s3"] = Field(description="State in an S3 bucket.")
    bucket: str = Field(pattern=BUCKET_PATTERN, description="Bucket name.")
    key_prefix: str = Field("", description="Prefix for each stack's key. Default: none.")
    region: str | None = Field(None, description="Bucket region. Default: the project's region.")
    use_lockfile: bool = Field(True, description="S3-native state locking. Default: true.")


# Slack workspace and channel ids, as AWS Chatbot takes them (T0123ABCD, C0123ABCD).
SLACK_ID_PATTERN = r"^[0-9A-Z]{1,255}$"


class SlackChannel(Strict):
    """A Slack channel that receives every alert through AWS Chatbot.

    The workspace must have been authorized once in the AWS Chatbot console (an OAuth step
    Terraform cannot do); after that, Terraform only needs the two ids.
    """

    workspace_id: str = Field(
        description="Slack workspace (team) id, e.g. T0123ABCD (shown in the Chatbot console)."
    )
    channel_id: str = Field(
        description="Slack channel id, e.g. C0123ABCD (Slack: channel details, at the bottom)."
    )

    @field_validator("workspace_id", "channel_id")
    @classmethod
    def _slack_id(cls, value: str) -> str:
        if not re.fullmatch(SLACK_ID_PATTERN, value):
            raise ValueError("must be a Slack id: uppercase letters and digits, e.g. T0123ABCD")
        return value


class AlertsSpec(Strict):
    """Where alerts go besides `alert_emails`."""

    slack: SlackChannel | None = Field(
        None, description="Also post every alert to this Slack channel. Default: none."
    )


class ProjectConfig(Strict):
    """`platform.yaml`: what every stack shares."""

    project: str = Field(pattern=NAME_PATTERN, description="Prefix of every resource name.")
    region: str = Field(pattern=REGION_PATTERN, description="AWS region, e.g. eu-west-1.")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags on every resource.")
    network: CreatedNetwork | ExistingNetwork = Field(
        default_factory=CreatedNetwork,
        discriminator="mode",
        description="Where tasks run: a new VPC (`mode: create`) or an existing one.",
    )
    state: LocalState | S3State = Field(
        default_factory=LocalState,
        discriminator="backend",
        description="Where Terraform keeps each stack's state: `local` files or `s3`.",
    )
    alert_emails: list[Annotated[str, Field(pattern=EMAIL_PATTERN)]] = Field(
        default_factory=list, description="Addresses subscribed to the alert topic. Default: none."
    )
    alerts: AlertsSpec = Field(
        default_factory=AlertsSpec,
        description="Where alerts go besides alert_emails: a Slack channel, if any.",
    )


# --- service specs ----------------------------------------------------------------------------


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
            if not re.match(ENV_NAME_PATTERN, key):
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


class QueueSpec(Strict):
    """The consumer's queue and its dead-letter queue."""

    handler_timeout_seconds: int = Field(
        60, ge=1, le=43_000, description="Longest one message may be handled. Default: 60."
    )
    visibility_timeout_seconds: int | None = Field(
        None,
        ge=0,
        le=SQS_MAX_VISIBILITY_SECONDS,
        description=(
            "How long a received message stays hidden from other receivers; at least the handler "
            "timeout. Default: handler timeout + 30 s (time to delete after the handler)."
        ),
    )
    max_receive_count: int = Field(
        5, ge=1, le=1000, description="Receives before a message goes to the DLQ. Default: 5."
    )
    message_retention_days: int = Field(
        4, ge=1, le=14, description="How long a message waits to be received. Default: 4 days."
    )
    dead_letter_retention_days: int = Field(
        14, ge=1, le=14, description="How long the dead-letter queue keeps one. Default: 14 days."
    )

    @model_validator(mode="after")
    def _visibility_covers_handler(self) -> QueueSpec:
        if (
            self.visibility_timeout_seconds is not None
            and self.visibility_timeout_seconds < self.handler_timeout_seconds
        ):
            raise FieldError(
                "visibility_timeout_seconds",
                f"must be at least handler_timeout_seconds ({self.handler_timeout_seconds}), or a "
                "message is delivered again while its handler still runs; "
                f"got {self.visibility_timeout_seconds}",
            )
        if self.visibility_timeout <= CONSUMER_READ_TIMEOUT_SECONDS:
            raise FieldError(
                "visibility_timeout_seconds",
                f"must be more than {CONSUMER_READ_TIMEOUT_SECONDS}, the consumer's receive read "
                "timeout (a long poll may hold messages that long before the consumer sees "
                f"them); got {self.visibility_timeout}",
            )
        if self.visibility_timeout > SQS_MAX_VISIBILITY_SECONDS:
            raise FieldError(
                "handler_timeout_seconds",
                f"plus 30 s must be at most SQS's {SQS_MAX_VISIBILITY_SECONDS} s visibility "
                f"timeout; got {self.handler_timeout_seconds}",
            )
        return self

    @property
    def visibility_timeout(self) -> int:
        if self.visibility_timeout_seconds is not None:
            return self.visibility_timeout_seconds
        return self.handler_timeout_seconds + 30


class ScalingMode(StrEnum):
    BACKLOG_PER_TASK = "backlog-per-task"
    QUEUE_DEPTH = "queue-depth"
    STEPS = "steps"


class BacklogPerTaskScaling(Strict):
    """Target tracking on visible messages per task, a 0 -> 1 step, and scale to zero when idle."""

    mode: Literal[ScalingMode.BACKLOG_PER_TASK] = Field(
        ScalingMode.BACKLOG_PER_TASK, description="Scale on visible messages per running task."
    )
    min_tasks: int = Field(
        0, ge=0, le=1000, description="Fewest running tasks; 0 scales to zero. Default: 0."
    )
    max_tasks: int = Field(10, ge=1, le=1000, description="Most running tasks. Default: 10.")
    acceptable_latency_seconds: int = Field(
        300, ge=1, description="How long a message may wait before it is handled. Default: 300."
    )
    processing_time_seconds: float = Field(
        60, gt=0, description="Average handler time of one message. Default: 60."
    )
    idle_minutes: int = Field(
        15,
        ge=1,
        le=1440,
        description="No message visible or in flight this long -> 0 tasks. Default: 15.",
    )

    @model_validator(mode="after")
    def _bounds(self) -> BacklogPerTaskScaling:
        _check_task_bounds(self.min_tasks, self.max_tasks)
        if self.acceptable_latency_seconds < self.processing_time_seconds:
            raise FieldError(
                "acceptable_latency_seconds",
                f"must be at least processing_time_seconds ({self.processing_time_seconds:g}), or "
                f"no backlog per task can meet it; got {self.acceptable_latency_seconds}",
            )
        return self


class QueueDepthScaling(Strict):
    """The seed's policy: target tracking on visible messages in the queue."""

    mode: Literal[ScalingMode.QUEUE_DEPTH] = Field(
        description="Scale on visible messages in the queue (the seed's policy)."
    )
    min_tasks: int = Field(1, ge=0, le=1000, description="Fewest running tasks. Default: 1.")
    max_tasks: int = Field(3, ge=1, le=1000, description="Most running tasks. Default: 3.")
    target_visible_messages: int = Field(
        3, ge=1, description="Visible messages the policy keeps the queue at. Default: 3."
    )

    @model_validator(mode="after")
    def _bounds(self) -> QueueDepthScaling:
        _check_task_bounds(self.min_tasks, self.max_tasks)
        return self


class ScalingStep(Strict):
    """One band of the backlog: from `at_least` visible messages up to the next step's."""

    at_least: int = Field(
        ge=0, description="Visible messages where the step starts; it ends where the next starts."
    )
    change: int = Field(
        ge=-1000,
        le=1000,
        description="Tasks added (above 0) or removed (below 0) each time the step fires; 0 holds.",
    )


class HighBacklog(Strict):
    """A second policy for a backlog the steps cannot catch up with: it adds a percentage of the
    running tasks, so capacity grows geometrically instead of by a fixed step."""

    visible_messages: int = Field(
        100,
        ge=1,
        description=(
            "Visible messages from which it fires; above the last step's at_least. Default: 100 "
            "(ten times the seed's top step, where +5 tasks a minute no longer catch up)."
        ),
    )
    add_percent: int = Field(
        67, ge=1, le=1000, description="Percent of the running tasks it adds. Default: 67."
    )


# The seed's steps: -1 task at 0 visible messages, +1 from 1, +3 from 5, +5 from 10.
SEED_STEPS = (
    {"at_least": 0, "change": -1},
    {"at_least": 1, "change": 1},
    {"at_least": 5, "change": 3},
    {"at_least": 10, "change": 5},
)


@dataclass(frozen=True)
class StepAdjustmentBounds:
    """One step adjustment as Application Auto Scaling takes it: bounds relative to the alarm
    threshold (None: unbounded) and the change in tasks."""

    lower: int | None
    upper: int | None
    change: int


@dataclass(frozen=True)
class StepPolicyBounds:
    """The alarm threshold of one step policy and its step adjustments, lowest first."""

    threshold: int
    adjustments: tuple[StepAdjustmentBounds, ...]


class StepScaling(Strict):
    """The seed's step scaling on visible messages, with configurable steps, plus a percentage
    policy for a high backlog. Scales from and to zero by itself: steps act on any task count."""

    mode: Literal[ScalingMode.STEPS] = Field(
        description="Step scaling on visible messages in the queue (the seed's steps)."
    )
    min_tasks: int = Field(0, ge=0, le=1000, description="Fewest running tasks. Default: 0.")
    max_tasks: int = Field(50, ge=1, le=1000, description="Most running tasks. Default: 50.")
    steps: list[ScalingStep] = Field(
        default_factory=lambda: [dict(step) for step in SEED_STEPS],
        validate_default=True,
        min_length=2,
        max_length=20,
        description=(
            "Bands of visible messages, ordered by at_least from 0 up, each with its change; "
            "changes may not decrease as the backlog grows."
        ),
    )
    high_backlog: HighBacklog | None = Field(
        default_factory=HighBacklog,
        description="Add a percentage of the running tasks when the backlog is high; null: off.",
    )

    @field_validator("steps")
    @classmethod
    def _ordered(cls, steps: list[ScalingStep]) -> list[ScalingStep]:
        if steps[0].at_least != 0:
            raise FieldError(
                "0.at_least",
                "must be 0: the steps cover every backlog from an empty queue up (a step with "
                f"change 0 holds); got {steps[0].at_least}",
            )
        for index, (below, step) in enumerate(itertools.pairwise(steps), start=1):
            if step.at_least <= below.at_least:
                raise FieldError(
                    f"{index}.at_least",
                    f"must be more than steps.{index - 1}.at_least ({below.at_least}): steps are "
                    f"ordered by backlog and may not overlap; got {step.at_least}",
                )
            if step.change < below.change:
                raise FieldError(
                    f"{index}.change",
                    f"must be at least steps.{index - 1}.change ({below.change}): a larger "
                    f"backlog never calls for fewer tasks; got {step.change}",
                )
        if steps[-1].change <= 0:
            raise ValueError(
                "at least one step must add tasks (change above 0), or the service never starts one"
            )
        return steps

    @property
    def scale_out(self) -> StepPolicyBounds:
        """The steps that add tasks, for an alarm `visible >= threshold` (lowest adding step).

        Above its threshold a step's lower bound is inclusive and its upper bound exclusive
        (Application Auto Scaling user guide, step scaling), as the bands are."""
        bands = [band for band in self._bands() if band[2] > 0]
        threshold = bands[0][0]
        return StepPolicyBounds(
            threshold,
            tuple(
                StepAdjustmentBounds(
                    lower - threshold, None if upper is None else upper - threshold, change
                )
                for lower, upper, change in bands
            ),
        )

    @property
    def scale_in(self) -> StepPolicyBounds | None:
        """The steps that remove tasks, for an alarm `visible <= threshold` (the largest count
        of the highest removing step), or None when no step removes any.

        Below its threshold a step's lower bound is exclusive and its upper bound inclusive, so
        the band of counts [a, b) becomes (a - 1, b - 1] before it is made relative."""
        bands = [band for band in self._bands() if band[2] < 0]
        if not bands:
            return None
        top = bands[-1][1]
        assert top is not None, "a removing step is always below an adding one"
        threshold = top - 1
        return StepPolicyBounds(
            threshold,
            tuple(
                StepAdjustmentBounds(
                    None if lower == 0 else lower - 1 - threshold,
                    None if upper is None else upper - 1 - threshold,
                    change,
                )
                for lower, upper, change in bands
            ),
        )

    def _bands(self) -> list[tuple[int, int | None, int]]:
        """(first count, first count of the next band or None, change) of each step."""
        ends: list[int | None] = [*(step.at_least for step in self.steps[1:]), None]
        return [
            (step.at_least, end, step.change) for step, end in zip(self.steps, ends, strict=True)
        ]

    @model_validator(mode="after")
    def _bounds(self) -> StepScaling:
        _check_task_bounds(self.min_tasks, self.max_tasks)
        top = self.steps[-1].at_least
        if self.high_backlog is not None and self.high_backlog.visible_messages <= top:
            raise FieldError(
                "high_backlog.visible_messages",
                f"must be more than the last step's at_least ({top}), where the steps already "
                f"add their most; got {self.high_backlog.visible_messages}",
            )
        return self


def _check_task_bounds(min_tasks: int, max_tasks: int) -> None:
    if max_tasks < min_tasks:
        raise FieldError("max_tasks", f"must be at least min_tasks ({min_tasks}); got {max_tasks}")


def _repeated(values: list[str]) -> str:
    """The values that occur more than once, quoted and comma-separated ('' when none do)."""
    return ", ".join(repr(value) for value, count in Counter(values).items() if count > 1)


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

    @property
    def task_size(self) -> TaskSize:
        """The Fargate size that holds all containers together."""
        return fargate_size(
            sum(container.cpu for container in self.containers),
            sum(container.memory for container in self.containers),
        )


class ConsumerSpec(ServiceBase):
    """A service that receives from its own queue and scales with the backlog."""

    kind: Literal["consumer"] = Field(description="Receives from its own queue.")
    concurrency: int = Field(
        4, ge=1, le=100, description="Handlers running at once per task. Default: 4."
    )
    prefetch: int = Field(
        0,
        ge=0,
        le=10,
        description=(
            "Messages a task may hold beyond its free handler slots, waiting for one. 0 never "
            "holds more than the free slots; about min(concurrency, 10) keeps handlers under a "
            "second busy (workers/README.md). Default: 0."
        ),
    )
    queue: QueueSpec = Field(
        default_factory=QueueSpec, description="The service's queue and dead-letter queue."
    )
    scaling: BacklogPerTaskScaling | QueueDepthScaling | StepScaling = Field(
        default_factory=BacklogPerTaskScaling,
        discriminator="mode",
        description="How the number of tasks follows the queue.",
    )

    @property
    def stop_timeout(self) -> int:
        """Seconds from SIGTERM to SIGKILL: enough to finish a handler, within Fargate's limit."""
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
            scaling.acceptable_latency_seconds / scaling.processing_time_seconds * self.concurrency,
            2,
        )


class ProducerSpec(ServiceBase):
    """A service that sends to a consumer's queue."""

    kind: Literal["producer"] = Field(description="Sends to a consumer's queue.")
    sends_to: str = Field(pattern=NAME_PATTERN, description="Name of the consumer it sends to.")
    tasks: int = Field(1, ge=0, le=1000, description="Running tasks. Default: 1.")


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
        5, ge=1, le=1000, description="Jobs running at once; more wait in the queue. Default: 5."
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
        le=7 * 24 * 60 * 60,
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


def _unique_items(value: list[str]) -> list[str]:
    """A list's validator: no item twice."""
    repeated = _repeated(value)
    if repeated:
        raise ValueError(f"must be unique; listed more than once: {repeated}")
    return value


class IamAuth(Strict):
    """Callers sign each request with AWS Signature Version 4; their IAM policies must allow
    `execute-api:Invoke` on the API (the stack's `execution_arn` output)."""

    type: Literal["iam"] = Field("iam", description="IAM principals (SigV4-signed requests).")


class JwtAuth(Strict):
    """Callers send an ID token of an Amazon Cognito user pool in the Authorization header.
    API Gateway checks its signature, expiry and issuer, and that its `aud` is one of
    `audiences`. The pool is in this account. Why Cognito only: docs/http-ingest.md."""

    type: Literal["jwt"] = Field(description="JSON Web Tokens of a Cognito user pool.")
    issuer: str = Field(
        pattern=COGNITO_ISSUER_PATTERN, description="The token issuer, as in its `iss` claim."
    )
    audiences: Annotated[
        list[Annotated[str, Field(pattern=COGNITO_CLIENT_ID_PATTERN)]],
        AfterValidator(_unique_items),
    ] = Field(min_length=1, max_length=50, description="App client ids a token's `aud` may name.")

    @property
    def user_pool_id(self) -> str:
        return self.issuer.rsplit("/", 1)[1]

    @property
    def user_pool_region(self) -> str:
        return self.user_pool_id.split("_", 1)[0]


# Periods a usage plan's quota counts over.
QUOTA_PERIODS = ("DAY", "WEEK", "MONTH")


class QuotaSpec(Strict):
    """How many requests one API key may make per period (API Gateway usage plan quota)."""

    limit: int = Field(100_000, ge=1, description="Requests per period and key. Default: 100000.")
    period: str = Field("DAY", description="DAY, WEEK or MONTH. Default: DAY.")

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        if value not in QUOTA_PERIODS:
            raise ValueError(f"must be one of {', '.join(QUOTA_PERIODS)}")
        return value


class ApiKeyAuth(Strict):
    """Callers send an API key in the `x-api-key` header. Each client gets its own key, all in
    one usage plan that throttles each key like the API and caps it with a quota."""

    type: Literal["api-key"] = Field(description="API keys in a usage plan.")
    clients: Annotated[
        list[Annotated[str, Field(pattern=NAME_PATTERN)]], AfterValidator(_unique_items)
    ] = Field(
        default_factory=lambda: ["default"],
        min_length=1,
        max_length=50,
        description='One API key per client, named <project>-<api>-<client>. Default: ["default"].',
    )
    quota: QuotaSpec = Field(default_factory=QuotaSpec, description="Requests per key and period.")


class ThrottleSpec(Strict):
    """What the API accepts from all callers together (API Gateway's token bucket); more: 429."""

    rate_per_second: float = Field(
        50, gt=0, le=10_000, description="Requests per second, sustained. Default: 50."
    )
    burst: int = Field(
        100, gt=0, le=5_000, description="Requests at once above the rate. Default: 100."
    )


# The most WAF inspects of a REST API's body (64 KiB; 16 KiB without extra charge).
MAX_INSPECTED_BODY_BYTES = 65_536


class IngestSpec(SpecBase):
    """An HTTPS API that writes each request straight into a consumer's queue: API Gateway calls
    SQS SendMessage itself, no code in between. It runs no containers; its `logs` group receives
    the API's access logs. Reference and curls: docs/http-ingest.md."""

    kind: Literal["ingest"] = Field(description="An HTTPS API in front of a consumer's queue.")
    feeds: str = Field(
        pattern=NAME_PATTERN, description="Name of the consumer whose queue receives the messages."
    )
    routes: list[str] = Field(
        default_factory=lambda: [Route.MESSAGES.value],
        min_length=1,
        max_length=len(Route),
        description=(
            "'POST /messages' (a JSON body; answers its message id) and/or 'GET /queue' (the "
            'seed\'s route: ?message=<text>; answers {"done": true}). '
            'Default: ["POST /messages"].'
        ),
    )
    auth: IamAuth | JwtAuth | ApiKeyAuth = Field(
        default_factory=IamAuth,
        discriminator="type",
        description="Who may call it: `iam`, `jwt` or `api-key`.",
    )
    throttle: ThrottleSpec = Field(
        default_factory=ThrottleSpec, description="Requests it accepts from all callers together."
    )
    max_body_bytes: int = Field(
        16_384,
        ge=1,
        le=MAX_INSPECTED_BODY_BYTES,
        description=(
            "Largest body POST /messages accepts; a larger one gets 413 (AWS WAF enforces it). "
            "Default: 16384."
        ),
    )
    request_schema: dict[str, Any] | None = Field(
        None,
        description=(
            "JSON Schema (draft 4) each POST /messages body must match; one that does not gets "
            "400. Default: any JSON object."
        ),
    )
    logs: LogsSpec = Field(default_factory=LogsSpec, description="The API's access log group.")

    @field_validator("routes")
    @classmethod
    def _known_routes(cls, value: list[str]) -> list[str]:
        allowed = [route.value for route in Route]
        for index, route in enumerate(value):
            if route not in allowed:
                raise FieldError(
                    str(index),
                    f"must be one of {', '.join(map(repr, allowed))}; got {route!r}",
                )
        return _unique_items(value)

    @field_validator("request_schema")
    @classmethod
    def _draft_4(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            check_request_schema(value)
        return value

    @model_validator(mode="after")
    def _schema_needs_its_route(self) -> IngestSpec:
        if self.request_schema is not None and Route.MESSAGES not in self.routes:
            raise FieldError(
                "request_schema",
                f"applies to {Route.MESSAGES.value}, which routes does not list",
            )
        return self

    @property
    def body_schema(self) -> dict[str, Any]:
        """The schema POST /messages bodies are validated against (draft 4, with its $schema)."""
        schema = DEFAULT_REQUEST_SCHEMA if self.request_schema is None else self.request_schema
        return {"$schema": JSON_SCHEMA_DRAFT_4, **schema}


AnyService = ConsumerSpec | ProducerSpec | ScheduledSpec | IngestSpec | JobSpec
ServiceSpec = Annotated[AnyService, Field(discriminator="kind")]
ServiceT = TypeVar("ServiceT", ConsumerSpec, ProducerSpec, ScheduledSpec, IngestSpec, JobSpec)
M = TypeVar("M")
SERVICE_KINDS = ("consumer", "producer", "scheduled", "ingest", "job")


class PlatformConfig(BaseModel):
    """The whole configuration: the project and every service, sorted by name."""

    model_config = ConfigDict(frozen=True)

    root: Path
    project: ProjectConfig
    services: tuple[AnyService, ...]

    def service(self, name: str) -> AnyService:
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


class _DuplicateKey(yaml.MarkedYAMLError):
    """Valid YAML that PyYAML would read by dropping a value: an error here."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    first_lines: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in first_lines:
            raise _DuplicateKey(
                problem=(
                    f"duplicate key {key!r} (first on line {first_lines[key]}); "
                    "a key may appear once per mapping"
                ),
                problem_mark=key_node.start_mark,
            )
        first_lines[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)

# How an error message names the YAML type of a value that should have been a mapping.
_YAML_TYPE_NAMES = {
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
}


def _read_yaml(path: Path, label: str) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        raise ConfigError([f"{label}: file not found"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{label}: not UTF-8 text"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        if not isinstance(error, _DuplicateKey):
            problem = f"invalid YAML: {problem}"
        raise ConfigError([f"{label}:{where} {problem}"]) from None
    if data is None:  # an empty file, or comments only: every field takes its default
        data = {}
    if not isinstance(data, dict):
        found = _YAML_TYPE_NAMES.get(type(data), type(data).__name__)
        raise ConfigError([f"{label}: must be a mapping of keys to values; got {found}"])
    return data


# --- error messages -----------------------------------------------------------------------------
# Pydantic's own messages speak Python ("Input should be a valid dictionary or instance of
# QueueSpec"); these speak YAML and say what is allowed. Keyed by pydantic's error type.

_TYPE_RULES = {
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}
_BOUND_RULES = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _show(value: Any) -> str:
    """A value as the user wrote it in YAML."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value)
    return repr(value)


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _union_models(annotation: Any) -> list[type[BaseModel]]:
    """The models of a union such as `CreatedNetwork | ExistingNetwork` (none if it is not one)."""
    if get_origin(annotation) not in (Union, types.UnionType):
        return []
    members = [_unwrap(member) for member in get_args(annotation)]
    return [model for model in members if isinstance(model, type) and issubclass(model, BaseModel)]


def _tag_values(model: type[BaseModel], field: str) -> list[str]:
    field_info = model.model_fields.get(field)
    annotation = _unwrap(field_info.annotation) if field_info is not None else None
    if get_origin(annotation) is not Literal:
        return []
    return [str(value) for value in get_args(annotation)]


def _tagged_model(annotation: Any, tag: str) -> type[BaseModel] | None:
    """The member of a tagged union that `tag` selects, if `tag` is one of its tags."""
    for model in _union_models(annotation):
        if any(tag in _tag_values(model, field) for field in model.model_fields):
            return model
    return None


def _child(annotation: Any, part: str | int) -> Any:
    """The type found one step below `annotation` at `part` (a key or a list index)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field_info = annotation.model_fields.get(str(part))
        return _unwrap(field_info.annotation) if field_info is not None else None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and args:
        return _unwrap(args[0])
    if origin is dict and len(args) == 2:
        return _unwrap(args[1])
    return None


def _walk(root: Any, location: tuple[str | int, ...]) -> tuple[list[str], Any]:
    """Follow a pydantic error location through the config types.

    Returns the user's path to the field (without the union tags pydantic inserts, such as
    'consumer' or 'backlog-per-task') and the type found there (None once it is unknown).
    """
    path: list[str] = []
    annotation = _unwrap(root)
    for part in location:
        tagged = _tagged_model(annotation, part) if isinstance(part, str) else None
        if tagged is not None:
            annotation = tagged
            continue
        path.append(str(part))
        annotation = _child(annotation, part) if annotation is not None else None
    return path, annotation


def _allowed_keys(model: Any) -> list[str]:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    # A service's name is its folder's name, never a key of its file.
    folder_named = issubclass(model, SpecBase)
    return [name for name in model.model_fields if not (folder_named and name == "name")]


@dataclass(frozen=True)
class _Located:
    """One pydantic error, located in the user's terms."""

    path: tuple[str, ...]  # the user's path to the field, without union tags
    annotation: Any  # the type found at that path (None once unknown)
    parent: Any  # the type one level up
    ctx: dict[str, Any]
    value: Any
    message: str  # pydantic's own words

    @property
    def got(self) -> str:
        return f"; got {_show(self.value)}"


Explained = tuple[tuple[str, ...], str]  # (path, message)


def _unknown_key(error: _Located) -> Explained:
    allowed = _allowed_keys(error.parent)
    close = difflib.get_close_matches(error.path[-1], allowed, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return error.path, f"unknown key; {hint}allowed: {', '.join(allowed)}"


def _tags(error: _Located) -> tuple[tuple[str, ...], str]:
    discriminator = error.ctx["discriminator"].strip("'")
    models = _union_models(error.annotation)
    tags = [tag for model in models for tag in _tag_values(model, discriminator)]
    return (*error.path, discriminator), ", ".join(repr(tag) for tag in tags)


def _bad_tag(error: _Located) -> Explained:
    path, allowed = _tags(error)
    return path, f"must be one of {allowed}; got {_show(error.ctx['tag'])}"


def _missing_tag(error: _Located) -> Explained:
    path, allowed = _tags(error)
    return path, f"required, but missing; one of {allowed}"


def _missing(error: _Located) -> Explained:
    return error.path, "required, but missing"


def _wrong_type(kind: str) -> Callable[[_Located], Explained]:
    def explain(error: _Located) -> Explained:
        message = f"must be {_TYPE_RULES[kind]}{error.got}"
        if kind == "string_type" and isinstance(error.value, int | float):
            message += f" (quote it: '{_show(error.value)}')"
        return error.path, message

    return explain


def _out_of_bounds(kind: str) -> Callable[[_Located], Explained]:
    bound, words = _BOUND_RULES[kind]
    return lambda error: (error.path, f"must be {words} {_show(error.ctx[bound])}{error.got}")


def _length(error: _Located) -> Explained:
    limit, words = (
        (error.ctx["min_length"], "at least")
        if "min_length" in error.ctx
        else (error.ctx["max_length"], "at most")
    )
    items = "item" if limit == 1 else "items"
    return error.path, f"must hold {words} {limit} {items}; got {error.ctx['actual_length']}"


def _pattern(error: _Located) -> Explained:
    rule = PATTERN_RULES.get(error.ctx["pattern"], f"text matching {error.ctx['pattern']}")
    if (
        error.path == ("name",)
        and isinstance(error.parent, type)
        and issubclass(error.parent, SpecBase)
    ):
        return error.path, f"the folder name must be {rule}{error.got}; rename the folder"
    return error.path, f"must be {rule}{error.got}"


def _value_error(error: _Located) -> Explained:
    cause = error.ctx.get("error")
    if isinstance(cause, FieldError):
        return (*error.path, *cause.field.split(".")), error.message
    return _other(error)


def _other(error: _Located) -> Explained:
    scalar = not isinstance(error.value, dict | list)
    return error.path, error.message + (error.got if scalar else "")


_EXPLAIN: dict[str, Callable[[_Located], Explained]] = {
    "extra_forbidden": _unknown_key,
    "union_tag_invalid": _bad_tag,
    "union_tag_not_found": _missing_tag,
    "missing": _missing,
    "too_short": _length,
    "too_long": _length,
    "string_pattern_mismatch": _pattern,
    "value_error": _value_error,
    **{kind: _wrong_type(kind) for kind in _TYPE_RULES},
    **{kind: _out_of_bounds(kind) for kind in _BOUND_RULES},
}


def _describe(error: ErrorDetails, root: Any) -> tuple[str, str]:
    """A pydantic error as (dotted field path, what is wrong and what is allowed)."""
    location = tuple(error["loc"])
    path, annotation = _walk(root, location)
    _, parent = _walk(root, location[:-1])
    located = _Located(
        path=tuple(path),
        annotation=annotation,
        parent=parent,
        ctx=dict(error.get("ctx", {})),
        value=error.get("input"),
        message=error["msg"].removeprefix("Value error, "),
    )
    field, message = _EXPLAIN.get(error["type"], _other)(located)
    return ".".join(field) or "(top level)", message


def _validate(adapter: TypeAdapter[M], root: Any, data: dict[str, Any], label: str) -> M:
    try:
        return adapter.validate_python(data)
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            field, message = _describe(item, root)
            problems.append(f"{label}: {field}: {message}")
        raise ConfigError(problems) from None


_PROJECT = TypeAdapter(ProjectConfig)
_SERVICE: TypeAdapter[AnyService] = TypeAdapter(ServiceSpec)


def load_config(root: Path) -> PlatformConfig:
    """Read and validate `platform.yaml` and every `workers/*/service.yaml` under `root`.

    Raises ConfigError listing every problem found; returns nothing partial.
    """
    problems: list[str] = []
    project: ProjectConfig | None = None
    try:
        data = _read_yaml(root / PROJECT_FILE, PROJECT_FILE)
        project = _validate(_PROJECT, ProjectConfig, data, PROJECT_FILE)
    except ConfigError as error:
        problems += error.problems

    services: list[AnyService] = []
    invalid: set[str] = set()
    for spec_path in sorted((root / WORKERS_DIR).glob(f"*/{SERVICE_FILE}")):
        label = spec_path.relative_to(root).as_posix()
        try:
            data = _read_yaml(spec_path, label)
            if "name" in data:
                raise ConfigError([f"{label}: name: unknown key; a service is named by its folder"])
            name = spec_path.parent.name
            services.append(_validate(_SERVICE, ServiceSpec, {**data, "name": name}, label))
        except ConfigError as error:
            problems += error.problems
            invalid.add(spec_path.parent.name)

    problems += _cross_checks(services, invalid)
    if problems:
        raise ConfigError(problems)
    assert project is not None
    return PlatformConfig(root=root, project=project, services=tuple(services))


# The field of each kind that names a consumer (its queue): the consumer must be declared.
CONSUMER_LINKS: dict[type[SpecBase], str] = {
    ProducerSpec: "sends_to",
    ScheduledSpec: "watches",
    IngestSpec: "feeds",
}


def _cross_checks(services: list[AnyService], invalid: set[str]) -> list[str]:
    """Rules that span several files. `invalid`: folders whose spec already failed on its own."""
    problems = []
    consumers = {service.name for service in services if isinstance(service, ConsumerSpec)}
    for service in services:
        label = f"{WORKERS_DIR}/{service.name}/{SERVICE_FILE}"
        if service.name in PLATFORM_STACKS:
            problems.append(
                f"{label}: name: '{service.name}' is taken by a platform stack "
                f"({', '.join(PLATFORM_STACKS)}); rename the folder"
            )
        # A producer of a consumer whose own file is broken is not reported twice.
        link = CONSUMER_LINKS.get(type(service))
        named = getattr(service, link) if link is not None else None
        if named is not None and named not in consumers and named not in invalid:
            allowed = ", ".join(sorted(consumers)) or "none declared"
            problems.append(
                f"{label}: {link}: no consumer named '{named}' declares a queue; "
                f"consumers: {allowed}"
            )
    return problems
