"""`platform.yaml`, owned by the platform team: the project, its network, where Terraform keeps
state, and where alerts go."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from modules.config.base import (
    BUCKET_PATTERN,
    EMAIL_PATTERN,
    NAME_PATTERN,
    REGION_PATTERN,
    SUBNET_ID_PATTERN,
    VPC_ID_PATTERN,
    FieldError,
    Strict,
    _repeated,
)
from modules.config.limits import (
    s3_key_problem,
    tag_count_problem,
    tag_key_problem,
    tag_value_problem,
)

if TYPE_CHECKING:
    from collections.abc import Callable


def _checked(problem_of: Callable[[str], str | None]) -> AfterValidator:
    """A validator that raises what `problem_of` finds wrong with a text."""

    def check(text: str) -> str:
        problem = problem_of(text)
        if problem is not None:
            raise ValueError(problem)
        return text

    return AfterValidator(check)


# Checked one by one, so that every bad tag is reported with its key.
TagKey = Annotated[str, _checked(tag_key_problem)]
TagValue = Annotated[str, _checked(tag_value_problem)]


# Interface endpoints a platform team may add to the derived ones (modules/constructs/network.py
# derives ecr.api, ecr.dkr, logs and sqs from the services): for task code that calls the others,
# or, with a NAT gateway, to take heavy ECR, logs or SQS traffic off its per-GB charge.
OPTIONAL_ENDPOINTS = (
    "ecr.api",
    "ecr.dkr",
    "ecs",
    "ecs-agent",
    "ecs-telemetry",
    "kms",
    "logs",
    "monitoring",
    "secretsmanager",
    "ssm",
    "sqs",
    "ssmmessages",
    "sts",
)
OptionalEndpoint = Literal[OPTIONAL_ENDPOINTS]  # type: ignore[valid-type]


class CreatedNetwork(Strict):
    """A new VPC with private subnets; tasks reach AWS through VPC endpoints or one NAT gateway."""

    mode: Literal["create"] = Field("create", description="Create a new VPC.")
    cidr: str = Field(
        "10.40.0.0/16", description="VPC CIDR block, /16 to /24. Default: 10.40.0.0/16."
    )
    availability_zones: int = Field(
        2, ge=2, le=6, description="How many AZs get a private subnet (2 to 6). Default: 2."
    )
    egress: Literal["endpoints", "nat"] = Field(
        "endpoints",
        description="How tasks reach AWS. `endpoints`: interface endpoints for what the services "
        "call (ecr.api, ecr.dkr, logs, sqs) in every AZ, S3 and DynamoDB gateways, no route out. "
        "`nat`: one NAT gateway in one public subnet, HTTPS to anywhere; cheaper at low traffic, "
        "one AZ (README: 'Network cost'). Default: endpoints.",
    )
    extra_endpoints: list[OptionalEndpoint] = Field(
        default_factory=list,
        description="More interface endpoints: for task code that calls these services, or "
        "with `nat` to spare it the NAT gateway's per-GB charge. Each costs about $7.60 a month "
        "per AZ. Default: none.",
    )

    @field_validator("extra_endpoints")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        repeated = _repeated(value)
        if repeated:
            raise ValueError(f"must be unique; listed more than once: {repeated}")
        return value

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
    tags: dict[TagKey, TagValue] = Field(
        default_factory=dict, description="Tags on every resource."
    )
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
    # The names are modules/engine.py's ENGINES (tests/infra/test_engines.py checks).
    engine: Literal["cdktf", "cdktn"] = Field(
        "cdktf",
        description=(
            "What synthesizes the stacks: `cdktf` (CDKTF, archived upstream) or `cdktn` (CDK "
            "Terrain, its maintained fork, installed into .venv/tools/cdktn on first use). Same "
            "resources, same addresses: README, Engines. Default: cdktf."
        ),
    )

    @field_validator("tags")
    @classmethod
    def _tag_count(cls, value: dict[str, str]) -> dict[str, str]:
        problem = tag_count_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _state_key_fits(self) -> ProjectConfig:
        if isinstance(self.state, S3State):
            problem = s3_key_problem(self.state.key_prefix, self.project)
            if problem is not None:
                raise FieldError("state.key_prefix", problem)
        return self
