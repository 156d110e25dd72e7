"""The job family's queue and dead-letter queue, as the dispatcher and the reaper write to them.

A FIFO queue takes no per-message delay and groups messages: a retry goes in a group of its own
(the job id), so that it never waits behind the next job of its original group, which itself
waits for this job (the group lock stays with the job through its retries; see limits.py). The
backoff is then kept by `not_before` in the message, which the dispatcher honours.
"""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING

from workers.runtime.limits import SQS_MAX_VISIBILITY_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from workers.runtime.jobs.model import JobMessage

__all__ = ["JobQueues"]

# SQS's longest DelaySeconds (standard queues only).
MAX_DELAY_SECONDS = 900
# A message attribute value may be long, but a reason is for a person reading a console.
MAX_REASON_CHARACTERS = 1000
# The FIFO group of bad messages and dead letters that had none.
DEAD_LETTER_GROUP = "dead-letters"


def _dedup_id(*parts: str) -> str:
    """A FIFO deduplication id (at most 128 characters) for `parts`."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class JobQueues:
    def __init__(
        self, client: SQSClient, queue_url: str, dead_letter_queue_url: str, *, fifo: bool
    ) -> None:
        self.client = client
        self.queue_url = queue_url
        self.dead_letter_queue_url = dead_letter_queue_url
        self.fifo = fifo

    def send_attempt(self, message: JobMessage, delay_seconds: float) -> None:
        """Queue `message` (a retry). A standard queue also hides it for the delay (≤ 15 min)."""
        if self.fifo:
            self.client.send_message(
                QueueUrl=self.queue_url,
                MessageBody=message.body(),
                MessageGroupId=message.job_id,
                # A second reaper run for the same failure sends the same retry: SQS drops it.
                MessageDeduplicationId=_dedup_id(message.job_id, str(message.attempt)),
            )
            return
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=message.body(),
            DelaySeconds=min(MAX_DELAY_SECONDS, max(0, math.ceil(delay_seconds))),
        )

    def dead_letter(self, body: str, reason: str, *, group: str | None, key: str) -> None:
        """Put `body` in the dead-letter queue, with the reason as a message attribute.

        `key` identifies the letter (a message id, a job id and attempt): a FIFO DLQ drops a
        second copy of it within SQS's five-minute deduplication window.
        """
        attributes = {
            "reason": {"DataType": "String", "StringValue": reason[:MAX_REASON_CHARACTERS]},
        }
        if self.fifo:
            self.client.send_message(
                QueueUrl=self.dead_letter_queue_url,
                MessageBody=body,
                MessageAttributes=attributes,
                MessageGroupId=group if group is not None else DEAD_LETTER_GROUP,
                MessageDeduplicationId=_dedup_id(key),
            )
            return
        self.client.send_message(
            QueueUrl=self.dead_letter_queue_url, MessageBody=body, MessageAttributes=attributes
        )

    def hide(self, receipt_handle: str, seconds: float) -> None:
        """Make a received message visible again in `seconds` (it waits in the queue)."""
        self.client.change_message_visibility(
            QueueUrl=self.queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=min(SQS_MAX_VISIBILITY_SECONDS, max(0, math.ceil(seconds))),
        )
