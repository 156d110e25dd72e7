"""Send messages to SQS in batches without ever losing one silently.

`send_message_batch` does not raise when some entries fail: it lists them in
`Failed`. Every such entry is either retried (a transient fault: throttling, a
server error) with capped exponential backoff and full jitter, or reported at
once (a sender fault: the request itself is wrong and will never succeed). A
message the sender gives up on is logged as an error with its id; nothing is
dropped without a log line.

Each message carries the message attribute `idempotency_key`, the same on every
retry, so a consumer can recognise the duplicate that a retry after a lost
response produces (SQS delivers at least once).
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from workers.runtime.backoff import Backoff
from workers.runtime.fatal import FatalError, FatalWatch, grace_from_env
from workers.runtime.limits import SQS_MAX_BATCH_MESSAGES
from workers.runtime.message import IDEMPOTENCY_KEY_ATTRIBUTE

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from mypy_boto3_sqs import SQSClient

__all__ = [
    "IDEMPOTENCY_KEY_ATTRIBUTE",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ENTRIES",
    "BatchSender",
    "OutgoingMessage",
    "RetryPolicy",
    "SendReport",
]

log = logging.getLogger("workers.producer")

# SQS limits per SendMessageBatch request: 10 entries, and the sum of the message sizes
# (body plus every attribute's name, type and value) at most 256 KiB.
MAX_BATCH_ENTRIES = SQS_MAX_BATCH_MESSAGES
MAX_BATCH_BYTES = 256 * 1024
DEFAULT_SEND_BACKOFF = Backoff(base=0.2, cap=5.0)

# Whole-request errors that say "try again later" rather than "this request is wrong".
_TRANSIENT_ERROR_CODES = frozenset(
    {
        "RequestThrottled",
        "ThrottlingException",
        "Throttling",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "RequestTimeout",
        "KmsThrottled",
    }
)


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to send. `id` names it in logs and is also its batch entry id."""

    body: str
    # uuid4 hex: unique, and only [0-9a-f], which SQS accepts as a batch entry id.
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    idempotency_key: str | None = None

    @property
    def key(self) -> str:
        """The idempotency key: given by the caller, or the message's own id."""
        return self.id if self.idempotency_key is None else self.idempotency_key

    @property
    def size(self) -> int:
        """Bytes this message counts toward a batch's payload limit, as SQS counts them."""
        attribute = len(IDEMPOTENCY_KEY_ATTRIBUTE) + len("String") + len(self.key.encode())
        return len(self.body.encode()) + attribute

    def entry(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "MessageBody": self.body,
            "MessageAttributes": {
                IDEMPOTENCY_KEY_ATTRIBUTE: {"DataType": "String", "StringValue": self.key}
            },
        }


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and after what waits, a transiently failed message is sent again.

    Default: 6 attempts, waits from the shared Backoff of 0.2 s doubling to at most 5 s
    (jittered), so a message is given up after at most 6.2 s of waiting: within Fargate's
    default 30 s stop timeout, so a flush at SIGTERM ends before SIGKILL.
    """

    max_attempts: int = 6
    backoff: Backoff = DEFAULT_SEND_BACKOFF

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt `attempt`; jitter keeps producers apart."""
        return self.backoff.jittered(attempt, rng)


@dataclass
class SendReport:
    """What happened to every message given to `BatchSender.send`."""

    sent: dict[str, str] = field(default_factory=dict)  # message id -> SQS MessageId
    given_up: dict[str, str] = field(default_factory=dict)  # message id -> reason
    requests: int = 0

    @property
    def all_sent(self) -> bool:
        return not self.given_up


@dataclass(frozen=True)
class _Failure:
    message: OutgoingMessage
    code: str
    reason: str
    transient: bool


def batches(messages: Iterable[OutgoingMessage]) -> Iterator[list[OutgoingMessage]]:
    """Group messages in order into requests within SQS's entry and payload limits."""
    batch: list[OutgoingMessage] = []
    size = 0
    for message in messages:
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + message.size > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += message.size
    if batch:
        yield batch


class BatchSender:
    """Sends messages to one queue; retries transient failures; reports the rest.

    `sleep`, `rng` and `clock` are injectable so that tests can check the backoff and the grace
    period without waiting for them.

    An error retrying cannot fix (no such queue, access denied, bad credentials) that lasts
    `fatal_grace` seconds (default: FATAL_ERROR_GRACE_SECONDS, else 30) makes `send` raise
    FatalError, after logging every message of that send as not sent: a producer with a wrong
    queue ends instead of looking busy.
    """

    def __init__(
        self,
        client: SQSClient,
        queue_url: str,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        fatal_grace: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.queue_url = queue_url
        self.policy = RetryPolicy() if policy is None else policy
        self._sleep = sleep
        self._rng = random.Random() if rng is None else rng
        grace = grace_from_env() if fatal_grace is None else fatal_grace
        self._fatal = FatalWatch(grace, clock)

    def send(self, messages: Sequence[OutgoingMessage]) -> SendReport:
        """Send every message; return once each one is sent or given up (and logged).

        Raises FatalError (every message not sent logged first) when an error retrying cannot
        fix has lasted its grace period."""
        report = SendReport()
        try:
            return self._send(messages, report)
        except FatalError as error:
            for message in messages:
                if message.id not in report.sent and message.id not in report.given_up:
                    failure = _Failure(message, "Fatal", str(error), transient=False)
                    self._give_up(failure, report, attempts=0)
            raise

    def _send(self, messages: Sequence[OutgoingMessage], report: SendReport) -> SendReport:
        pending = self._reject_oversized(messages, report)
        for attempt in range(1, self.policy.max_attempts + 1):
            if not pending:
                break
            if attempt > 1:
                delay = self.policy.delay(attempt - 1, self._rng)
                log.warning(
                    "send failed, retrying",
                    extra={"messages": len(pending), "attempt": attempt, "delay_seconds": delay},
                )
                self._sleep(delay)
            pending = self._attempt(pending, attempt, report)
        for failure in pending:
            self._give_up(failure, report, attempts=self.policy.max_attempts)
        return report

    def _reject_oversized(
        self, messages: Sequence[OutgoingMessage], report: SendReport
    ) -> list[_Failure]:
        """Start every message as pending; one SQS would never accept is reported at once."""
        pending = []
        for message in messages:
            if message.size > MAX_BATCH_BYTES:
                reason = f"message is {message.size} bytes; SQS accepts at most {MAX_BATCH_BYTES}"
                failure = _Failure(message, "MessageTooLong", reason, transient=False)
                self._give_up(failure, report, attempts=0)
            else:
                pending.append(_Failure(message, "", "not sent yet", transient=True))
        return pending

    def _attempt(self, pending: list[_Failure], attempt: int, report: SendReport) -> list[_Failure]:
        """One pass over the pending messages; returns the transient failures to retry."""
        retry: list[_Failure] = []
        for batch in batches(failure.message for failure in pending):
            for failure in self._send_batch(batch, report):
                if failure.transient:
                    retry.append(failure)
                else:
                    self._give_up(failure, report, attempts=attempt)
        return retry

    def _send_batch(self, batch: list[OutgoingMessage], report: SendReport) -> list[_Failure]:
        by_id = {message.id: message for message in batch}
        report.requests += 1
        try:
            response = self.client.send_message_batch(
                QueueUrl=self.queue_url, Entries=[message.entry() for message in batch]
            )
        except (BotoCoreError, ClientError) as error:
            reason = self._fatal.failed(error)
            if reason is not None:
                raise FatalError(reason) from None
            # The request as a whole failed (botocore already retried it): every entry shares
            # the fault. A lost response may mean SQS did store them: the retry reuses the keys.
            return [_request_failure(message, error) for message in batch]
        self._fatal.succeeded()
        for entry in response.get("Successful", []):
            message = by_id.pop(entry["Id"])
            report.sent[message.id] = entry["MessageId"]
            log.info(
                "message sent",
                extra={
                    "message_id": message.id,
                    "sqs_message_id": entry["MessageId"],
                    "idempotency_key": message.key,
                },
            )
        failures = [
            _entry_failure(by_id.pop(entry["Id"]), entry) for entry in response.get("Failed", [])
        ]
        # An entry in neither list would otherwise vanish: treat it as a transient failure.
        failures += [
            _Failure(message, "Missing", "absent from the response", transient=True)
            for message in by_id.values()
        ]
        return failures

    @staticmethod
    def _give_up(failure: _Failure, report: SendReport, *, attempts: int) -> None:
        report.given_up[failure.message.id] = f"{failure.code}: {failure.reason}"
        log.error(
            "message not sent",
            extra={
                "message_id": failure.message.id,
                "idempotency_key": failure.message.key,
                "code": failure.code,
                "reason": failure.reason,
                "sender_fault": not failure.transient,
                "attempts": attempts,
            },
        )


def _entry_failure(message: OutgoingMessage, entry: dict[str, Any]) -> _Failure:
    return _Failure(
        message,
        code=str(entry.get("Code", "")),
        reason=str(entry.get("Message", "")),
        transient=not entry.get("SenderFault", False),
    )


def _request_failure(message: OutgoingMessage, error: Exception) -> _Failure:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        transient = code in _TRANSIENT_ERROR_CODES or status >= 500
        return _Failure(message, code, str(error), transient=transient)
    # Connection errors, timeouts, credentials not yet available: may well pass later.
    return _Failure(message, type(error).__name__, str(error), transient=True)
