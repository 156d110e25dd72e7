"""The consumer stack: a service that receives from its own queue and scales with the backlog.

Its queue, dead-letter queue and DLQ alarm, its image, its Fargate service and its scaling
(queue_processing_service.py). Reads the cluster's and the logs stack's outputs; its own outputs
are what a producer needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.constructs.queue_processing_service import (
    QueueProcessingService,
    QueueProcessingServiceProps,
)
from modules.constructs.task_definition import ClusterHandles
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


class ConsumerStack(PlatformStack):
    def __init__(
        self, scope: Construct, name: str, config: PlatformConfig, service: ConsumerSpec
    ) -> None:
        super().__init__(scope, name, config)
        self.service = service
        project = self.project.project
        self.image = self.worker_image(service.name)
        self.consumer = QueueProcessingService(
            self,
            QueueProcessingServiceProps(
                name=resource_name(project, service.name),
                spec=service,
                cluster=ClusterHandles.from_remote_state(self.remote_state("cluster")),
                image=self.image,
                log_group=log_group_name(project, service.name),
                aws=self.aws_context,
                alert_topic_arn=self.remote_state("logs").get_string(ALERT_TOPIC_ARN),
            ),
        )
        self._declare_outputs()

    def _declare_outputs(self) -> None:
        queue = self.consumer.queue
        self.output(QUEUE_URL, queue.url, "URL of the consumer's queue (producers send here).")
        self.output(
            QUEUE_ARN, queue.arn, "ARN of the consumer's queue (producers' send permission)."
        )
        self.output(
            DEAD_LETTER_QUEUE_ARN,
            self.consumer.dead_letter_queue.arn,
            "ARN of the dead-letter queue (messages that failed max_receive_count times).",
        )
