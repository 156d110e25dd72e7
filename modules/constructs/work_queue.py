"""A consumer's work queue: the queue, its dead-letter queue, TLS-only policies and a DLQ alarm.

Modelled on the queue half of AWS CDK's `QueueProcessingFargateService`: a DLQ is not optional,
and a message that lands there is somebody's problem, so it raises an alarm.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modules.cdk import Construct, aws
from modules.iam import Condition, Statement, policy_document
from modules.naming import resource_name
from workers.runtime.limits import SQS_MAX_LONG_POLL_SECONDS

if TYPE_CHECKING:
    from modules.config import QueueSpec

SECONDS_PER_DAY = 24 * 60 * 60


@dataclass(frozen=True)
class WorkQueueProps:
    """What a work queue needs.

    name: the queue's name; the dead-letter queue is `<name>-dlq`.
    spec: visibility, retention and redrive settings from the service spec.
    alert_topic_arn: SNS topic the DLQ alarm notifies (alarm and back to OK).
    """

    name: str
    spec: QueueSpec
    alert_topic_arn: str

    @property
    def dead_letter_queue_name(self) -> str:
        return resource_name(self.name, "dlq")

    @property
    def alarm_name(self) -> str:
        return resource_name(self.name, "dead-letters")


def deny_without_tls(sid: str, resource: str) -> Statement:
    """Deny every SQS action on `resource` to anyone not using TLS.

    The one place a wildcard action is right: a Deny must cover every action, present and future.
    """
    return Statement(
        sid=sid,
        effect="Deny",
        actions=("sqs:*",),
        resources=(resource,),
        principals={"*": ("*",)},
        conditions=(Condition("Bool", "aws:SecureTransport", ("false",)),),
    )


class WorkQueue(Construct):
    """Standard SQS queue with SSE, long polling and a redrive to a dead-letter queue.

    Public fields: `queue`, `dead_letter_queue`, `dead_letter_alarm`.
    """

    def __init__(self, scope: Construct, construct_id: str, props: WorkQueueProps) -> None:
        super().__init__(scope, construct_id)
        spec = props.spec
        sqs = aws.sqs_queue

        self.dead_letter_queue = add_dead_letter_queue(
            self,
            "dead_letter_queue",
            name=props.dead_letter_queue_name,
            retention_days=spec.dead_letter_retention_days,
        )
        self.queue = sqs.SqsQueue(
            self,
            "queue",
            name=props.name,
            sqs_managed_sse_enabled=True,
            # Long polling at its maximum: fewer empty receives, so fewer requests to pay for.
            receive_wait_time_seconds=SQS_MAX_LONG_POLL_SECONDS,
            visibility_timeout_seconds=spec.visibility_timeout,
            message_retention_seconds=spec.message_retention_days * SECONDS_PER_DAY,
            redrive_policy=redrive_policy(self.dead_letter_queue, spec.max_receive_count),
        )
        self.redrive_allow_policy = add_redrive_allow_policy(
            self, "dead_letter_queue_sources", self.dead_letter_queue, self.queue
        )
        for construct_id_, queue in (
            ("queue", self.queue),
            ("dead_letter_queue", self.dead_letter_queue),
        ):
            add_tls_only_policy(self, construct_id_, queue)

        # Any message in the DLQ was received max_receive_count times and never deleted: a human
        # has to look at it.
        self.dead_letter_alarm = add_dead_letter_alarm(
            self,
            "dead_letter_alarm",
            alarm_name=props.alarm_name,
            description=f"Messages in {props.dead_letter_queue_name}: handling failed "
            f"{spec.max_receive_count} times. Inspect them, fix the handler, then redrive.",
            queue=self.dead_letter_queue,
            alert_topic_arn=props.alert_topic_arn,
        )


def add_dead_letter_queue(
    scope: Construct, construct_id: str, *, name: str, retention_days: int, fifo: bool = False
) -> aws.sqs_queue.SqsQueue:
    """A queue for what could not be handled: encrypted (SSE-SQS), kept `retention_days`.

    `fifo`: a FIFO queue (`name` must end in .fifo), as the DLQ of a FIFO queue must be.
    Default: standard. Pair it with `add_tls_only_policy` and `add_dead_letter_alarm`.
    """
    return aws.sqs_queue.SqsQueue(
        scope,
        construct_id,
        name=name,
        sqs_managed_sse_enabled=True,
        message_retention_seconds=retention_days * SECONDS_PER_DAY,
        **({"fifo_queue": True} if fifo else {}),
    )


def add_alarmed_dead_letter_queue(
    scope: Construct,
    construct_id: str,
    *,
    alarm_id: str,
    name: str,
    retention_days: int,
    alarm_name: str,
    description: str,
    alert_topic_arn: str,
    fifo: bool = False,
) -> tuple[aws.sqs_queue.SqsQueue, aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm]:
    """A dead-letter queue (`construct_id`), its TLS-only policy and its alarm (`alarm_id`):
    the three every DLQ of this platform has. Returns the queue and the alarm."""
    queue = add_dead_letter_queue(
        scope, construct_id, name=name, retention_days=retention_days, fifo=fifo
    )
    add_tls_only_policy(scope, construct_id, queue)
    alarm = add_dead_letter_alarm(
        scope,
        alarm_id,
        alarm_name=alarm_name,
        description=description,
        queue=queue,
        alert_topic_arn=alert_topic_arn,
    )
    return queue, alarm


def redrive_policy(dead_letter_queue: aws.sqs_queue.SqsQueue, max_receive_count: int) -> str:
    """A queue's redrive policy: to `dead_letter_queue` after `max_receive_count` receives."""
    return json.dumps(
        {"deadLetterTargetArn": dead_letter_queue.arn, "maxReceiveCount": max_receive_count},
        sort_keys=True,
    )


def add_redrive_allow_policy(
    scope: Construct,
    construct_id: str,
    dead_letter_queue: aws.sqs_queue.SqsQueue,
    source: aws.sqs_queue.SqsQueue,
) -> aws.sqs_queue_redrive_allow_policy.SqsQueueRedriveAllowPolicy:
    """Only `source` may use `dead_letter_queue` as its dead-letter queue.

    A separate resource, not an attribute of the DLQ: the queue already refers to the DLQ
    (redrive policy), and the DLQ referring back to the queue inline would be a cycle.
    """
    return aws.sqs_queue_redrive_allow_policy.SqsQueueRedriveAllowPolicy(
        scope,
        construct_id,
        queue_url=dead_letter_queue.url,
        redrive_allow_policy=json.dumps(
            {"redrivePermission": "byQueue", "sourceQueueArns": [source.arn]}, sort_keys=True
        ),
    )


def add_tls_only_policy(
    scope: Construct, construct_id: str, queue: aws.sqs_queue.SqsQueue
) -> aws.sqs_queue_policy.SqsQueuePolicy:
    """The queue's policy: deny every request not made over TLS (`<construct_id>_tls_only`)."""
    return aws.sqs_queue_policy.SqsQueuePolicy(
        scope,
        f"{construct_id}_tls_only",
        queue_url=queue.url,
        policy=policy_document(
            scope,
            f"{construct_id}_tls_only_document",
            deny_without_tls("DenyWithoutTls", queue.arn),
        ).json,
    )


def add_dead_letter_alarm(
    scope: Construct,
    construct_id: str,
    *,
    alarm_name: str,
    description: str,
    queue: aws.sqs_queue.SqsQueue,
    alert_topic_arn: str,
) -> aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm:
    """An alarm on any message in a dead-letter queue, to the alert topic (alarm and back to OK).

    Maximum over one minute, so a single message is enough.
    """
    return aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
        scope,
        construct_id,
        alarm_name=alarm_name,
        alarm_description=description,
        namespace="AWS/SQS",
        metric_name="ApproximateNumberOfMessagesVisible",
        dimensions={"QueueName": queue.name},
        statistic="Maximum",
        period=60,
        evaluation_periods=1,
        threshold=0,
        comparison_operator="GreaterThanThreshold",
        # SQS stops publishing for an idle queue: no data means no dead letters.
        treat_missing_data="notBreaching",
        alarm_actions=[alert_topic_arn],
        ok_actions=[alert_topic_arn],
    )
