"""The stack of one scheduled job (`kind: scheduled`): its image, its task, its schedule.

Its own directory and state, like a service: a job is planned and applied alone, and adding one
changes only its own stack and the logs stack (its log group). Reads the cluster's outputs, the
logs stack's alert topic and, when it `watches` a consumer, that consumer's queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.constructs.scheduled_task import ScheduledFargateTask, ScheduledFargateTaskProps
from modules.constructs.task_definition import ClusterHandles
from modules.iam import Statement, sid_word
from modules.naming import log_group_name, resource_name
from modules.stacks.base import PlatformStack
from modules.stacks.consumer import QUEUE_ARN, QUEUE_URL
from modules.stacks.logs import ALERT_TOPIC_ARN
from workers.runtime.scheduled_settings import ScheduledSettings

if TYPE_CHECKING:
    from modules.cdk import Construct
    from modules.config import PlatformConfig, ScheduledSpec

# Reading a watched queue's depth: its attributes, never its messages (a receive would count
# toward the consumer's maxReceiveCount).
WATCH_QUEUE_ACTIONS = ("sqs:GetQueueAttributes",)


class ScheduledStack(PlatformStack):
    def __init__(
        self, scope: Construct, name: str, config: PlatformConfig, job: ScheduledSpec
    ) -> None:
        super().__init__(scope, name, config)
        self.job = job
        project, region = self.project.project, self.project.region
        environment = job.task_settings(region).to_env()
        statements: tuple[Statement, ...] = ()
        if job.watches is not None:
            consumer = self.remote_state(job.watches)
            environment |= ScheduledSettings(consumer.get_string(QUEUE_URL)).to_env()
            statements = (
                Statement(
                    sid=f"Read{sid_word(job.watches)}QueueAttributes",
                    actions=WATCH_QUEUE_ACTIONS,
                    resources=(consumer.get_string(QUEUE_ARN),),
                ),
            )

        self.image = self.worker_image(job.name)
        self.scheduled_task = ScheduledFargateTask(
            self,
            "scheduled_task",
            ScheduledFargateTaskProps(
                name=resource_name(project, job.name),
                spec=job,
                cluster=ClusterHandles.from_remote_state(self.remote_state("cluster")),
                image_uri=self.image.uri,
                image_build=self.image.build,
                repository_arn=self.image.repository.arn,
                log_group=log_group_name(project, job.name),
                aws=self.aws_context,
                environment=environment,
                task_role_statements=statements,
                alert_topic_arn=self.remote_state("logs").get_string(ALERT_TOPIC_ARN),
            ),
        )
