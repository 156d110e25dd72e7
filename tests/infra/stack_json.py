"""Reading synthesized stacks (`cdk.tf.json`) in the infrastructure tests: the resource types and
references every stack test uses, lookups by type and name, and the policies every worker's
roles have. The fixtures that synthesize are in conftest.py.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from modules.cdk import aws

if TYPE_CHECKING:
    from pathlib import Path

    from modules.config import PlatformConfig

Stack = dict[str, Any]

# Resource types, from the provider's constants.
ALARM = aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm.TF_RESOURCE_TYPE
KEY = aws.kms_key.KmsKey.TF_RESOURCE_TYPE
QUEUE = aws.sqs_queue.SqsQueue.TF_RESOURCE_TYPE
QUEUE_POLICY = aws.sqs_queue_policy.SqsQueuePolicy.TF_RESOURCE_TYPE
REPOSITORY = aws.ecr_repository.EcrRepository.TF_RESOURCE_TYPE
ROLE = aws.iam_role.IamRole.TF_RESOURCE_TYPE
ROLE_POLICY = aws.iam_role_policy.IamRolePolicy.TF_RESOURCE_TYPE
ROLE_POLICY_ATTACHMENT = aws.iam_role_policy_attachment.IamRolePolicyAttachment.TF_RESOURCE_TYPE
RULE = aws.cloudwatch_event_rule.CloudwatchEventRule.TF_RESOURCE_TYPE
SCALABLE_TARGET = aws.appautoscaling_target.AppautoscalingTarget.TF_RESOURCE_TYPE
SCALING_POLICY = aws.appautoscaling_policy.AppautoscalingPolicy.TF_RESOURCE_TYPE
SERVICE = aws.ecs_service.EcsService.TF_RESOURCE_TYPE
TARGET = aws.cloudwatch_event_target.CloudwatchEventTarget.TF_RESOURCE_TYPE
TASK_DEFINITION = aws.ecs_task_definition.EcsTaskDefinition.TF_RESOURCE_TYPE
TOPIC = aws.sns_topic.SnsTopic.TF_RESOURCE_TYPE

# Every stack that names an ARN reads its account and partition from these data sources
# (PlatformStack.aws_context); the configuration's Region is written as is.
ACCOUNT = "${data.aws_caller_identity.account.account_id}"
PARTITION = "${data.aws_partition.partition.partition}"
REGION = "eu-west-1"


def synth_stacks(config: PlatformConfig, outdir: Path) -> dict[str, Stack]:
    """Synthesize `config` into `outdir`; return each stack's parsed cdk.tf.json by name."""
    from modules.app import synth

    synth(config, outdir)
    return {
        path.parent.name: json.loads(path.read_text())
        for path in sorted((outdir / "stacks").glob("*/cdk.tf.json"))
    }


def resources(stack: Stack, resource_type: str) -> dict[str, dict[str, Any]]:
    """All resources of one Terraform type in a stack, by logical id (empty if none)."""
    return stack.get("resource", {}).get(resource_type, {})


def only_resource(stack: Stack, resource_type: str) -> dict[str, Any]:
    found = resources(stack, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


def only_id(stack: Stack, resource_type: str) -> str:
    """The logical id of the one resource of `resource_type`."""
    (logical_id,) = resources(stack, resource_type)
    return logical_id


def named(
    stack: Stack, resource_type: str, name: str, key: str = "name"
) -> tuple[str, dict[str, Any]]:
    """(logical id, body) of the one resource of `resource_type` whose `key` is `name`."""
    found = [
        (id_, body)
        for id_, body in resources(stack, resource_type).items()
        if body.get(key) == name
    ]
    assert len(found) == 1, f"expected one {resource_type} with {key}={name}, found {found}"
    return found[0]


def data_sources(stack: Stack, data_type: str) -> dict[str, dict[str, Any]]:
    return stack.get("data", {}).get(data_type, {})


def reference(resource_type: str, logical_id: str, attribute: str) -> str:
    """How cdk.tf.json refers to a resource's attribute: `${aws_vpc.network_vpc_1A2B.id}`."""
    return f"${{{resource_type}.{logical_id}.{attribute}}}"


def queue_ref(stack: Stack, name: str, attribute: str) -> str:
    """The reference to `attribute` of the one queue named `name`."""
    return reference(QUEUE, named(stack, QUEUE, name)[0], attribute)


def remote_output(stack: str, output: str) -> str:
    """How cdk.tf.json refers to another stack's output, read through its remote state."""
    return f"${{data.terraform_remote_state.{stack}_outputs.outputs.{output}}}"


# Other stacks' outputs as the service and job stacks read them.
ALERT_TOPIC = remote_output("logs", "alert_topic_arn")
CLUSTER_ARN = remote_output("cluster", "cluster_arn")
CLUSTER_NAME = remote_output("cluster", "cluster_name")


def policy_statements(stack: Stack, document_json: str) -> dict[str, dict[str, Any]]:
    """The statements, by sid, of the `aws_iam_policy_document` that `document_json` refers to
    (`${data.aws_iam_policy_document.<id>.json}`, as a role or policy holds it)."""
    match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([^.}]+)\.json\}", document_json)
    assert match, f"not a reference to a policy document: {document_json}"
    document = data_sources(stack, "aws_iam_policy_document")[match.group(1)]
    return {statement["sid"]: statement for statement in document["statement"]}


def role_permissions(stack: Stack, name: str) -> dict[str, dict[str, Any]]:
    """The statements, by sid, of the one inline policy of the role named `name`."""
    role_id, _ = named(stack, ROLE, name)
    (policy,) = [
        body
        for body in resources(stack, ROLE_POLICY).values()
        if body["role"] == reference(ROLE, role_id, "id")
    ]
    return policy_statements(stack, policy["policy"])


def ecs_tasks_trust() -> dict[str, dict[str, Any]]:
    """A worker role's trust policy, by sid: ECS tasks, of this account's ECS resources only."""
    return {
        "AssumedByEcsTasks": {
            "sid": "AssumedByEcsTasks",
            "effect": "Allow",
            "actions": ["sts:AssumeRole"],
            "principals": [{"type": "Service", "identifiers": ["ecs-tasks.amazonaws.com"]}],
            "condition": [
                {"test": "StringEquals", "variable": "aws:SourceAccount", "values": [ACCOUNT]},
                {
                    "test": "ArnLike",
                    "variable": "aws:SourceArn",
                    "values": [f"arn:{PARTITION}:ecs:{REGION}:{ACCOUNT}:*"],
                },
            ],
        }
    }


def execution_role_permissions(stack: Stack, log_group: str) -> dict[str, dict[str, Any]]:
    """A worker's execution role policy, by sid: its own image repository and log group only."""
    (repository_id,) = resources(stack, REPOSITORY)
    log_group_arn = f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{log_group}"
    return {
        "EcrLogin": {
            "sid": "EcrLogin",
            "effect": "Allow",
            "actions": ["ecr:GetAuthorizationToken"],
            "resources": ["*"],  # the one action AWS cannot scope
        },
        "PullOwnImage": {
            "sid": "PullOwnImage",
            "effect": "Allow",
            "actions": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "resources": [reference(REPOSITORY, repository_id, "arn")],
        },
        "WriteOwnLogs": {
            "sid": "WriteOwnLogs",
            "effect": "Allow",
            "actions": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "resources": [f"{log_group_arn}:log-stream:*"],
        },
    }


def execution_role(stack: Stack, name: str) -> tuple[str, dict[str, Any]]:
    """The role named `name` and, checked on the way, that only its one inline policy grants it
    anything: (logical id, the policy's statements by sid)."""
    role_id, role = named(stack, ROLE, name)
    assert "managed_policy_arns" not in role
    assert resources(stack, ROLE_POLICY_ATTACHMENT) == {}
    return role_id, role_permissions(stack, name)
