"""What a job is: its message on the queue, its record in the status table, and its states.

A job message is JSON: `{"job_id": "...", "payload": <any JSON>}`. The job id is the
producer's: it is what makes a second message for the same job a duplicate. The platform
adds `attempt` and `not_before` when it re-enqueues a failed job for another attempt.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "FINAL_STATES",
    "JOB_ID_PATTERN",
    "BadJobMessage",
    "JobMessage",
    "JobRecord",
    "JobState",
]

# Letters, digits and `-_.:`, starting with a letter or digit: safe in an ECS environment
# variable, a log line and a DynamoDB key, and never `#`, which starts the table's control items.
JOB_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}"
_JOB_ID = re.compile(JOB_ID_PATTERN)
# SQS takes at most 256 KiB per message; this leaves room for the platform's own fields.
MAX_PAYLOAD_BYTES = 200 * 1024


class JobState(StrEnum):
    """Where a job is. An attempt goes QUEUED (or RETRYING) -> STARTING -> RUNNING -> an end."""

    QUEUED = "QUEUED"  # recorded; waiting for a parallel slot or its message group
    STARTING = "STARTING"  # a slot is held and RunTask was called for this attempt
    RUNNING = "RUNNING"  # the job runner in the task started the handler
    SUCCEEDED = "SUCCEEDED"  # final: the handler returned
    FAILED = "FAILED"  # this attempt failed (reason says why); to be retried or dead-lettered
    RETRYING = "RETRYING"  # another attempt is queued, to start after a backoff
    DEAD_LETTERED = "DEAD_LETTERED"  # final: every attempt failed; the job is in the DLQ


FINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.DEAD_LETTERED})


class BadJobMessage(ValueError):
    """A message that can never become a job (not JSON, no job id...): it goes to the DLQ."""


@dataclass(frozen=True)
class JobMessage:
    """One job message as read from the queue.

    payload: the payload as JSON text, exactly what the handler will parse.
    attempt: 1 for a producer's message; the platform's retries carry the next attempt.
    not_before: epoch seconds before which the attempt must not start (retry backoff).
    """

    job_id: str
    payload: str = "null"
    attempt: int = 1
    not_before: float | None = None

    @classmethod
    def parse(cls, body: str) -> JobMessage:
        """Raises BadJobMessage with a reason a person can act on."""
        try:
            data = json.loads(body)
        except ValueError as error:
            raise BadJobMessage(f"not JSON ({error})") from None
        if not isinstance(data, dict):
            raise BadJobMessage(f"not a JSON object; got {type(data).__name__}")
        job_id = data.get("job_id")
        if job_id is None or job_id == "":
            raise BadJobMessage('no "job_id"')
        if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
            raise BadJobMessage(
                f'"job_id" must be 1 to 128 letters, digits and -_.: (starting with a letter or '
                f"digit); got {job_id!r}"
            )
        payload = json.dumps(data.get("payload"), sort_keys=True, separators=(",", ":"))
        if len(payload.encode()) > MAX_PAYLOAD_BYTES:
            raise BadJobMessage(f'"payload" is larger than {MAX_PAYLOAD_BYTES} bytes')
        attempt = data.get("attempt", 1)
        if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
            raise BadJobMessage(f'"attempt" must be a whole number from 1; got {attempt!r}')
        not_before = data.get("not_before")
        if not_before is not None and (
            isinstance(not_before, bool)
            or not isinstance(not_before, int | float)
            or not math.isfinite(not_before)
        ):
            raise BadJobMessage(f'"not_before" must be epoch seconds; got {not_before!r}')
        return cls(job_id, payload, attempt, not_before)

    def body(self) -> str:
        data: dict[str, Any] = {"job_id": self.job_id, "payload": json.loads(self.payload)}
        if self.attempt != 1:
            data["attempt"] = self.attempt
        if self.not_before is not None:
            data["not_before"] = self.not_before
        return json.dumps(data, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class JobRecord:
    """A job item of the status table (see schema.py), read into Python types.

    group: the FIFO message group the job was first received in (its concurrency key), or None.
    history: one entry per ended attempt: attempt, outcome, reason, task_arn, times.
    """

    id: str
    state: JobState
    attempt: int
    max_attempts: int
    payload: str
    created_at: float
    updated_at: float
    group: str | None = None
    task_arn: str | None = None
    reason: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    next_attempt_at: float | None = None
    message_id: str | None = None
    history: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> JobRecord:
        """From a deserialized DynamoDB item (numbers are Decimal)."""
        return cls(
            id=str(item["id"]),
            state=JobState(item["state"]),
            attempt=int(item["attempt"]),
            max_attempts=int(item["max_attempts"]),
            payload=str(item.get("payload", "null")),
            created_at=float(item["created_at"]),
            updated_at=float(item["updated_at"]),
            group=_optional_str(item.get("group")),
            task_arn=_optional_str(item.get("task_arn")),
            reason=_optional_str(item.get("reason")),
            started_at=_optional_float(item.get("started_at")),
            finished_at=_optional_float(item.get("finished_at")),
            next_attempt_at=_optional_float(item.get("next_attempt_at")),
            message_id=_optional_str(item.get("message_id")),
            history=tuple(_plain(entry) for entry in item.get("history", ())),
        )

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    def message(self, attempt: int, not_before: float | None = None) -> JobMessage:
        """The message that starts `attempt` of this job."""
        return JobMessage(self.id, self.payload, attempt, not_before)

    def duration(self, now: float) -> float | None:
        """Seconds the current (or last) attempt has run, if it started."""
        if self.started_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else now
        return max(0.0, end - self.started_at)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals as int or float, recursively (for display and JSON)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
