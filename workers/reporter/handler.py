"""The example scheduled job: log the watched queue's depth as one JSON line.

The platform calls `run()` once per task (EventBridge Scheduler starts it); returning ends the
task with exit 0, raising fails it (exit 1) and the cluster's failure alert fires.

Settings: the watched queue (`ScheduledSettings`, set from `watches:`) and the service's name
(`TaskSettings`, the report's source).

The report holds what GetQueueAttributes answers: messages visible, in flight and delayed. The
age of the oldest message is not among them: only CloudWatch's ApproximateAgeOfOldestMessage
has it, whose GetMetricData cannot be limited to one queue (IAM resource "*"), and peeking with
ReceiveMessage would count as a receive toward the consumer's maxReceiveCount.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from workers.runtime import env
from workers.runtime.aws import sqs_client
from workers.runtime.kinds import QUEUE_URL_VARIABLE, TaskSettings
from workers.runtime.scheduled_settings import ScheduledSettings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger(__name__)

# GetQueueAttributes names -> the report's fields.
DEPTH_ATTRIBUTES = {
    "ApproximateNumberOfMessages": "visible",
    "ApproximateNumberOfMessagesNotVisible": "in_flight",
    "ApproximateNumberOfMessagesDelayed": "delayed",
}
# A report is one call: fail soon rather than hold a Fargate task.
READ_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class QueueDepth:
    """Approximate counts, as SQS reports them (eventually consistent, about a minute)."""

    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed


def queue_depth(client: SQSClient, queue_url: str) -> QueueDepth:
    attributes = client.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=list(DEPTH_ATTRIBUTES)
    )["Attributes"]
    return QueueDepth(**{field: int(attributes[name]) for name, field in DEPTH_ATTRIBUTES.items()})


def run() -> None:
    queue_url = ScheduledSettings.from_env().watched_queue
    if queue_url is None:
        raise env.EnvError(f"{QUEUE_URL_VARIABLE} is required but not set")
    source = TaskSettings.from_env().service_name
    depth = queue_depth(sqs_client(read_timeout=READ_TIMEOUT_SECONDS), queue_url)
    log.info(
        "queue report",
        extra={"source": source, "queue_url": queue_url, **asdict(depth), "total": depth.total},
    )
