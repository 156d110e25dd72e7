"""The logs stack: a log group per service with its retention, and the encrypted alert topic."""

from __future__ import annotations

from typing import TYPE_CHECKING

import yaml

from modules.cdk import aws
from modules.config import load_config
from modules.constructs.alert_topic import KEY_ADMIN_ACTIONS
from modules.stacks.logs import ALERT_TOPIC_ARN
from tests.infra.stack_json import (
    ACCOUNT,
    KEY,
    PARTITION,
    TOPIC,
    only_id,
    only_resource,
    policy_statements,
    reference,
    resources,
    synth_stacks,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.infra.stack_json import Stack

LOG_GROUP = aws.cloudwatch_log_group.CloudwatchLogGroup.TF_RESOURCE_TYPE
SUBSCRIPTION = aws.sns_topic_subscription.SnsTopicSubscription.TF_RESOURCE_TYPE
ACCOUNT_ROOT = [{"type": "AWS", "identifiers": [f"arn:{PARTITION}:iam::{ACCOUNT}:root"]}]
SAME_ACCOUNT = {"test": "StringEquals", "variable": "aws:SourceAccount", "values": [ACCOUNT]}


def key_statements(stack: Stack) -> dict[str, dict]:
    return policy_statements(stack, only_resource(stack, KEY)["policy"])


def test_each_service_gets_its_log_group_with_its_retention(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    # Given the producer keeps its logs 7 days; the consumer, the reporter job and the ingest
    # API (its access logs) the default
    root = repo_copy()
    spec_file = root / "workers" / "producer" / "service.yaml"
    spec = yaml.safe_load(spec_file.read_text())
    spec["logs"] = {"retention_days": 7}
    spec_file.write_text(yaml.safe_dump(spec))
    config = load_config(root)
    # When synthesized
    stack = synth_stacks(config, tmp_path / "cdktf.out")["logs"]
    # Then each service and job has one group, named from config, with its own retention
    groups = resources(stack, LOG_GROUP).values()
    retention = {group["name"]: group["retention_in_days"] for group in groups}
    assert retention == {
        "/workers/consumer": 30,
        "/workers/crunch": 30,
        "/workers/ingest": 30,
        "/workers/producer": 7,
        "/workers/reporter": 30,
    }


def test_alert_topic_is_encrypted_with_its_own_rotating_key(stacks: dict[str, Stack]) -> None:
    stack = stacks["logs"]
    key = only_resource(stack, KEY)
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == 30
    alias = only_resource(stack, aws.kms_alias.KmsAlias.TF_RESOURCE_TYPE)
    assert alias["name"] == "alias/workers-alerts"
    assert alias["target_key_id"] == reference(KEY, only_id(stack, KEY), "key_id")
    topic = only_resource(stack, TOPIC)
    assert topic["name"] == "workers-alerts"
    # not alias/aws/sns: CloudWatch alarms cannot publish to a topic under the AWS-managed key
    assert topic["kms_master_key_id"] == reference(KEY, only_id(stack, KEY), "arn")


def test_account_administers_the_key_with_listed_actions_only(stacks: dict[str, Stack]) -> None:
    statement = key_statements(stacks["logs"])["AccountAdministersKey"]
    assert statement["principals"] == ACCOUNT_ROOT
    assert statement["actions"] == list(KEY_ADMIN_ACTIONS)
    assert not any("*" in action for action in statement["actions"])
    # Administering is not using: the account cannot encrypt or decrypt with it directly
    assert {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}.isdisjoint(statement["actions"])
    assert statement["resources"] == ["*"]  # in a key policy: this key


def test_key_use_is_limited_to_sns_and_the_publishing_services(stacks: dict[str, Stack]) -> None:
    statements = key_statements(stacks["logs"])
    use = ["kms:Decrypt", "kms:GenerateDataKey"]
    assert {sid: s for sid, s in statements.items() if sid != "AccountAdministersKey"} == {
        "AccountPublishesThroughSns": {
            "sid": "AccountPublishesThroughSns",
            "effect": "Allow",
            "principals": [
                {"type": "AWS", "identifiers": [f"arn:{PARTITION}:iam::{ACCOUNT}:root"]}
            ],
            "actions": use,
            "resources": ["*"],
            "condition": [
                {
                    "test": "StringEquals",
                    "variable": "kms:ViaService",
                    "values": ["sns.eu-west-1.amazonaws.com"],
                }
            ],
        },
        "CloudWatchAlarmsEncrypt": {
            "sid": "CloudWatchAlarmsEncrypt",
            "effect": "Allow",
            "principals": [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}],
            "actions": use,
            "resources": ["*"],
            "condition": [SAME_ACCOUNT],
        },
        # Without aws:SourceAccount: EventBridge's KMS calls do not carry it (SNS guide,
        # "Key management"), so the condition would drop every event; the topic policy checks it.
        # SNS names the topic in the encryption context: only this project's alert topics.
        "EventBridgeEncrypts": {
            "sid": "EventBridgeEncrypts",
            "effect": "Allow",
            "principals": [{"type": "Service", "identifiers": ["events.amazonaws.com"]}],
            "actions": use,
            "resources": ["*"],
            "condition": [
                {
                    "test": "StringLike",
                    "variable": "kms:EncryptionContext:aws:sns:topicArn",
                    "values": [f"arn:{PARTITION}:sns:eu-west-1:{ACCOUNT}:workers-alerts*"],
                }
            ],
        },
    }


def test_topic_policy_lets_this_accounts_alarms_and_rules_publish(
    stacks: dict[str, Stack],
) -> None:
    stack = stacks["logs"]
    topic_arn = reference(TOPIC, only_id(stack, TOPIC), "arn")
    attachment = only_resource(stack, aws.sns_topic_policy.SnsTopicPolicy.TF_RESOURCE_TYPE)
    assert attachment["arn"] == topic_arn
    assert policy_statements(stack, attachment["policy"]) == {
        "AccountServicesPublish": {
            "sid": "AccountServicesPublish",
            "effect": "Allow",
            "principals": [
                {
                    "type": "Service",
                    "identifiers": ["cloudwatch.amazonaws.com", "events.amazonaws.com"],
                }
            ],
            "actions": ["sns:Publish"],
            "resources": [topic_arn],
            "condition": [SAME_ACCOUNT],
        }
    }


def test_no_subscription_without_alert_emails(stacks: dict[str, Stack]) -> None:
    assert resources(stacks["logs"], SUBSCRIPTION) == {}


def test_each_alert_email_is_subscribed_once(repo_copy: Callable[[], Path], tmp_path: Path) -> None:
    # Given two addresses that differ only in punctuation (one of them listed twice)
    root = repo_copy()
    project_file = root / "platform.yaml"
    settings = yaml.safe_load(project_file.read_text())
    settings["alert_emails"] = ["first.last@example.com", "first-last@example.com"] * 2
    project_file.write_text(yaml.safe_dump(settings))
    # When synthesized
    stack = synth_stacks(load_config(root), tmp_path / "cdktf.out")["logs"]
    # Then each address has exactly one email subscription to the alert topic
    subscriptions = resources(stack, SUBSCRIPTION).values()
    assert sorted(s["endpoint"] for s in subscriptions) == [
        "first-last@example.com",
        "first.last@example.com",
    ]
    assert {s["protocol"] for s in subscriptions} == {"email"}
    assert {s["topic_arn"] for s in subscriptions} == {
        reference(TOPIC, only_id(stack, TOPIC), "arn")
    }


def test_alert_topic_arn_is_a_described_output(stacks: dict[str, Stack]) -> None:
    stack = stacks["logs"]
    assert stack["output"] == {
        ALERT_TOPIC_ARN: {
            "description": "ARN of the SNS topic every alarm notifies.",
            "value": reference(TOPIC, only_id(stack, TOPIC), "arn"),
        }
    }
