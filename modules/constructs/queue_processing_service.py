"""A queue-processing service: a work queue, the Fargate service that consumes it, and the scaling
that follows its backlog.

Modelled on AWS CDK's `QueueProcessingFargateService` (aws-ecs-patterns): one object owns the
queue (with its dead-letter queue and alarm), the service, the service's permissions on the queue
and its environment, and the scaling policies, so a consumer stack only wires remote state in and
outputs out.

The task's permissions: receive, delete, extend and release messages of its own queue, and read
its settings; and scale-in protection of its own tasks only (ECS tags every task of the service
with its name, `aws:ecs:serviceName`, and both protection actions take the task's tags as
conditions). Its environment: what every task is told about itself, and the consumer runtime's
settings (`ConsumerSpec.task_settings`, `ConsumerSpec.runtime_settings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from modules.config import BacklogPerTaskScaling
from modules.constructs.backlog_scaling import BacklogScaling, BacklogScalingProps
from modules.constructs.fargate_service import FargateService, FargateServiceProps
from modules.constructs.work_queue import WorkQueue, WorkQueueProps
from modules.iam import Condition, Statement

if TYPE_CHECKING:
    from modules.aws_context import AwsContext
    from modules.cdk import Construct
    from modules.config import ConsumerSpec
    from modules.constructs.container_image import ContainerImage
    from modules.constructs.task_definition import ClusterHandles

# What a consumer's code does with its queue: receive, delete after handling, extend or release
# (visibility), and read the queue's settings at start.
CONSUMER_QUEUE_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
)
# Scale-in protection of the task while it holds messages (via the ECS agent's endpoint).
TASK_PROTECTION_ACTIONS = ("ecs:GetTaskProtection", "ecs:UpdateTaskProtection")
# The tag ECS puts on every task of a service when the service enables ECS managed tags
# (fargate_service.py does): its value is the service's name.
SERVICE_NAME_TAG = "aws:ecs:serviceName"


@dataclass(frozen=True, kw_only=True)
class QueueProcessingServiceProps:
    """What a queue-processing service needs.

    name: the resource name of its queue (the DLQ is `<name>-dlq`), ECS service, roles, scaling
        policies and alarms (`<project>-<service>`).
    spec: the consumer's spec: queue, containers, concurrency, prefetch, scaling, stop timeout
        and worker environment.
    cluster: handles from the cluster stack.
    image: the worker's image and its repository (`PlatformStack.worker_image`).
    log_group: the service's log group (naming.log_group_name; the logs stack creates it).
    aws: this stack's Region (the tasks' AWS_REGION), account and partition.
    alert_topic_arn: the SNS topic the DLQ alarm notifies.
    """

    name: str
    spec: ConsumerSpec
    cluster: ClusterHandles
    image: ContainerImage
    log_group: str
    aws: AwsContext
    alert_topic_arn: str


class QueueProcessingService:
    """Adds `work_queue`, `fargate_service` and `scaling` to `scope`, the consumer's stack.

    Not a construct of its own: a construct in between would move its children one level down,
    which renames, so replaces, a consumer's applied queues; they stay children of the stack.

    Public fields: `queue`, `dead_letter_queue`, `service` (the ECS service), and the parts
    they belong to: `work_queue` (also `dead_letter_alarm`), `fargate` (also `task_role`,
    `execution_role`, `task_definition`, `container_definitions`), `scaling`; `environment` (the
    platform's variables of every container).
    """

    def __init__(self, scope: Construct, props: QueueProcessingServiceProps) -> None:
        spec = props.spec
        self.work_queue = WorkQueue(
            scope,
            "work_queue",
            WorkQueueProps(name=props.name, spec=spec.queue, alert_topic_arn=props.alert_topic_arn),
        )
        self.queue = self.work_queue.queue
        self.dead_letter_queue = self.work_queue.dead_letter_queue
        self.environment = service_environment(props, self.queue.url)
        self.fargate = FargateService(
            scope,
            "fargate_service",
            FargateServiceProps(
                name=props.name,
                spec=spec,
                cluster=props.cluster,
                image_uri=props.image.uri,
                image_build=props.image.build,
                repository_arn=props.image.repository.arn,
                log_group=props.log_group,
                aws=props.aws,
                environment=self.environment,
                task_role_statements=task_role_statements(props, self.queue.arn),
                desired_count=spec.scaling.min_tasks,
                autoscaled=True,
                stop_timeout=spec.stop_timeout,
            ),
        )
        self.service = self.fargate.service
        self.scaling = BacklogScaling(
            scope,
            "scaling",
            BacklogScalingProps(
                name=props.name,
                scaling=spec.scaling,
                backlog_target=(
                    spec.backlog_target if isinstance(spec.scaling, BacklogPerTaskScaling) else None
                ),
                cluster_name=props.cluster.cluster_name,
                service_name=self.service.name,
                queue_name=self.queue.name,
            ),
        )


def service_environment(props: QueueProcessingServiceProps, queue_url: str) -> dict[str, str]:
    """What every task of the service is told: about itself (Region, name, kind, handler) and
    the consumer runtime's settings from the spec."""
    spec = props.spec
    return {
        **spec.task_settings(props.aws.region).to_env(),
        **spec.runtime_settings(queue_url).to_env(),
    }


def task_role_statements(
    props: QueueProcessingServiceProps, queue_arn: str
) -> tuple[Statement, ...]:
    """Everything the service's tasks may do: consume their own queue, protect their own tasks."""
    return (
        Statement(sid="ConsumeOwnQueue", actions=CONSUMER_QUEUE_ACTIONS, resources=(queue_arn,)),
        Statement(
            sid="ProtectOwnTasks",
            actions=TASK_PROTECTION_ACTIONS,
            # Task ARNs carry the cluster name, and both actions take the task's tags as
            # conditions: this service's tasks in this cluster, no other.
            resources=(props.aws.arn("ecs", f"task/{props.cluster.cluster_name}/*"),),
            conditions=(
                Condition("StringEquals", f"aws:ResourceTag/{SERVICE_NAME_TAG}", (props.name,)),
            ),
        ),
    )
