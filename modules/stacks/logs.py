"""The logs stack: one log group per service and the alert topic.

Separate from the services so that logs outlive the services that write them, and so
that removing a service never deletes its history by accident.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.cdk import aws
from modules.naming import alert_topic_name, log_group_name
from modules.stacks.base import PlatformStack

if TYPE_CHECKING:
    from modules.cdk import Construct
    from modules.config import PlatformConfig

# Outputs other stacks read (README: "Links between stacks").
ALERT_TOPIC_ARN = "alert_topic_arn"


class LogsStack(PlatformStack):
    def __init__(self, scope: Construct, name: str, config: PlatformConfig) -> None:
        super().__init__(scope, name, config)
        project = self.project.project
        self.log_groups = {
            service.name: aws.cloudwatch_log_group.CloudwatchLogGroup(
                self,
                f"{service.name}_log_group",
                name=log_group_name(project, service.name),
                retention_in_days=service.logs.retention_days,
            )
            for service in config.services
        }
        self.alert_topic = aws.sns_topic.SnsTopic(
            self,
            "alert_topic",
            name=alert_topic_name(project),
            # The AWS-managed key: encrypted at rest with nothing to administer. CloudWatch
            # alarms and EventBridge may publish to it (see the topic policy).
            kms_master_key_id="alias/aws/sns",
        )
        for address in self.project.alert_emails:
            aws.sns_topic_subscription.SnsTopicSubscription(
                self,
                f"alert_email_{address.replace('@', '_at_').replace('.', '_')}",
                topic_arn=self.alert_topic.arn,
                protocol="email",
                endpoint=address,
            )
        self.output(ALERT_TOPIC_ARN, self.alert_topic.arn, "ARN of the SNS topic every alarm notifies.")
