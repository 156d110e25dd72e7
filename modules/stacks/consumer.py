"""The consumer stack: a service that receives from its own queue and scales with the backlog.

Its queue, dead-letter queue and DLQ alarm, its image, its Fargate service and its scaling.
Reads the cluster's and the logs stack's outputs; its own outputs are what a producer needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.cdk import aws
from modules.config import BacklogPerTaskScaling
from modules.constructs.backlog_scaling import BacklogScaling, BacklogScalingProps
from modules.constructs.fargate_service import FargateService, FargateServiceProps
from modules.constructs.task_definition import ClusterHandles
from modules.constructs.work_queue import WorkQueue, WorkQueueProps
from modules.iam import Condition, Statement
from modules.naming import log_group_name, resource_name
from modules.stacks.base import PlatformStack
from modules.stacks.logs import ALERT_TOPIC_ARN

if TYPE_CHECKING:
    from modules.cdk import Construct
    from modules.config import ConsumerSpec, PlatformConfig

# Outputs other stacks read (README: "Links between stacks").
QUEUE_URL = "queue_url"
QUEUE_ARN = "queue_arn"
DEAD_LETTER_QUEUE_ARN = "dead_letter_queue_arn"

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


class ConsumerStack(PlatformStack):
    def __init__(
        self, scope: Construct, name: str, config: PlatformConfig, service: ConsumerSpec
    ) -> None:
        super().__init__(scope, name, config)
        self.service = service
        project, region = self.project.project, self.project.region
        service_name = resource_name(project, service.name)
        cluster = ClusterHandles.from_remote_state(self.remote_state("cluster"))
        account_id = aws.data_aws_caller_identity.DataAwsCallerIdentity(self, "account").account_id
        partition = aws.data_aws_partition.DataAwsPartition(self, "partition").partition

        self.work_queue = WorkQueue(
            self,
            "work_queue",
            WorkQueueProps(
                name=service_name,
                spec=service.queue,
                alert_topic_arn=self.remote_state("logs").get_string(ALERT_TOPIC_ARN),
            ),
        )
        self.image = self.worker_image(service.name)
        queue = self.work_queue.queue
        self.fargate = FargateService(
            self,
            "fargate_service",
            FargateServiceProps(
                name=service_name,
                spec=service,
                cluster=cluster,
                image_uri=self.image.uri,
                image_build=self.image.build,
                repository_arn=self.image.repository.arn,
                log_group=log_group_name(project, service.name),
                region=region,
                partition=partition,
                account_id=account_id,
                environment={
                    "AWS_REGION": region,
                    "QUEUE_URL": queue.url,
                    "WORKER_CONCURRENCY": str(service.concurrency),
                    "WORKER_PREFETCH": str(service.prefetch),
                    "HANDLER_TIMEOUT_SECONDS": str(service.queue.handler_timeout_seconds),
                    "VISIBILITY_TIMEOUT_SECONDS": str(service.queue.visibility_timeout),
                    "SERVICE_NAME": service.name,
                    "STOP_TIMEOUT_SECONDS": str(service.stop_timeout),
                    **service.worker_environment,
                },
                task_role_statements=(
                    Statement(
                        sid="ConsumeOwnQueue",
                        actions=CONSUMER_QUEUE_ACTIONS,
                        resources=(queue.arn,),
                    ),
                    Statement(
                        sid="ProtectOwnTasks",
                        actions=TASK_PROTECTION_ACTIONS,
                        # Task ARNs carry the cluster name, and both actions take the task's
                        # tags as conditions: this service's tasks in this cluster, no other.
                        resources=(
                            f"arn:{partition}:ecs:{region}:{account_id}:task/{cluster.cluster_name}/*",
                        ),
                        conditions=(
                            Condition(
                                "StringEquals",
                                f"aws:ResourceTag/{SERVICE_NAME_TAG}",
                                (service_name,),
                            ),
                        ),
                    ),
                ),
                desired_count=service.scaling.min_tasks,
                autoscaled=True,
                stop_timeout=service.stop_timeout,
            ),
        )
        self.scaling = BacklogScaling(
            self,
            "scaling",
            BacklogScalingProps(
                name=service_name,
                scaling=service.scaling,
                backlog_target=(
                    service.backlog_target
                    if isinstance(service.scaling, BacklogPerTaskScaling)
                    else None
                ),
                cluster_name=cluster.cluster_name,
                service_name=self.fargate.service.name,
                queue_name=queue.name,
            ),
        )

        self.output(QUEUE_URL, queue.url, "URL of the consumer's queue (producers send here).")
        self.output(
            QUEUE_ARN, queue.arn, "ARN of the consumer's queue (producers' send permission)."
        )
        self.output(
            DEAD_LETTER_QUEUE_ARN,
            self.work_queue.dead_letter_queue.arn,
            "ARN of the dead-letter queue (messages that failed max_receive_count times).",
        )
