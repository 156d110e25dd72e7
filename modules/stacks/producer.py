"""The producer stack: a service that sends to one consumer's queue, and may do nothing else.

Its image and its Fargate service. Reads the cluster's outputs and its consumer's (queue URL and
ARN), so the consumer stack is applied first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.constructs.fargate_service import FargateService, FargateServiceProps
from modules.constructs.task_definition import ClusterHandles
from modules.iam import Statement, sid_word
from modules.naming import log_group_name, resource_name
from modules.stacks.base import PlatformStack
from modules.stacks.consumer import QUEUE_ARN, QUEUE_URL
from workers.runtime.producer_settings import ProducerSettings

if TYPE_CHECKING:
    from modules.cdk import Construct
    from modules.config import PlatformConfig, ProducerSpec

# SendMessageBatch is authorized as sqs:SendMessage: one action covers both.
PRODUCER_QUEUE_ACTIONS = ("sqs:SendMessage",)


class ProducerStack(PlatformStack):
    def __init__(
        self, scope: Construct, name: str, config: PlatformConfig, service: ProducerSpec
    ) -> None:
        super().__init__(scope, name, config)
        self.service = service
        project, region = self.project.project, self.project.region
        cluster = ClusterHandles.from_remote_state(self.remote_state("cluster"))
        consumer = self.remote_state(service.sends_to)
        queue_url, queue_arn = consumer.get_string(QUEUE_URL), consumer.get_string(QUEUE_ARN)

        self.image = self.worker_image(service.name)
        self.fargate = FargateService(
            self,
            "fargate_service",
            FargateServiceProps(
                name=resource_name(project, service.name),
                spec=service,
                cluster=cluster,
                image_uri=self.image.uri,
                image_build=self.image.build,
                repository_arn=self.image.repository.arn,
                log_group=log_group_name(project, service.name),
                aws=self.aws_context,
                environment={
                    **service.task_settings(region).to_env(),
                    **ProducerSettings(queue_url=queue_url).to_env(),
                },
                task_role_statements=(
                    Statement(
                        sid=f"SendTo{sid_word(service.sends_to)}Queue",
                        actions=PRODUCER_QUEUE_ACTIONS,
                        resources=(queue_arn,),
                    ),
                ),
                desired_count=service.tasks,
            ),
        )
