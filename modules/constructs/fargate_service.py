"""A worker service on Fargate: task role, task definition and ECS service, shared by every kind.

Every container runs the service's one image as a numeric non-root user on a read-only root
filesystem (only /tmp is writable), with an init process to reap children and forward signals,
and logs to the service's log group, which the logs stack owns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modules.cdk import Construct, aws
from modules.iam import Condition, Statement, role_with_policy
from modules.naming import resource_name
from modules.stacks.cluster import (
    CLUSTER_ARN,
    CLUSTER_NAME,
    EXECUTION_ROLE_ARN,
    PRIVATE_SUBNET_IDS,
    TASK_SECURITY_GROUP_ID,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from modules.cdk import DataResource
    from modules.config import ServiceBase
    from modules.stacks.base import RemoteState

# The uid the worker Dockerfiles run as (USER 10001:10001); numeric, so ECS can tell it is not root.
CONTAINER_USER = "10001"
TMP_VOLUME = "tmp"
TMP_PATH = "/tmp"
# ECS's own default: SIGKILL 30 s after SIGTERM.
DEFAULT_STOP_TIMEOUT_SECONDS = 30
TASKS_SERVICE_PRINCIPAL = "ecs-tasks.amazonaws.com"
CAPACITY_PROVIDER = "FARGATE"


@dataclass(frozen=True)
class ClusterHandles:
    """What a service takes from the cluster stack (all Terraform references)."""

    cluster_arn: str
    cluster_name: str
    execution_role_arn: str
    private_subnet_ids: list[str]
    task_security_group_id: str

    @classmethod
    def from_remote_state(cls, state: RemoteState) -> ClusterHandles:
        return cls(
            cluster_arn=state.get_string(CLUSTER_ARN),
            cluster_name=state.get_string(CLUSTER_NAME),
            execution_role_arn=state.get_string(EXECUTION_ROLE_ARN),
            private_subnet_ids=state.get_list(PRIVATE_SUBNET_IDS),
            task_security_group_id=state.get_string(TASK_SECURITY_GROUP_ID),
        )


@dataclass(frozen=True)
class FargateServiceProps:
    """What a Fargate worker service needs.

    name: ECS service name, task definition family and task role name.
    spec: the service spec (containers, task size).
    cluster: handles from the cluster stack.
    image_uri: `<repository url>:<tag>` every container runs.
    image_build: the resource that pushes that image; the task definition waits for it.
    log_group: the service's log group (naming.log_group_name; the logs stack creates it).
    region: the project's region (awslogs needs it).
    account_id: this account; the task role trusts ECS only on its behalf.
    environment: platform variables, added to each container's own.
    task_role_statements: everything the task's code may do; nothing else.
    desired_count: tasks to run; with `autoscaled`, only the initial value.
    autoscaled: Application Auto Scaling owns desired_count (Terraform ignores its changes).
        Default: False.
    stop_timeout: seconds between SIGTERM and SIGKILL (Fargate: at most 120). Default: 30.
    """

    name: str
    spec: ServiceBase
    cluster: ClusterHandles
    image_uri: str
    image_build: DataResource
    log_group: str
    region: str
    account_id: str
    environment: Mapping[str, str]
    task_role_statements: tuple[Statement, ...]
    desired_count: int
    autoscaled: bool = False
    stop_timeout: int = DEFAULT_STOP_TIMEOUT_SECONDS


class FargateService(Construct):
    """Task role, task definition and ECS service in the cluster's private subnets.

    Public fields: `task_role`, `task_definition`, `service`, `container_definitions` (the
    Python value behind the task definition's JSON, for tests and reviews).
    """

    def __init__(self, scope: Construct, construct_id: str, props: FargateServiceProps) -> None:
        super().__init__(scope, construct_id)
        self.task_role = role_with_policy(
            self,
            "task_role",
            name=resource_name(props.name, "task"),
            service=TASKS_SERVICE_PRINCIPAL,
            statements=props.task_role_statements,
            # Confused deputy: ECS may assume this role only for tasks of this account.
            trust_conditions=(Condition("StringEquals", "aws:SourceAccount", (props.account_id,)),),
        )
        self.container_definitions = container_definitions(props)
        task = aws.ecs_task_definition
        size = props.spec.task_size
        self.task_definition = task.EcsTaskDefinition(
            self,
            "task_definition",
            family=props.name,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(size.cpu),
            memory=str(size.memory),
            runtime_platform=task.EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture="X86_64"
            ),
            execution_role_arn=props.cluster.execution_role_arn,
            task_role_arn=self.task_role.arn,
            # Task storage, writable, gone with the task: the root filesystem stays read-only.
            volume=[task.EcsTaskDefinitionVolume(name=TMP_VOLUME)],
            container_definitions=json.dumps(self.container_definitions, sort_keys=True),
            # A task definition naming a tag that was never pushed would fail every task start.
            depends_on=[props.image_build],
        )
        ecs = aws.ecs_service
        self.service = ecs.EcsService(
            self,
            "service",
            name=props.name,
            cluster=props.cluster.cluster_arn,
            task_definition=self.task_definition.arn,
            # On-demand Fargate, named rather than left to the cluster's default: a Spot
            # interruption mid-message costs a redelivery.
            capacity_provider_strategy=[
                ecs.EcsServiceCapacityProviderStrategy(
                    capacity_provider=CAPACITY_PROVIDER, weight=1
                )
            ],
            platform_version="LATEST",
            desired_count=props.desired_count,
            network_configuration=ecs.EcsServiceNetworkConfiguration(
                subnets=props.cluster.private_subnet_ids,
                security_groups=[props.cluster.task_security_group_id],
                assign_public_ip=False,
            ),
            # Workers take no traffic: start the new tasks before stopping the old ones, and
            # roll back a deployment whose tasks keep failing to start.
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            deployment_circuit_breaker=ecs.EcsServiceDeploymentCircuitBreaker(
                enable=True, rollback=True
            ),
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            # A consumer may rightly have 0 tasks; an apply must not wait for tasks to be steady.
            wait_for_steady_state=False,
            lifecycle={"ignore_changes": ["desired_count"]} if props.autoscaled else None,
        )


def container_definitions(props: FargateServiceProps) -> list[dict[str, Any]]:
    """One definition per container of the spec, every one running the service's image."""
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
                    "awslogs-region": props.region,
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
