"""Alerts in Slack through AWS Chatbot: a channel configuration subscribed to the alert topics.

Why Chatbot and not an EventBridge API destination to a Slack webhook: a webhook URL is a
secret, which would have to live in the config files or the Terraform state; Chatbot needs only
the workspace and channel ids (the workspace is authorized once, in the Chatbot console). It also
shows CloudWatch alarms (the DLQ alarms) in its own format, with no code of ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from modules.cdk import Construct, aws
from modules.iam import role_with_policy
from modules.naming import resource_name

if TYPE_CHECKING:
    from modules.aws_context import AwsContext
    from modules.config import SlackChannel

# Guardrail for what people in the channel may do through Chatbot: nothing. The channel only
# receives notifications; without a guardrail, Chatbot's default is AdministratorAccess.
DENY_ALL_POLICY = "AWSDenyAll"


@dataclass(frozen=True)
class SlackAlertsProps:
    """What the Slack delivery needs.

    project: prefix of the Chatbot role's and channel configuration's names.
    aws: the logs stack's partition, for the guardrail policy's ARN.
    slack: the workspace and channel (platform.yaml `alerts.slack`).
    topic_arns: the topics relayed to the channel (alarms, and failures in Chatbot's format).
    """

    project: str
    aws: AwsContext
    slack: SlackChannel
    topic_arns: tuple[str, ...]


class SlackAlerts(Construct):
    """Public fields: `role` (Chatbot's, with no permissions), `channel`."""

    def __init__(self, scope: Construct, construct_id: str, props: SlackAlertsProps) -> None:
        super().__init__(scope, construct_id)
        project, slack = props.project, props.slack
        # Chatbot requires a role; notifications need no permission, so it has none.
        self.role = role_with_policy(
            self,
            "chatbot_role",
            name=resource_name(project, "chatbot"),
            service="chatbot.amazonaws.com",
            statements=(),
        )
        self.channel = aws.chatbot_slack_channel_configuration.ChatbotSlackChannelConfiguration(
            self,
            "channel",
            configuration_name=resource_name(project, "alerts"),
            iam_role_arn=self.role.arn,
            slack_team_id=slack.workspace_id,
            slack_channel_id=slack.channel_id,
            sns_topic_arns=list(props.topic_arns),
            guardrail_policy_arns=[
                props.aws.arn("iam", f"policy/{DENY_ALL_POLICY}", region=False, account="aws")
            ],
        )
