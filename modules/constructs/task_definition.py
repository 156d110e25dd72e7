"""A worker's task: its task role, its execution role and its Fargate task definition, shared by
services and jobs.

Every container runs the worker's one image as a numeric non-root user on a read-only root
filesystem (only /tmp is writable), with an init process to reap children and forward signals,
and logs to the worker's log group, which the logs stack owns. The task size is the smallest
valid Fargate size that holds the containers together (`ServiceBase.task_size`).

Each worker has its own execution role (what ECS uses to start its tasks), allowed to pull only
its own image and write only its own log group: one worker's tasks can neither run another's
image nor write into another's logs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modules.cdk import aws
from modules.iam import Condition, Statement, role_with_policy, source_conditions
from modules.naming import resource_name
from modules.outputs import CLUSTER_ARN, CLUSTER_NAME, PRIVATE_SUBNET_IDS, TASK_SECURITY_GROUP_ID

if TYPE_CHECKING:
    from collections.abc import Mapping

    from modules.aws_context import AwsContext
    from modules.cdk import Construct, DataResource
    from modules.config import ServiceBase
    from modules.outputs import RemoteState

# The uid the worker Dockerfiles run as (USER 10001:10001); numeric, so ECS can tell it is not root.
CONTAINER_USER = "10001"
TMP_VOLUME = "tmp"
TMP_PATH = "/tmp"
# ECS's own default: SIGKILL 30 s after SIGTERM.
DEFAULT_STOP_TIMEOUT_SECONDS = 30
TASKS_SERVICE_PRINCIPAL = "ecs-tasks.amazonaws.com"
# Where services and jobs start their tasks: on-demand Fargate, named rather than left to the
# cluster's default, because a Spot interruption mid-message costs a redelivery (mid-job, a rerun).
CAPACITY_PROVIDER = "FARGATE"
# What ECS does with the execution role on Fargate: pull the image (the AWS-managed
# AmazonEC2ContainerRegistryPullOnly policy lists the same actions) and write the awslogs streams.
IMAGE_PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
LOG_WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


@dataclass(frozen=True)
class ClusterHandles:
    """What a service or job takes from the cluster stack (all Terraform references)."""

    cluster_arn: str
    cluster_name: str
    private_subnet_ids: list[str]
    task_security_group_id: str

    @classmethod
    def from_remote_state(cls, state: RemoteState) -> ClusterHandles:
        return cls(
            cluster_arn=state.get_string(CLUSTER_ARN),
            cluster_name=state.get_string(CLUSTER_NAME),
            private_subnet_ids=state.get_list(PRIVATE_SUBNET_IDS),
            task_security_group_id=state.get_string(TASK_SECURITY_GROUP_ID),
        )


@dataclass(frozen=True, kw_only=True)
class TaskDefinitionProps:
    """What a worker's task needs.

    name: task definition family, task role name (`<name>-task`) and execution role name
        (`<name>-execution`).
    spec: the service or job spec (containers, task size).
    cluster: handles from the cluster stack.
    image_uri: `<repository url>:<tag>` every container runs.
    image_build: the resource that pushes that image; the task definition waits for it.
    repository_arn: the image's ECR repository, the only one the execution role may pull from.
    log_group: the worker's log group (naming.log_group_name; the logs stack creates it), the
        only one the execution role may write to.
    aws: this stack's Region (awslogs needs it), account (both roles trust ECS only on its
        behalf) and partition, for ARNs.
    environment: platform variables, added to each container's own.
    task_role_statements: everything the task's code may do; nothing else.
    stop_timeout: seconds between SIGTERM and SIGKILL (Fargate: at most 120). Default: 30.
    """

    name: str
    spec: ServiceBase
    cluster: ClusterHandles
    image_uri: str
    image_build: DataResource
    repository_arn: str
    log_group: str
    aws: AwsContext
    environment: Mapping[str, str]
    task_role_statements: tuple[Statement, ...]
    stop_timeout: int = DEFAULT_STOP_TIMEOUT_SECONDS


@dataclass(frozen=True)
class WorkerTask:
    """What `add_worker_task` created, and the Python value behind the container definitions
    (for tests and reviews)."""

    task_role: aws.iam_role.IamRole
    execution_role: aws.iam_role.IamRole
    task_definition: aws.ecs_task_definition.EcsTaskDefinition
    container_definitions: list[dict[str, Any]]


def add_worker_task(scope: Construct, props: TaskDefinitionProps) -> WorkerTask:
    """Add the task role (`task_role`), the execution role (`execution_role`) and the task
    definition (`task_definition`) to `scope`.

    A function rather than a construct of its own: the services created before jobs existed
    keep their resources' addresses (a construct in between would rename, so replace, them).
    """
    task_role = role_with_policy(
        scope,
        "task_role",
        name=resource_name(props.name, "task"),
        service=TASKS_SERVICE_PRINCIPAL,
        statements=props.task_role_statements,
        trust_conditions=tasks_trust(props),
    )
    execution_role = role_with_policy(
        scope,
        "execution_role",
        name=resource_name(props.name, "execution"),
        service=TASKS_SERVICE_PRINCIPAL,
        statements=execution_statements(props),
        trust_conditions=tasks_trust(props),
    )
    definitions = container_definitions(props)
    task = aws.ecs_task_definition
    size = props.spec.task_size
    task_definition = task.EcsTaskDefinition(
        scope,
        "task_definition",
        family=props.name,
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu=str(size.cpu),
        memory=str(size.memory),
        runtime_platform=task.EcsTaskDefinitionRuntimePlatform(
            operating_system_family="LINUX", cpu_architecture="X86_64"
        ),
        execution_role_arn=execution_role.arn,
        task_role_arn=task_role.arn,
        # Task storage, writable, gone with the task: the root filesystem stays read-only.
        volume=[task.EcsTaskDefinitionVolume(name=TMP_VOLUME)],
        container_definitions=json.dumps(definitions, sort_keys=True),
        # A task definition naming a tag that was never pushed would fail every task start.
        depends_on=[props.image_build],
    )
    return WorkerTask(task_role, execution_role, task_definition, definitions)


def tasks_trust(props: TaskDefinitionProps) -> tuple[Condition, ...]:
    """Confused deputy: ECS may assume the worker's roles only for this account's ECS resources
    (ECS developer guide, task IAM role: aws:SourceAccount and aws:SourceArn)."""
    return source_conditions(props.aws.account_id, props.aws.arn("ecs", "*"))


def execution_statements(props: TaskDefinitionProps) -> tuple[Statement, ...]:
    """What ECS needs to start the worker's tasks: its own image and its own log streams."""
    log_streams = props.aws.arn("logs", f"log-group:{props.log_group}:log-stream:*")
    return (
        Statement(
            sid="EcrLogin",
            actions=("ecr:GetAuthorizationToken",),
            # GetAuthorizationToken supports no resource-level permission: AWS requires "*". The
            # token alone reads nothing; the statement below says which repository it opens.
            resources=("*",),
        ),
        Statement(
            sid="PullOwnImage", actions=IMAGE_PULL_ACTIONS, resources=(props.repository_arn,)
        ),
        # Both actions authorize on the log-stream resource type.
        Statement(
            sid="WriteOwnLogs",
            actions=LOG_WRITE_ACTIONS,
            resources=(log_streams,),
        ),
    )


def container_definitions(props: TaskDefinitionProps) -> list[dict[str, Any]]:
    """One definition per container of the spec, every one running the worker's image."""
    return [
        {
            "name": container.name,
            "image": props.image_uri,
            "essential": True,
            "cpu": container.cpu,
            # A reservation, not a hard limit: the task size may round up, and the spare memory
            # is better used than a container killed below what the task has.
            "memoryReservation": container.memory,
            **(
                {"command": [terraform_literal(part) for part in container.command]}
                if container.command is not None
                else {}
            ),
            "environment": [
                {"name": name, "value": value}
                for name, value in sorted(
                    {
                        **{
                            name: terraform_literal(value)
                            for name, value in container.environment.items()
                        },
                        # The platform's values may be Terraform references (the queue URL).
                        **props.environment,
                    }.items()
                )
            ],
            "user": CONTAINER_USER,
            "readonlyRootFilesystem": True,
            "mountPoints": [
                {"sourceVolume": TMP_VOLUME, "containerPath": TMP_PATH, "readOnly": False}
            ],
            "linuxParameters": {"initProcessEnabled": True},
            "stopTimeout": props.stop_timeout,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": props.log_group,
                    "awslogs-region": props.aws.region,
                    "awslogs-stream-prefix": props.spec.name,
                },
            },
        }
        for container in props.spec.containers
    ]


def terraform_literal(text: str) -> str:
    """`text` as Terraform will pass it on: its template sequences escaped.

    cdk.tf.json strings are templates, so a developer's `${...}` or `%{...}` would be evaluated
    (or fail the plan) instead of reaching the container as written.
    """
    return text.replace("${", "$${").replace("%{", "%%{")


def run_task_statements(
    *,
    family: str,
    cluster: ClusterHandles,
    task_role_arn: str,
    execution_role_arn: str,
    aws_context: AwsContext,
) -> tuple[Statement, ...]:
    """What starting a worker's tasks takes, and nothing more: RunTask of any revision of its
    `family` in this cluster, tagging the task as it starts, and handing it its two roles.

    Used by whoever starts tasks on demand: a job's schedule, a job dispatcher.
    """
    return (
        Statement(
            sid="RunJobTasks",
            actions=("ecs:RunTask",),
            # Any revision of this job's family; ecs:cluster keeps them in this cluster.
            resources=(aws_context.arn("ecs", f"task-definition/{family}:*"),),
            conditions=(Condition("ArnEquals", "ecs:cluster", (cluster.cluster_arn,)),),
        ),
        Statement(
            sid="TagJobTasksAtStart",
            # RunTask with propagated tags is authorized as ecs:TagResource on the new task too.
            actions=("ecs:TagResource",),
            resources=(aws_context.arn("ecs", f"task/{cluster.cluster_name}/*"),),
            conditions=(Condition("StringEquals", "ecs:CreateAction", ("RunTask",)),),
        ),
        Statement(
            sid="PassJobTaskRoles",
            actions=("iam:PassRole",),
            resources=(task_role_arn, execution_role_arn),
            conditions=(
                Condition("StringEquals", "iam:PassedToService", (TASKS_SERVICE_PRINCIPAL,)),
            ),
        ),
    )
