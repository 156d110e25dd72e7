"""The logs stack: one log group per service and the alert topic.

Separate from the services so that logs outlive the services that write them, and so
that removing a service never deletes its history by accident.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.cdk import aws
from modules.constructs.alert_topic import AlertTopic
from modules.naming import log_group_name
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
        # Service stacks derive these names with `log_group_name` and never look them up.
        self.log_groups = {
            service.name: aws.cloudwatch_log_group.CloudwatchLogGroup(
                self,
                f"{service.name}_log_group",
                name=log_group_name(project, service.name),
                retention_in_days=service.logs.retention_days,
            )
            for service in config.services
        }
        self.alerts = AlertTopic(
            self,
            "alerts",
            project=project,
            region=self.project.region,
            account_id=aws.data_aws_caller_identity.DataAwsCallerIdentity(
                self, "account"
            ).account_id,
            partition=aws.data_aws_partition.DataAwsPartition(self, "partition").partition,
            emails=self.project.alert_emails,
        )
        self.output(
            ALERT_TOPIC_ARN, self.alerts.topic.arn, "ARN of the SNS topic every alarm notifies."
        )
