"""The logs stack: one log group per service and job, the alert topic, and the cluster's task
failure alerts (optionally relayed to Slack).

Separate from the services so that logs outlive the services that write them, and so
that removing a service never deletes its history by accident.

The failure alerts live here, not in the cluster stack: this stack owns the topic they publish
to and is applied after the cluster, and the cluster's ARN follows from the config
(naming.cluster_name), so no remote state is read. Adding a job changes this stack anyway (its
log group); the cluster stack never changes for one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.cdk import aws
from modules.config import IngestSpec
from modules.constructs.alert_topic import AlertTopic, AlertTopicProps
from modules.constructs.api_gateway_logging import ApiGatewayLogging, ApiGatewayLoggingProps
from modules.constructs.slack_alerts import SlackAlerts, SlackAlertsProps
from modules.constructs.task_failure_alerts import TaskFailureAlerts, TaskFailureAlertsProps
from modules.naming import chat_alert_topic_name, cluster_name, log_group_name
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
            AlertTopicProps(
                project=project, aws=self.aws_context, emails=tuple(self.project.alert_emails)
            ),
        )
        chat_topic_arn = self._add_slack()
        self.task_failures = TaskFailureAlerts(
            self,
            "task_failure_alerts",
            TaskFailureAlertsProps(
                project=project,
                region=self.project.region,
                cluster_arn=self.aws_context.arn("ecs", f"cluster/{cluster_name(project)}"),
                alert_topic_arn=self.alerts.topic.arn,
                chat_topic_arn=chat_topic_arn,
            ),
        )
        # Ingest APIs write access logs into their groups above through the account's role.
        self.api_gateway_logging: ApiGatewayLogging | None = None
        if config.of_kind(IngestSpec):
            self.api_gateway_logging = ApiGatewayLogging(
                self,
                "api_gateway_logging",
                ApiGatewayLoggingProps(project=project, aws=self.aws_context),
            )
        self.output(
            ALERT_TOPIC_ARN, self.alerts.topic.arn, "ARN of the SNS topic every alarm notifies."
        )

    def _add_slack(self) -> str | None:
        """With a Slack channel configured, its topic and Chatbot's channel configuration; returns
        that topic's ARN (None without Slack).

        Chatbot relays only formats it knows (alarms, its custom notifications), so failures go to
        Slack in its format through a topic of their own; email keeps plain text.
        """
        self.slack: SlackAlerts | None = None
        slack = self.project.alerts.slack
        if slack is None:
            return None
        project = self.project.project
        chat_topic_arn: str = self.alerts.add_topic(
            "chat_topic", chat_alert_topic_name(project)
        ).arn
        self.slack = SlackAlerts(
            self,
            "slack",
            SlackAlertsProps(
                project=project,
                aws=self.aws_context,
                slack=slack,
                topic_arns=(self.alerts.topic.arn, chat_topic_arn),
            ),
        )
        return chat_topic_arn
