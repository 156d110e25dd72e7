"""`python -m workers.reporter`: log the watched queue's depth as one JSON line, then exit 0.

Environment (one clear line and exit code 2 when one is missing or malformed):
  QUEUE_URL       required: the queue to report on (the platform sets it from `watches:`).
  SERVICE_NAME    Default: reporter. Names the report's source.
  AWS_REGION, AWS_ENDPOINT_URL(_SQS): read by boto3 itself.

Exit code 1 when SQS cannot answer: the task fails, and the cluster's failure alert says so.

The report holds what GetQueueAttributes answers: messages visible, in flight and delayed. The
age of the oldest message is not among them: only CloudWatch's ApproximateAgeOfOldestMessage
has it, whose GetMetricData cannot be limited to one queue (IAM resource "*"), and peeking with
ReceiveMessage would count as a receive toward the consumer's maxReceiveCount.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from workers.runtime import env, logs
from workers.runtime.aws import sqs_client

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger("workers.reporter")

# GetQueueAttributes names -> the report's fields.
DEPTH_ATTRIBUTES = {
    "ApproximateNumberOfMessages": "visible",
    "ApproximateNumberOfMessagesNotVisible": "in_flight",
    "ApproximateNumberOfMessagesDelayed": "delayed",
}
FAILURE_EXIT_CODE = 1
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


def main() -> None:
    logs.configure()
    try:
        queue_url = env.required_str("QUEUE_URL")
    except env.EnvError as error:
        env.exit_with_usage_error(error)
    source = env.optional_str("SERVICE_NAME", "reporter")
    try:
        depth = queue_depth(sqs_client(read_timeout=READ_TIMEOUT_SECONDS), queue_url)
    except (BotoCoreError, ClientError) as error:
        log.error("queue report failed", extra={"queue_url": queue_url, "error": str(error)})
        raise SystemExit(FAILURE_EXIT_CODE) from None
    log.info(
        "queue report",
        extra={"source": source, "queue_url": queue_url, **asdict(depth), "total": depth.total},
    )


if __name__ == "__main__":
    main()
