"""AWS's limits on what config values become, checked at load time so that `terraform apply` is
never the first to say no. Each message names the limit.

- Tags (AWS General Reference, "Tagging your AWS resources", the same for every service we tag):
  a key of 1 to 128 characters, a value of at most 256, letters, digits and white space in any
  language plus `_ . : / = + - @`, no `aws:` prefix in any case in keys or values (reserved for
  AWS), at most 50 tags on a resource. Ours carry the project's tags, the platform's default
  tags and, on network resources, a Name: all of them count.
- A task definition (ECS service quotas, "task definition size"): at most 64 KiB, not
  adjustable. The environment and command of the containers are what a config can grow.
- Resource names, after the project and service names are put together (NAME_LIMITS).
- The S3 state key (S3: an object key is at most 1024 bytes of UTF-8).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modules.naming import jobs_table_name, log_group_name, repository_name, resource_name

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from modules.config.services import ContainerSpec

MAX_TAGS = 50
MAX_TAG_KEY_CHARS = 128
MAX_TAG_VALUE_CHARS = 256
RESERVED_TAG_PREFIX = "aws:"
# \w is any language's letters and digits, and '_'; \s any white space.
TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")
TAG_TEXT_RULE = "letters, digits, spaces and _ . : / = + - @"
# The tags modules/naming.tags adds to every resource (a test checks), and the one a resource
# adds itself (network resources' Name): each counts toward MAX_TAGS.
PLATFORM_TAG_KEYS = ("Project", "Service", "ManagedBy")
RESOURCE_TAG_KEYS = ("Name",)

TASK_DEFINITION_MAX_BYTES = 64 * 1024
# What the platform adds to each container definition, at its longest: the image URI, user,
# mounts, logging and its own variables (the queue URL...). A test measures the real thing.
PLATFORM_BYTES_PER_CONTAINER = 2048
# The rest of the task definition: family, roles, sizes, volume, runtime platform.
TASK_DEFINITION_RESERVE_BYTES = 4096

MAX_S3_KEY_BYTES = 1024
# Stack names are service names (at most 20 characters) or a platform stack's.
MAX_STACK_NAME_CHARS = 20


def tag_key_problem(key: str) -> str | None:
    """What is wrong with a tag key of the project, or None."""
    if not 1 <= len(key) <= MAX_TAG_KEY_CHARS:
        return f"a tag key must be 1 to {MAX_TAG_KEY_CHARS} characters"
    if key in PLATFORM_TAG_KEYS:
        return (
            f"is set by the platform on every resource ({', '.join(PLATFORM_TAG_KEYS)}); "
            "choose another key"
        )
    return _tag_text_problem("key", key)


def tag_value_problem(value: str) -> str | None:
    """What is wrong with a tag value of the project, or None."""
    if len(value) > MAX_TAG_VALUE_CHARS:
        return f"a tag value may be at most {MAX_TAG_VALUE_CHARS} characters"
    return _tag_text_problem("value", value)


def _tag_text_problem(part: str, text: str) -> str | None:
    # The message ends where pydantic adds "; got <the text>".
    if text.casefold().startswith(RESERVED_TAG_PREFIX):
        return (
            f"a tag {part} may not start with '{RESERVED_TAG_PREFIX}' in any case: AWS reserves it"
        )
    if not TAG_TEXT.fullmatch(text):
        return f"a tag {part} may hold only {TAG_TEXT_RULE}"
    return None


def tag_count_problem(keys: Iterable[str]) -> str | None:
    """Whether the project's tags, with the platform's, fit on one resource."""
    total = len({*keys, *PLATFORM_TAG_KEYS, *RESOURCE_TAG_KEYS})
    if total <= MAX_TAGS:
        return None
    ours = len(PLATFORM_TAG_KEYS) + len(RESOURCE_TAG_KEYS)
    return (
        f"AWS allows at most {MAX_TAGS} tags on a resource, and the platform adds {ours} "
        f"({', '.join((*PLATFORM_TAG_KEYS, *RESOURCE_TAG_KEYS))}): at most {MAX_TAGS - ours} "
        f"here; got {total - ours}"
    )


def _json_bytes(value: object) -> int:
    """Bytes of `value` as JSON on the wire: non-ASCII escaped, and <, >, & too (as Go's
    encoder, Terraform's, writes them)."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return len(text) + 5 * sum(text.count(character) for character in "<>&")


def container_bytes(container: ContainerSpec) -> int:
    """What `container`'s own fields add to the task definition."""
    mine = {
        "name": container.name,
        "command": container.command,
        "environment": [{"name": k, "value": v} for k, v in container.environment.items()],
    }
    return _json_bytes(mine)


def task_definition_problem(containers: list[ContainerSpec]) -> str | None:
    """Whether the containers' definitions fit in one task definition."""
    own = sum(container_bytes(container) for container in containers)
    platform = PLATFORM_BYTES_PER_CONTAINER * len(containers)
    if own + platform + TASK_DEFINITION_RESERVE_BYTES <= TASK_DEFINITION_MAX_BYTES:
        return None
    return (
        f"the task definition would take about {own + platform + TASK_DEFINITION_RESERVE_BYTES} "
        f"bytes ({own} of them the containers' names, environment and command); ECS accepts at "
        f"most {TASK_DEFINITION_MAX_BYTES} (64 KiB): keep large values in the image or a "
        "parameter store, not in the environment"
    )


def s3_key_problem(key_prefix: str, project: str) -> str | None:
    longest = f"{key_prefix}{project}/{'x' * MAX_STACK_NAME_CHARS}.tfstate"
    size = len(longest.encode("utf-8"))
    if size <= MAX_S3_KEY_BYTES:
        return None
    return (
        f"state keys are <key_prefix><project>/<stack>.tfstate, up to {size} bytes with this "
        f"prefix; S3 allows at most {MAX_S3_KEY_BYTES}"
    )


@dataclass(frozen=True)
class NameLimit:
    """The longest name of one resource type that the stacks derive for a service."""

    what: str
    limit: int
    longest: Callable[[str, str], str]  # (project, service) -> that name


# Keyed by Terraform resource type and attribute. The longest suffix of each is what any stack
# adds to `<project>-<service>` today (tests/config checks every synthesized name against this).
NAME_LIMITS: dict[str, NameLimit] = {
    "aws_sqs_queue.name": NameLimit(
        "SQS queue name", 80, lambda p, s: resource_name(p, s, "reaper-dlq.fifo")
    ),
    "aws_iam_role.name": NameLimit(
        # -task-execution leaves room for a task-execution role per service.
        "IAM role name",
        64,
        lambda p, s: resource_name(p, s, "task-execution"),
    ),
    "aws_lambda_function.function_name": NameLimit(
        "Lambda function name", 64, lambda p, s: resource_name(p, s, "dispatcher")
    ),
    "aws_cloudwatch_event_rule.name": NameLimit(
        "EventBridge rule name", 64, lambda p, s: resource_name(p, s, "task-stopped")
    ),
    "aws_scheduler_schedule.name": NameLimit(
        "EventBridge Scheduler schedule name", 64, lambda p, s: resource_name(p, s)
    ),
    "aws_wafv2_web_acl.name": NameLimit("WAF web ACL name", 128, lambda p, s: resource_name(p, s)),
    "aws_ecs_service.name": NameLimit("ECS service name", 255, lambda p, s: resource_name(p, s)),
    "aws_ecs_task_definition.family": NameLimit(
        "ECS task definition family", 255, lambda p, s: resource_name(p, s)
    ),
    "aws_dynamodb_table.name": NameLimit("DynamoDB table name", 255, jobs_table_name),
    "aws_cloudwatch_metric_alarm.alarm_name": NameLimit(
        "CloudWatch alarm name",
        255,
        lambda p, s: resource_name(p, s, "messages-waiting-no-task"),
    ),
    "aws_appautoscaling_policy.name": NameLimit(
        "scaling policy name", 256, lambda p, s: resource_name(p, s, "scale-out-from-zero")
    ),
    "aws_ecr_repository.name": NameLimit("ECR repository name", 256, repository_name),
    "aws_cloudwatch_log_group.name": NameLimit("log group name", 512, log_group_name),
}


def name_problems(project: str, service: str) -> list[str]:
    """Every name the stacks would derive for `service` that AWS would refuse as too long.

    Checked for every kind with the longest suffix of any kind: a name that fits the longest
    fits them all."""
    problems = []
    for limit in NAME_LIMITS.values():
        name = limit.longest(project, service)
        if len(name) > limit.limit:
            problems.append(
                f"with project '{project}', its {limit.what} would be {len(name)} characters "
                f"('{name}'); AWS allows at most {limit.limit}: shorten the folder name or the "
                "project"
            )
    return problems
