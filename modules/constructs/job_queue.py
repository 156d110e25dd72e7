"""A job family's queue: one message per job, and its dead-letter queue with an alarm.

Unlike a consumer's queue, its settings follow the dispatcher (workers/runtime/jobs/schema.py):
a visibility timeout six times the dispatcher's time limit (AWS's advice for a queue that feeds
a Lambda function), and the highest maxReceiveCount, because a job waiting for a parallel slot
or its FIFO group is a receive each time it is looked at. The platform itself dead-letters
what cannot be run (bad messages, jobs out of attempts); the redrive policy only catches a
message that keeps failing to be dispatched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from modules.cdk import Construct, aws
from modules.constructs.work_queue import (
    SECONDS_PER_DAY,
    add_alarmed_dead_letter_queue,
    add_redrive_allow_policy,
    add_tls_only_policy,
    redrive_policy,
)
from workers.runtime.jobs.schema import MAX_RECEIVES, QUEUE_VISIBILITY_SECONDS
from workers.runtime.limits import SQS_MAX_LONG_POLL_SECONDS

if TYPE_CHECKING:
    from modules.config import JobQueueSpec

FIFO_SUFFIX = ".fifo"


@dataclass(frozen=True)
class JobQueueProps:
    """What a job queue needs.

    name: the queue's name without `.fifo`; the DLQ is `<name>-dlq` (with `.fifo` for FIFO).
    spec: queue type and retention from the job spec.
    max_attempts: the job spec's, for the alarm's description.
    alert_topic_arn: SNS topic the DLQ alarm notifies (alarm and back to OK).
    """

    name: str
    spec: JobQueueSpec
    max_attempts: int
    alert_topic_arn: str

    @property
    def fifo(self) -> bool:
        return self.spec.type == "fifo"

    @property
    def suffix(self) -> str:
        return FIFO_SUFFIX if self.fifo else ""


class JobQueue(Construct):
    """Public fields: `queue`, `dead_letter_queue`, `dead_letter_alarm`."""

    def __init__(self, scope: Construct, construct_id: str, props: JobQueueProps) -> None:
        super().__init__(scope, construct_id)
        spec = props.spec
        dead_letter_name = f"{props.name}-dlq{props.suffix}"
        self.dead_letter_queue, self.dead_letter_alarm = add_alarmed_dead_letter_queue(
            self,
            "dead_letter_queue",
            alarm_id="dead_letter_alarm",
            name=dead_letter_name,
            retention_days=spec.dead_letter_retention_days,
            fifo=props.fifo,
            alarm_name=f"{props.name}-dead-letters",
            description=f"Jobs in {dead_letter_name}: each failed {props.max_attempts} "
            "attempt(s), or its message was not a job. Each message's `reason` attribute says "
            "why; `make jobs` shows the job's attempts. Fix, then send it again as a new job.",
            alert_topic_arn=props.alert_topic_arn,
        )
        self.queue = aws.sqs_queue.SqsQueue(
            self,
            "queue",
            name=f"{props.name}{props.suffix}",
            sqs_managed_sse_enabled=True,
            receive_wait_time_seconds=SQS_MAX_LONG_POLL_SECONDS,
            visibility_timeout_seconds=QUEUE_VISIBILITY_SECONDS,
            message_retention_seconds=spec.message_retention_days * SECONDS_PER_DAY,
            redrive_policy=redrive_policy(self.dead_letter_queue, MAX_RECEIVES),
            # Producers may set a deduplication id; without one, the body is the id.
            **({"fifo_queue": True, "content_based_deduplication": True} if props.fifo else {}),
        )
        add_redrive_allow_policy(
            self, "dead_letter_queue_sources", self.dead_letter_queue, self.queue
        )
        add_tls_only_policy(self, "queue", self.queue)
