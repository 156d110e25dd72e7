"""The alert topic: an SNS topic encrypted with its own KMS key, that CloudWatch alarms and
EventBridge rules of this account may publish to, with optional email subscriptions.

Why a customer-managed key: CloudWatch alarms cannot publish to a topic encrypted with the
AWS-managed `alias/aws/sns` key, whose policy nobody can change to let them in; the alarm
fires and the notification is dropped without an error anywhere.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modules.cdk import Construct, aws
from modules.iam import Condition, Statement, policy_document, source_conditions
from modules.naming import alert_key_alias, alert_topic_name

if TYPE_CHECKING:
    from modules.aws_context import AwsContext

# Services that publish alerts: CloudWatch alarms and EventBridge rules (e.g. ECS task stopped).
PUBLISHING_SERVICES = ("cloudwatch.amazonaws.com", "events.amazonaws.com")

# What the account may do with the key: administer it, never use it directly (see
# `AccountPublishesThroughSns` for the one use it has). Listed instead of the AWS default "kms:*"
# so that no principal of the account can decrypt with it outside SNS.
KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
# What SNS needs from a publisher's side to encrypt a message (AWS documents
# "kms:GenerateDataKey*"; SNS calls GenerateDataKey only, so it is named exactly).
KEY_USE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class AlertTopicProps:
    """What the alert topic needs.

    project: names the topic (`<project>-alerts`) and its key's alias.
    aws: the logs stack's Region and account: who may use the key, and through which SNS.
    emails: addresses to subscribe (each must confirm by mail). Default: none.
    """

    project: str
    aws: AwsContext
    emails: tuple[str, ...] = ()


class AlertTopic(Construct):
    """Public fields: `key`, `topic`, `subscriptions` (by address).

    `add_topic` adds another topic under the same key and policy (e.g. one for chat delivery).
    """

    def __init__(self, scope: Construct, construct_id: str, props: AlertTopicProps) -> None:
        super().__init__(scope, construct_id)
        project = props.project
        self._project = project
        self._same_account = source_conditions(props.aws.account_id)[0]
        key_policy = policy_document(self, "key_policy", *key_statements(props, self._same_account))
        self.key = aws.kms_key.KmsKey(
            self,
            "key",
            description=f"Encrypts the {alert_topic_name(project)} SNS topic",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy.json,
        )
        aws.kms_alias.KmsAlias(
            self, "key_alias", name=alert_key_alias(project), target_key_id=self.key.key_id
        )

        self.topic = self.add_topic("topic", alert_topic_name(project))

        self.subscriptions = {
            address: aws.sns_topic_subscription.SnsTopicSubscription(
                self,
                subscription_id(address),
                topic_arn=self.topic.arn,
                protocol="email",
                endpoint=address,
            )
            for address in sorted(set(props.emails))
        }

    def add_topic(self, construct_id: str, name: str) -> aws.sns_topic.SnsTopic:
        """A topic encrypted with this construct's key that this account's alarms and rules may
        publish to (`<construct_id>`, `<construct_id>_policy`, `<construct_id>_policy_attachment`).

        `name` must start with the alert topic's name: the key serves EventBridge only for those.
        """
        if not name.startswith(alert_topic_name(self._project)):
            raise ValueError(
                f"{name}: an alert topic's name starts with {alert_topic_name(self._project)}"
            )
        topic = aws.sns_topic.SnsTopic(
            self, construct_id, name=name, kms_master_key_id=self.key.arn
        )
        topic_policy = policy_document(
            self,
            f"{construct_id}_policy",
            Statement(
                sid="AccountServicesPublish",
                principals={"Service": PUBLISHING_SERVICES},
                actions=("sns:Publish",),
                resources=(topic.arn,),
                conditions=(self._same_account,),
            ),
        )
        # Replaces SNS's default topic policy: principals of this account still get access through
        # their IAM policies (same-account access needs only one of the two to allow it).
        aws.sns_topic_policy.SnsTopicPolicy(
            self, f"{construct_id}_policy_attachment", arn=topic.arn, policy=topic_policy.json
        )
        return topic


def key_statements(props: AlertTopicProps, same_account: Condition) -> tuple[Statement, ...]:
    """The key's policy: the account administers it and publishes through SNS with it; this
    account's alarms, and EventBridge for this project's alert topics, encrypt with it."""
    account_root = {"AWS": (props.aws.arn("iam", "root", region=False),)}
    # Every topic under this key is named `<project>-alerts...` (add_topic checks it).
    alert_topics = props.aws.arn("sns", f"{alert_topic_name(props.project)}*")
    # In a key policy, resource "*" means this key (a key policy cannot name another).
    return (
        Statement(
            sid="AccountAdministersKey",
            principals=account_root,
            actions=KEY_ADMIN_ACTIONS,
            resources=("*",),
        ),
        # Lets people and tools of this account publish (e.g. a test alert) through SNS only.
        Statement(
            sid="AccountPublishesThroughSns",
            principals=account_root,
            actions=KEY_USE_ACTIONS,
            resources=("*",),
            conditions=(
                Condition(
                    "StringEquals", "kms:ViaService", (f"sns.{props.aws.region}.amazonaws.com",)
                ),
            ),
        ),
        Statement(
            sid="CloudWatchAlarmsEncrypt",
            principals={"Service": ("cloudwatch.amazonaws.com",)},
            actions=KEY_USE_ACTIONS,
            resources=("*",),
            conditions=(same_account,),
        ),
        # No aws:SourceAccount here: EventBridge's KMS requests do not carry it, and AWS says
        # the condition is not supported for EventBridge-to-encrypted-topic delivery (SNS guide,
        # "Key management"; every event would be dropped). SNS names the topic in the
        # encryption context, so the key serves EventBridge for this project's alert topics of
        # this account only; the topic policy admits only this account's EventBridge.
        Statement(
            sid="EventBridgeEncrypts",
            principals={"Service": ("events.amazonaws.com",)},
            actions=KEY_USE_ACTIONS,
            resources=("*",),
            conditions=(
                Condition("StringLike", "kms:EncryptionContext:aws:sns:topicArn", (alert_topics,)),
            ),
        ),
    )


def subscription_id(address: str) -> str:
    """A construct id readable in a plan, unique per address, stable when others are added."""
    readable = re.sub(r"[^a-z0-9]+", "_", address.lower()).strip("_")
    return f"email_{readable}_{hashlib.sha256(address.encode()).hexdigest()[:8]}"
