"""A worker service on Fargate: its task (role and definition, see task_definition.py) and the
ECS service that keeps it running in the cluster's private subnets.
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import Construct, aws
from modules.constructs.task_definition import (
    CAPACITY_PROVIDER,
    TaskDefinitionProps,
    add_worker_task,
)


@dataclass(frozen=True, kw_only=True)
class FargateServiceProps(TaskDefinitionProps):
    """What a Fargate worker service needs: its task (see TaskDefinitionProps; `name` is also the
    ECS service's name), and

    desired_count: tasks to run; with `autoscaled`, only the initial value.
    autoscaled: Application Auto Scaling owns desired_count (Terraform ignores its changes).
        Default: False.
    """

    desired_count: int
    autoscaled: bool = False


class FargateService(Construct):
    """Task role, execution role, task definition and ECS service in the cluster's private subnets.

    Public fields: `task_role`, `execution_role`, `task_definition`, `service`,
    `container_definitions` (the
    Python value behind the task definition's JSON, for tests and reviews).
    """

    def __init__(self, scope: Construct, construct_id: str, props: FargateServiceProps) -> None:
        super().__init__(scope, construct_id)
        task = add_worker_task(self, props)
        self.task_role = task.task_role
        self.execution_role = task.execution_role
        self.task_definition = task.task_definition
        self.container_definitions = task.container_definitions
        ecs = aws.ecs_service
        self.service = ecs.EcsService(
            self,
            "service",
            name=props.name,
            cluster=props.cluster.cluster_arn,
            task_definition=self.task_definition.arn,
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
