"""Configuration: the project file and one service spec per worker, validated into typed objects.

Users edit YAML: `platform.yaml` (owned by the platform team) and
`workers/<name>/service.yaml` (owned by each service's developers). Everything is
validated here, once; stacks only ever see the typed models below. Every problem
is reported with the file, the field and what is allowed, all problems at once.

One module per concern; import from the package (`from modules.config import ...`):

- `base`: the strict base model, FieldError, and the text patterns with the words that explain
  them.
- `project`: `platform.yaml` (network, state, alerts).
- `services`: what every `service.yaml` has (name, description, logs, containers).
- `scaling`: the consumer's scaling modes and the step bounds they compute.
- `consumers`, `scheduled`, `jobs`, `ingest`: one per kind of service.
- `messages`: pydantic's validation errors in plain words.
- `loading`: reading the YAML files, PlatformConfig, load_config and the checks across files.
- `service_code`: what `make synth` checks in each container service's folder (its handler's
  signature, read with `ast`; requirements.txt; a Dockerfile of its own).
"""

from modules.config.base import (
    BUCKET_PATTERN,
    COGNITO_CLIENT_ID_PATTERN,
    COGNITO_ISSUER_PATTERN,
    CONTAINER_NAME_PATTERN,
    EMAIL_PATTERN,
    ENV_NAME_PATTERN,
    NAME_PATTERN,
    NAME_RULE,
    PATTERN_RULES,
    REGION_PATTERN,
    SUBNET_ID_PATTERN,
    VPC_ID_PATTERN,
    FieldError,
    Strict,
)
from modules.config.consumers import (
    CONSUMER_READ_TIMEOUT_SECONDS,
    FARGATE_MAX_STOP_TIMEOUT_SECONDS,
    SQS_MAX_VISIBILITY_SECONDS,
    ConsumerSpec,
    ProducerSpec,
    QueueSpec,
)
from modules.config.ingest import (
    MAX_INSPECTED_BODY_BYTES,
    QUOTA_PERIODS,
    ApiKeyAuth,
    IamAuth,
    IngestSpec,
    JwtAuth,
    QuotaSpec,
    ThrottleSpec,
)
from modules.config.jobs import JOB_QUEUE_TYPES, JobQueueSpec, JobSpec
from modules.config.loading import (
    CONSUMER_LINKS,
    PLATFORM_STACKS,
    PROJECT_FILE,
    SERVICE_FILE,
    SERVICE_KINDS,
    WORKERS_DIR,
    AnyService,
    ConfigError,
    PlatformConfig,
    ServiceSpec,
    ServiceT,
    load_config,
)
from modules.config.project import (
    OPTIONAL_ENDPOINTS,
    SLACK_ID_PATTERN,
    AlertsSpec,
    CreatedNetwork,
    ExistingNetwork,
    LocalState,
    ProjectConfig,
    S3State,
    SlackChannel,
)
from modules.config.scaling import (
    DEFAULT_STEPS,
    BacklogPerTaskScaling,
    HighBacklog,
    QueueDepthScaling,
    ScalingMode,
    ScalingStep,
    StepAdjustmentBounds,
    StepPolicyBounds,
    StepScaling,
)
from modules.config.scheduled import RetrySpec, ScheduledSpec
from modules.config.services import (
    LOG_RETENTION_DAYS,
    PLATFORM_ENVIRONMENT,
    ContainerSpec,
    LogsSpec,
    ServiceBase,
    SpecBase,
)

__all__ = [
    "BUCKET_PATTERN",
    "COGNITO_CLIENT_ID_PATTERN",
    "COGNITO_ISSUER_PATTERN",
    "CONSUMER_LINKS",
    "CONSUMER_READ_TIMEOUT_SECONDS",
    "CONTAINER_NAME_PATTERN",
    "DEFAULT_STEPS",
    "EMAIL_PATTERN",
    "ENV_NAME_PATTERN",
    "FARGATE_MAX_STOP_TIMEOUT_SECONDS",
    "JOB_QUEUE_TYPES",
    "LOG_RETENTION_DAYS",
    "MAX_INSPECTED_BODY_BYTES",
    "NAME_PATTERN",
    "NAME_RULE",
    "OPTIONAL_ENDPOINTS",
    "PATTERN_RULES",
    "PLATFORM_ENVIRONMENT",
    "PLATFORM_STACKS",
    "PROJECT_FILE",
    "QUOTA_PERIODS",
    "REGION_PATTERN",
    "SERVICE_FILE",
    "SERVICE_KINDS",
    "SLACK_ID_PATTERN",
    "SQS_MAX_VISIBILITY_SECONDS",
    "SUBNET_ID_PATTERN",
    "VPC_ID_PATTERN",
    "WORKERS_DIR",
    "AlertsSpec",
    "AnyService",
    "ApiKeyAuth",
    "BacklogPerTaskScaling",
    "ConfigError",
    "ConsumerSpec",
    "ContainerSpec",
    "CreatedNetwork",
    "ExistingNetwork",
    "FieldError",
    "HighBacklog",
    "IamAuth",
    "IngestSpec",
    "JobQueueSpec",
    "JobSpec",
    "JwtAuth",
    "LocalState",
    "LogsSpec",
    "PlatformConfig",
    "ProducerSpec",
    "ProjectConfig",
    "QueueDepthScaling",
    "QueueSpec",
    "QuotaSpec",
    "RetrySpec",
    "S3State",
    "ScalingMode",
    "ScalingStep",
    "ScheduledSpec",
    "ServiceBase",
    "ServiceSpec",
    "ServiceT",
    "SlackChannel",
    "SpecBase",
    "StepAdjustmentBounds",
    "StepPolicyBounds",
    "StepScaling",
    "Strict",
    "ThrottleSpec",
    "load_config",
]
