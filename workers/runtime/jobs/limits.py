"""How many jobs run at once, and one job at a time per FIFO message group.

Both are control items of the status table, changed only by conditional writes, so that
any number of dispatchers agree without talking to each other:

- `#slots` holds a string set with one member per task that is starting or running,
  `<job id>#<attempt>`. Taking a slot adds the member only while the set is smaller than the
  limit; giving it back deletes the member. Both are idempotent (adding a member already there,
  deleting one already gone), so the runner, the reaper and a redelivered message may all
  release the same slot, and the attempt in the member keeps a late release of attempt 1 from
  freeing the slot attempt 2 holds.
- `#group#<group id>` names the job that holds a FIFO message group, from its first start until
  it is final (retries included): the group's next job waits until then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from workers.runtime.jobs.schema import (
    EXPIRES_AT,
    GROUP_HOLDER,
    GROUP_KEY_PREFIX,
    KEY,
    SLOT_HOLDERS,
    SLOTS_KEY,
)
from workers.runtime.jobs.table import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["Limits", "slot_member"]

# A released group's lock item is deleted by DynamoDB's TTL after this long (it holds nothing).
RELEASED_GROUP_TTL_SECONDS = 24 * 60 * 60


def slot_member(job_id: str, attempt: int) -> str:
    return f"{job_id}#{attempt}"


class Limits:
    """The parallel slots and FIFO group locks of one job family's table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.client = client
        self.table = table_name

    def take_slot(self, job_id: str, attempt: int, limit: int) -> bool:
        """True if this attempt holds one of `limit` slots now (taken, or already held)."""
        member = slot_member(job_id, attempt)
        return self._conditional(
            SLOTS_KEY,
            f"ADD {SLOT_HOLDERS} :member",
            f"attribute_not_exists({SLOT_HOLDERS}) OR contains({SLOT_HOLDERS}, :name) "
            f"OR size({SLOT_HOLDERS}) < :max",
            {
                ":member": {"SS": [member]},
                ":name": {"S": member},
                ":max": {"N": str(limit)},
            },
        )

    def release_slot(self, job_id: str, attempt: int) -> None:
        self.client.update_item(
            TableName=self.table,
            Key={KEY: {"S": SLOTS_KEY}},
            UpdateExpression=f"DELETE {SLOT_HOLDERS} :member",
            ExpressionAttributeValues={":member": {"SS": [slot_member(job_id, attempt)]}},
        )

    def slot_holders(self) -> list[str]:
        item = self.client.get_item(
            TableName=self.table, Key={KEY: {"S": SLOTS_KEY}}, ConsistentRead=True
        ).get("Item", {})
        return sorted(item.get(SLOT_HOLDERS, {}).get("SS", []))

    def take_group(self, group: str, job_id: str) -> bool:
        """True if `job_id` holds `group` now (taken, or already held)."""
        return self._conditional(
            GROUP_KEY_PREFIX + group,
            f"SET {GROUP_HOLDER} = :job REMOVE {EXPIRES_AT}",
            f"attribute_not_exists({GROUP_HOLDER}) OR {GROUP_HOLDER} = :job",
            {":job": {"S": job_id}},
        )

    def release_group(self, group: str, job_id: str, now: float) -> None:
        """Free `group` if `job_id` holds it (a no-op otherwise)."""
        self._conditional(
            GROUP_KEY_PREFIX + group,
            f"REMOVE {GROUP_HOLDER} SET {EXPIRES_AT} = :expires",
            f"{GROUP_HOLDER} = :job",
            {
                ":job": {"S": job_id},
                ":expires": {"N": str(int(now) + RELEASED_GROUP_TTL_SECONDS)},
            },
        )

    def group_holder(self, group: str) -> str | None:
        item = self.client.get_item(
            TableName=self.table, Key={KEY: {"S": GROUP_KEY_PREFIX + group}}, ConsistentRead=True
        ).get("Item", {})
        holder = item.get(GROUP_HOLDER, {}).get("S")
        return None if holder is None else str(holder)

    def _conditional(
        self, key: str, update: str, condition: str, values: dict[str, dict[str, object]]
    ) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={KEY: {"S": key}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,  # type: ignore[arg-type]
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True
