"""The status table's job items: every state change is one conditional write.

A condition names the state (and attempt) the writer saw; when another writer got there first,
the write fails and the caller reads the item again instead of overwriting it. That is what
keeps a duplicate message, a redelivery or a late event from starting or ending a job twice.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from workers.runtime.jobs.model import JobRecord, JobState
from workers.runtime.jobs.schema import CREATED_AT, EXPIRES_AT, KEY, STATE, STATE_INDEX

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from mypy_boto3_dynamodb import DynamoDBClient

    from workers.runtime.jobs.model import JobMessage

__all__ = ["StatusTable", "is_condition_failure"]

DAY_SECONDS = 24 * 60 * 60
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def to_attribute(value: Any) -> Any:
    """A Python value as a DynamoDB attribute value (floats go through str to Decimal)."""
    return _SERIALIZER.serialize(_decimals(value))


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


def _decimals(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: _decimals(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_decimals(item) for item in value]
    return value


class StatusTable:
    """Job items of one job family's table. `retention_days`: how long a finished job stays."""

    def __init__(self, client: DynamoDBClient, table_name: str, retention_days: int) -> None:
        self.client = client
        self.name = table_name
        self.retention_seconds = retention_days * DAY_SECONDS

    # --- reads ------------------------------------------------------------------------------

    def get(self, job_id: str) -> JobRecord | None:
        item = self.client.get_item(
            TableName=self.name, Key={KEY: {"S": job_id}}, ConsistentRead=True
        ).get("Item")
        return None if item is None else JobRecord.from_item(from_item(item))

    def recent(self, states: Iterable[JobState], limit: int) -> list[JobRecord]:
        """The newest `limit` jobs in any of `states`, newest first (one query per state)."""
        found: list[JobRecord] = []
        for state in states:
            response = self.client.query(
                TableName=self.name,
                IndexName=STATE_INDEX,
                KeyConditionExpression="#state = :state",
                ExpressionAttributeNames={"#state": STATE},
                ExpressionAttributeValues={":state": {"S": str(state)}},
                ScanIndexForward=False,
                Limit=limit,
            )
            found += [JobRecord.from_item(from_item(item)) for item in response.get("Items", [])]
        found.sort(key=lambda record: (record.created_at, record.id), reverse=True)
        return found[:limit]

    # --- the dispatcher's writes --------------------------------------------------------------

    def record(
        self,
        message: JobMessage,
        *,
        group: str | None,
        message_id: str,
        max_attempts: int,
        now: float,
    ) -> JobRecord | None:
        """Record a job seen for the first time as QUEUED; None if its id is already recorded."""
        item: dict[str, Any] = {
            KEY: message.job_id,
            STATE: str(JobState.QUEUED),
            "attempt": message.attempt,
            "max_attempts": max_attempts,
            "payload": message.payload,
            CREATED_AT: now,
            "updated_at": now,
            "message_id": message_id,
        }
        if group is not None:
            item["group"] = group
        try:
            self.client.put_item(
                TableName=self.name,
                Item={name: to_attribute(value) for name, value in item.items()},
                ConditionExpression="attribute_not_exists(#key)",
                ExpressionAttributeNames={"#key": KEY},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return None
            raise
        return JobRecord.from_item(item)

    def claim_start(self, record: JobRecord, attempt: int, now: float) -> bool:
        """`record` (as read: QUEUED, or FAILED/RETRYING before a retry) -> STARTING `attempt`.

        The condition is the state and attempt that were read, and every path out of them
        changes one of the two: of several dispatchers holding the same job, exactly one wins.
        """
        return self._update(
            record.id,
            "SET #state = :starting, attempt = :attempt, updated_at = :now "
            "REMOVE task_arn, reason, started_at, finished_at, next_attempt_at",
            "#state = :seen_state AND attempt = :seen_attempt",
            {
                ":starting": JobState.STARTING,
                ":attempt": attempt,
                ":now": now,
                ":seen_state": record.state,
                ":seen_attempt": record.attempt,
            },
        )

    def record_task(self, job_id: str, attempt: int, task_arn: str, now: float) -> bool:
        """Note the task RunTask started (unless the runner already did)."""
        return self._update(
            job_id,
            "SET task_arn = :task, updated_at = :now",
            "attempt = :attempt AND #state = :starting AND attribute_not_exists(task_arn)",
            {":task": task_arn, ":now": now, ":attempt": attempt, ":starting": JobState.STARTING},
        )

    def touch_start(self, record: JobRecord, now: float) -> bool:
        """Take over a STARTING attempt whose dispatcher died before it noted the task."""
        return self._update(
            record.id,
            "SET updated_at = :now",
            "#state = :starting AND attempt = :attempt AND updated_at = :seen_updated "
            "AND attribute_not_exists(task_arn)",
            {
                ":now": now,
                ":starting": JobState.STARTING,
                ":attempt": record.attempt,
                ":seen_updated": record.updated_at,
            },
        )

    # --- the job runner's writes --------------------------------------------------------------

    def mark_running(
        self, job_id: str, attempt: int, task_arn: str | None, now: float
    ) -> JobRecord | None:
        """STARTING -> RUNNING for this attempt, by its own task; None if that is not the state."""
        names = {"#state": STATE}
        values: dict[str, Any] = {
            ":running": JobState.RUNNING,
            ":starting": JobState.STARTING,
            ":attempt": attempt,
            ":now": now,
        }
        update = "SET #state = :running, started_at = :now, updated_at = :now"
        condition = "#state = :starting AND attempt = :attempt"
        if task_arn is not None:
            # Another task of the same attempt (never expected) must not run the handler too.
            update += ", task_arn = :task"
            condition += " AND (attribute_not_exists(task_arn) OR task_arn = :task)"
            values[":task"] = task_arn
        try:
            response = self.client.update_item(
                TableName=self.name,
                Key={KEY: {"S": job_id}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={k: to_attribute(v) for k, v in values.items()},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return None
            raise
        return JobRecord.from_item(from_item(response["Attributes"]))

    def mark_succeeded(self, record: JobRecord, now: float) -> bool:
        return self._end_attempt(record, JobState.SUCCEEDED, None, now, (JobState.RUNNING,))

    # --- shared by the runner, the reaper and the dispatcher ----------------------------------

    def mark_failed(
        self,
        record: JobRecord,
        reason: str,
        now: float,
        from_states: tuple[JobState, ...] = (JobState.RUNNING,),
    ) -> bool:
        return self._end_attempt(record, JobState.FAILED, reason, now, from_states)

    def mark_retrying(self, record: JobRecord, next_attempt_at: float, now: float) -> bool:
        return self._update(
            record.id,
            "SET #state = :retrying, next_attempt_at = :next, updated_at = :now",
            "#state = :failed AND attempt = :attempt",
            {
                ":retrying": JobState.RETRYING,
                ":next": next_attempt_at,
                ":now": now,
                ":failed": JobState.FAILED,
                ":attempt": record.attempt,
            },
        )

    def mark_dead_lettered(self, record: JobRecord, now: float, reason: str | None = None) -> bool:
        """FAILED (out of attempts) -> DEAD_LETTERED; or, with a `reason`, a job that waited
        too long to start (QUEUED or RETRYING) -> DEAD_LETTERED with that reason."""
        values: dict[str, Any] = {
            ":dead": JobState.DEAD_LETTERED,
            ":now": now,
            ":expires": int(now + self.retention_seconds),
            ":attempt": record.attempt,
        }
        update = f"SET #state = :dead, updated_at = :now, {EXPIRES_AT} = :expires"
        if reason is None:
            condition = "#state = :failed AND attempt = :attempt"
            values[":failed"] = JobState.FAILED
        else:
            update += ", reason = :reason"
            condition = "#state IN (:queued, :retrying) AND attempt = :attempt"
            values.update(
                {":reason": reason, ":queued": JobState.QUEUED, ":retrying": JobState.RETRYING}
            )
        return self._update(record.id, update, condition, values)

    # --- helpers ------------------------------------------------------------------------------

    def _end_attempt(
        self,
        record: JobRecord,
        state: JobState,
        reason: str | None,
        now: float,
        from_states: tuple[JobState, ...],
    ) -> bool:
        """End the attempt `record` holds: set the state, append it to the history."""
        entry: dict[str, Any] = {
            "attempt": record.attempt,
            "outcome": str(state),
            "finished_at": now,
        }
        for name, value in (
            ("reason", reason),
            ("task_arn", record.task_arn),
            ("started_at", record.started_at),
        ):
            if value is not None:
                entry[name] = value
        values: dict[str, Any] = {
            ":state": state,
            ":now": now,
            ":entry": [entry],
            ":empty": [],
            ":attempt": record.attempt,
        }
        update = (
            "SET #state = :state, finished_at = :now, updated_at = :now, "
            "history = list_append(if_not_exists(history, :empty), :entry)"
        )
        if reason is not None:
            update += ", reason = :reason"
            values[":reason"] = reason
        if state == JobState.SUCCEEDED:
            update += f", {EXPIRES_AT} = :expires"
            values[":expires"] = int(now + self.retention_seconds)
        allowed = []
        for index, from_state in enumerate(from_states):
            values[f":from{index}"] = from_state
            allowed.append(f":from{index}")
        condition = f"#state IN ({', '.join(allowed)}) AND attempt = :attempt"
        return self._update(record.id, update, condition, values)

    def _update(self, job_id: str, update: str, condition: str, values: Mapping[str, Any]) -> bool:
        """One conditional UpdateItem; False when the condition did not hold."""
        names = {"#state": STATE} if "#state" in update + condition else None
        try:
            self.client.update_item(
                TableName=self.name,
                Key={KEY: {"S": job_id}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues={name: to_attribute(v) for name, v in values.items()},
                **({"ExpressionAttributeNames": names} if names else {}),
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True
