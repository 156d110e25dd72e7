"""Failure alerts for every task of the cluster: one EventBridge rule on ECS task state changes.

A task that stops with a non-zero exit code in any container, or that never started, is reported
once, whether it belongs to a service (group `service:<name>`) or a scheduled job
(`family:<name>`), and whatever started it. One rule for the whole cluster, not one per job:
the cluster stack need not change when a job is added, and a task nobody declared (a manual
`run-task`) is still reported.

Event fields: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.naming import log_group_prefix, resource_name

# What a failure is. `EssentialContainerExited` alone is not one: a job that finished with
# exit code 0 stops that way. A non-zero exit code covers it (and an OOM kill: 137), and
# `TaskFailedToStart` covers a task with no exit code at all (image pull, ENI, secrets).
FAILED_START_STOP_CODES = ("TaskFailedToStart",)

# Event fields a message shows, as EventBridge input paths. Only the first container's exit code
# and reason: a template cannot loop, and every worker here has one container unless its spec
# says otherwise (the task ARN leads to the others).
INPUT_PATHS = {
    "group": "$.detail.group",
    "task": "$.detail.taskArn",
    "task_definition": "$.detail.taskDefinitionArn",
    "stop_code": "$.detail.stopCode",
    "stopped_reason": "$.detail.stoppedReason",
    "container": "$.detail.containers[0].name",
    "exit_code": "$.detail.containers[0].exitCode",
    "container_reason": "$.detail.containers[0].reason",
}


@dataclass(frozen=True)
class TaskFailureAlertsProps:
    """What the failure alerts need.

    project: the project name (the rule's name, log group names).
    region: the project's region (console links).
    cluster_arn: the only cluster whose tasks are reported.
    alert_topic_arn: the topic that gets a plain-text message (email).
    chat_topic_arn: a topic that gets the same facts in AWS Chatbot's custom-notification format
        (Slack). Default: none.
    """

    project: str
    region: str
    cluster_arn: str
    alert_topic_arn: str
    chat_topic_arn: str | None = None

    @property
    def rule_name(self) -> str:
        return resource_name(self.project, "task-failed")


class TaskFailureAlerts(Construct):
    """Public fields: `rule`, `alert_target`, `chat_target` (None without a chat topic)."""

    def __init__(self, scope: Construct, construct_id: str, props: TaskFailureAlertsProps) -> None:
        super().__init__(scope, construct_id)
        self.rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
            self,
            "task_failed_rule",
            name=props.rule_name,
            description="A task of the cluster stopped with a non-zero exit code or never started",
            event_pattern=json.dumps(failed_task_pattern(props.cluster_arn), sort_keys=True),
        )
        self.alert_target = self._topic_target(
            "alert_topic_target",
            "alert-topic",
            props.alert_topic_arn,
            email_template(props.project, props.region),
        )
        self.chat_target = (
            self._topic_target(
                "chat_topic_target",
                "chat-topic",
                props.chat_topic_arn,
                chat_template(props.project, props.region),
            )
            if props.chat_topic_arn is not None
            else None
        )

    def _topic_target(
        self, construct_id: str, target_id: str, topic_arn: str, template: str
    ) -> aws.cloudwatch_event_target.CloudwatchEventTarget:
        """The rule's matches, as `template` with the event's INPUT_PATHS filled in, to a topic."""
        events = aws.cloudwatch_event_target
        return events.CloudwatchEventTarget(
            self,
            construct_id,
            rule=self.rule.name,
            target_id=target_id,
            arn=topic_arn,
            input_transformer=events.CloudwatchEventTargetInputTransformer(
                input_paths=INPUT_PATHS, input_template=template
            ),
        )


def failed_task_pattern(cluster_arn: str) -> dict[str, Any]:
    """ECS task state changes to STOPPED in this cluster, with a failure (see above)."""
    return {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {
            "clusterArn": [cluster_arn],
            "lastStatus": ["STOPPED"],
            "$or": [
                {"containers": {"exitCode": [{"anything-but": 0}]}},
                {"stopCode": list(FAILED_START_STOP_CODES)},
            ],
        },
    }


def log_groups_url(project: str, region: str) -> str:
    """The CloudWatch console listing this project's log groups (`/<project>/...`).

    The console's fragment is encoded twice over: `$3F` is `?`, `$3D` is `=`, `$252F` is `/`.
    """
    prefix = log_group_prefix(project).replace("/", "$252F")
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:log-groups$3FlogGroupNameFilter$3D{prefix}"
    )


def where_the_logs_are(project: str) -> str:
    """A template cannot compute the log group from the task group, so it says how to read it.

    NAME and TASK-ID are words, not <placeholders>: EventBridge fills only the paths above
    (`<container>` here is one, filled with the container's name).
    """
    return (
        f"log group {log_group_prefix(project)}NAME, where NAME is the job or service above "
        f'without "family:{project}-" or "service:{project}-"; stream NAME/<container>/TASK-ID, '
        "where TASK-ID is the last part of the task ARN"
    )


def email_template(project: str, region: str) -> str:
    """The plain-text message, as an input template (a JSON string with <placeholders>)."""
    lines = [
        f"A task failed in ECS cluster {project} ({region}).",
        "",
        "Job or service: <group>",
        "Task: <task>",
        "Task definition: <task_definition>",
        "Stop code: <stop_code>",
        "Stopped reason: <stopped_reason>",
        "Container <container>: exit code <exit_code>, <container_reason>",
        "",
        f"Logs: {where_the_logs_are(project)}.",
        f"Log groups: {log_groups_url(project, region)}",
    ]
    return json.dumps("\n".join(lines))


def chat_template(project: str, region: str) -> str:
    """The same facts as an AWS Chatbot custom notification, which Chatbot shows in Slack
    (a plain-text SNS message is not a format Chatbot relays).

    https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html
    """
    notification = {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": f":rotating_light: Task failed in ECS cluster {project}: <group>",
            "description": "\n".join(
                [
                    "*Task:* <task>",
                    "*Stop code:* <stop_code>",
                    "*Stopped reason:* <stopped_reason>",
                    "*Container <container>:* exit code <exit_code>, <container_reason>",
                ]
            ),
            "nextSteps": [
                f"Logs: {where_the_logs_are(project)}",
                f"Log groups: {log_groups_url(project, region)}",
            ],
        },
    }
    return json.dumps(notification, sort_keys=True)
