"""Alerts in Slack through AWS Chatbot: a channel configuration subscribed to the alert topics.

Why Chatbot and not an EventBridge API destination to a Slack webhook: a webhook URL is a
secret, which would have to live in the config files or the Terraform state; Chatbot needs only
the workspace and channel ids (the workspace is authorized once, in the Chatbot console). It also
shows CloudWatch alarms (the DLQ alarms) in its own format, with no code of ours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.cdk import Construct, aws
from modules.iam import role_with_policy
from modules.naming import resource_name

if TYPE_CHECKING:
    from collections.abc import Sequence

    from modules.config import SlackChannel

# Guardrail for what people in the channel may do through Chatbot: nothing. The channel only
# receives notifications; without a guardrail, Chatbot's default is AdministratorAccess.
DENY_ALL_POLICY = "AWSDenyAll"


class SlackAlerts(Construct):
    """Public fields: `role` (Chatbot's, with no permissions), `channel`.

    topic_arns: the topics relayed to the channel (alarms, and failures in Chatbot's format).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        partition: str,
        slack: SlackChannel,
        topic_arns: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
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
            sns_topic_arns=list(topic_arns),
            guardrail_policy_arns=[f"arn:{partition}:iam::aws:policy/{DENY_ALL_POLICY}"],
        )
