"""Cluster-wide task failure alerts (logs stack): the rule's pattern, the readable message, and
the optional Slack delivery through AWS Chatbot."""

from __future__ import annotations

import json
import re
import shutil
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from devtools.terraform_offline import OfflineValidator, Toolchain, ToolchainMissing
from modules.cdk import aws
from modules.config import load_config
from modules.constructs.task_failure_alerts import INPUT_PATHS
from tests.conftest import REPO_ROOT
from tests.infra.stack_json import (
    ACCOUNT,
    KEY,
    PARTITION,
    ROLE,
    ROLE_POLICY,
    RULE,
    TARGET,
    TOPIC,
    only_resource,
    policy_statements,
    reference,
    resources,
    synth_stacks,
)
from tests.infra.synth_output import synth_into

if TYPE_CHECKING:
    from pathlib import Path

    from tests.infra.stack_json import Stack

TOPIC_POLICY = aws.sns_topic_policy.SnsTopicPolicy.TF_RESOURCE_TYPE
CHATBOT = aws.chatbot_slack_channel_configuration.ChatbotSlackChannelConfiguration.TF_RESOURCE_TYPE

CLUSTER_ARN = f"arn:{PARTITION}:ecs:eu-west-1:{ACCOUNT}:cluster/workers"
LOG_GROUPS_URL = (
    "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
    "#logsV2:log-groups$3FlogGroupNameFilter$3D$252Fworkers$252F"
)
WHERE_THE_LOGS_ARE = (
    'log group /workers/NAME, where NAME is the job or service above without "family:workers-" '
    'or "service:workers-"; stream NAME/<container>/TASK-ID, where TASK-ID is the last part of '
    "the task ARN"
)
SLACK = {"workspace_id": "T0123ABCD", "channel_id": "C0456EFGH"}


def topic_ref(stack: Stack, name: str) -> str:
    (logical_id,) = [id_ for id_, body in resources(stack, TOPIC).items() if body["name"] == name]
    return reference(TOPIC, logical_id, "arn")


def targets(stack: Stack) -> dict[str, dict[str, Any]]:
    return {body["target_id"]: body for body in resources(stack, TARGET).values()}


def placeholders(template: str) -> set[str]:
    return set(re.findall(r"<([a-z_]+)>", template))


@pytest.fixture(scope="module")
def repo_copy_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the configuration with Slack delivery, a disabled job and a flexible window."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(
        REPO_ROOT / "workers", root / "workers", ignore=shutil.ignore_patterns("__pycache__")
    )
    project = yaml.safe_load((REPO_ROOT / "platform.yaml").read_text())
    (root / "platform.yaml").write_text(yaml.safe_dump({**project, "alerts": {"slack": SLACK}}))
    job_path = root / "workers" / "reporter" / "service.yaml"
    job = yaml.safe_load(job_path.read_text())
    job_path.write_text(
        yaml.safe_dump({**job, "enabled": False, "flexible_window_minutes": 15, "task_count": 2})
    )
    return root


@pytest.fixture(scope="module")
def slack_stacks(
    repo_copy_module: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Stack]:
    """The repository's configuration with alerts.slack set, synthesized once for the module."""
    return synth_stacks(load_config(repo_copy_module), tmp_path_factory.mktemp("slack"))


# --- the rule ----------------------------------------------------------------------------------


def test_rule_matches_stopped_tasks_of_this_cluster_that_failed(stacks: dict[str, Stack]) -> None:
    # Given the logs stack of the repository's configuration
    rule = only_resource(stacks["logs"], RULE)

    # Then: ECS task state changes, STOPPED, this cluster only, and a non-zero exit code in any
    # container or a task that never started (a job exiting 0 is no failure)
    assert rule["name"] == "workers-task-failed"
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {
            "clusterArn": [CLUSTER_ARN],
            "lastStatus": ["STOPPED"],
            "$or": [
                {"containers": {"exitCode": [{"anything-but": 0}]}},
                {"stopCode": ["TaskFailedToStart"]},
            ],
        },
    }


def test_failures_go_to_the_alert_topic_as_a_readable_message(stacks: dict[str, Stack]) -> None:
    # Given the logs stack without Slack
    stack = stacks["logs"]

    # When reading the rule's targets
    (target,) = targets(stack).values()
    transformer = target["input_transformer"]

    # Then one target, the alert topic, with these fields of the event in plain text
    assert target["arn"] == topic_ref(stack, "workers-alerts")
    assert target["rule"] == reference(RULE, next(iter(resources(stack, RULE))), "name")
    assert transformer["input_paths"] == {
        "group": "$.detail.group",
        "task": "$.detail.taskArn",
        "task_definition": "$.detail.taskDefinitionArn",
        "stop_code": "$.detail.stopCode",
        "stopped_reason": "$.detail.stoppedReason",
        "container": "$.detail.containers[0].name",
        "exit_code": "$.detail.containers[0].exitCode",
        "container_reason": "$.detail.containers[0].reason",
    }
    assert json.loads(transformer["input_template"]).splitlines() == [
        "A task failed in ECS cluster workers (eu-west-1).",
        "",
        "Job or service: <group>",
        "Task: <task>",
        "Task definition: <task_definition>",
        "Stop code: <stop_code>",
        "Stopped reason: <stopped_reason>",
        "Container <container>: exit code <exit_code>, <container_reason>",
        "",
        f"Logs: {WHERE_THE_LOGS_ARE}.",
        f"Log groups: {LOG_GROUPS_URL}",
    ]


def test_every_placeholder_is_an_input_path_and_no_template_sequence_reaches_terraform(
    stacks: dict[str, Stack], slack_stacks: dict[str, Stack]
) -> None:
    # Given both messages (email and chat)
    templates = [
        body["input_transformer"]["input_template"]
        for body in [*targets(stacks["logs"]).values(), *targets(slack_stacks["logs"]).values()]
    ]

    # Then EventBridge can fill every <placeholder>, and Terraform evaluates nothing in them
    assert len(templates) == 3
    for template in templates:
        assert placeholders(template) <= set(INPUT_PATHS)
        assert "${" not in template and "%{" not in template


def test_the_topic_lets_this_accounts_eventbridge_publish(stacks: dict[str, Stack]) -> None:
    # Given the alert topic's policy (alert_topic.py)
    stack = stacks["logs"]
    (attachment,) = resources(stack, TOPIC_POLICY).values()

    # Then events.amazonaws.com may publish, for this account only (the key lets it encrypt:
    # test_logs_stack.py)
    statement = policy_statements(stack, attachment["policy"])["AccountServicesPublish"]
    assert {
        "type": "Service",
        "identifiers": ["cloudwatch.amazonaws.com", "events.amazonaws.com"],
    } in (statement["principals"])
    assert statement["actions"] == ["sns:Publish"]


def test_without_slack_there_is_no_chat_topic_and_no_chatbot(stacks: dict[str, Stack]) -> None:
    stack = stacks["logs"]

    assert [body["name"] for body in resources(stack, TOPIC).values()] == ["workers-alerts"]
    assert resources(stack, CHATBOT) == {}
    # (the one role is the ingest API's logging role: test_ingest_stack.py)
    assert [role["name"] for role in resources(stack, ROLE).values()] == [
        "workers-api-gateway-logs"
    ]


# --- Slack -------------------------------------------------------------------------------------


def test_slack_gets_alarms_and_failures_through_chatbot_with_no_permissions(
    slack_stacks: dict[str, Stack],
) -> None:
    # Given alerts.slack with a workspace and a channel
    stack = slack_stacks["logs"]

    # When reading the Chatbot configuration and its role
    channel = only_resource(stack, CHATBOT)
    ((role_id, role),) = [
        (role_id, role)
        for role_id, role in resources(stack, ROLE).items()
        if role["name"] == "workers-chatbot"
    ]

    # Then the channel relays the alert topic (alarms) and the chat topic (failures), members
    # may do nothing through Chatbot, and its role has no policy
    assert {key: value for key, value in channel.items() if key != "//"} == {
        "configuration_name": "workers-alerts",
        "iam_role_arn": reference(ROLE, role_id, "arn"),
        "slack_team_id": "T0123ABCD",
        "slack_channel_id": "C0456EFGH",
        "sns_topic_arns": [
            topic_ref(stack, "workers-alerts"),
            topic_ref(stack, "workers-alerts-chat"),
        ],
        "guardrail_policy_arns": [f"arn:{PARTITION}:iam::aws:policy/AWSDenyAll"],
    }
    assert policy_statements(stack, role["assume_role_policy"])["AssumedByChatbot"][
        "principals"
    ] == [{"type": "Service", "identifiers": ["chatbot.amazonaws.com"]}]
    role_policies = resources(stack, ROLE_POLICY).values()
    assert [policy for policy in role_policies if role_id in policy["role"]] == []


def test_the_chat_topic_is_encrypted_and_publishable_like_the_alert_topic(
    slack_stacks: dict[str, Stack],
) -> None:
    stack = slack_stacks["logs"]
    topics = {body["name"]: body for body in resources(stack, TOPIC).values()}
    policies = {body["arn"]: body for body in resources(stack, TOPIC_POLICY).values()}

    key_arn = reference(KEY, next(iter(resources(stack, KEY))), "arn")
    assert topics["workers-alerts-chat"]["kms_master_key_id"] == key_arn
    chat_policy = policy_statements(
        stack, policies[topic_ref(stack, "workers-alerts-chat")]["policy"]
    )
    alert_policy = policy_statements(stack, policies[topic_ref(stack, "workers-alerts")]["policy"])
    chat_statement = chat_policy["AccountServicesPublish"]
    assert chat_statement["resources"] == [topic_ref(stack, "workers-alerts-chat")]
    assert {**chat_statement, "resources": None} == {
        **alert_policy["AccountServicesPublish"],
        "resources": None,
    }


def test_failures_reach_the_chat_topic_as_a_chatbot_custom_notification(
    slack_stacks: dict[str, Stack],
) -> None:
    # Given alerts.slack
    stack = slack_stacks["logs"]

    # When reading the rule's chat target
    target = targets(stack)["chat-topic"]
    notification = json.loads(target["input_transformer"]["input_template"])

    # Then the same facts, in Chatbot's custom-notification schema
    assert target["arn"] == topic_ref(stack, "workers-alerts-chat")
    assert target["input_transformer"]["input_paths"] == INPUT_PATHS
    assert notification == {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": ":rotating_light: Task failed in ECS cluster workers: <group>",
            "description": "*Task:* <task>\n*Stop code:* <stop_code>\n"
            "*Stopped reason:* <stopped_reason>\n"
            "*Container <container>:* exit code <exit_code>, <container_reason>",
            "nextSteps": [f"Logs: {WHERE_THE_LOGS_ARE}", f"Log groups: {LOG_GROUPS_URL}"],
        },
    }
    # and email still gets the plain text
    assert json.loads(targets(stack)["alert-topic"]["input_transformer"]["input_template"])


# --- terraform validate of the variants the repository's own config does not use --------------


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["logs", "reporter"])
def test_slack_and_disabled_flexible_job_variants_pass_terraform_validate(
    stack: str, repo_copy_module: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    try:
        toolchain = Toolchain.locate()
    except ToolchainMissing as error:
        pytest.skip(f"cannot run terraform validate offline: {error.reason}")
    outdir = synth_into(load_config(repo_copy_module), tmp_path_factory.mktemp("variants"))
    validator = OfflineValidator(toolchain, tmp_path_factory.mktemp("validate"))

    result = validator.validate(outdir / "stacks" / stack)

    assert result.valid, f"terraform validate rejected the stack:\n{result.report()}"
