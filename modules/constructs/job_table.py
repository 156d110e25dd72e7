"""A job family's status table: one item per job (state, attempts, task, history) and the
control items of the parallel limit and FIFO group locks.

Its layout (key, index, time-to-live attribute) is the runtime's contract,
`workers/runtime/jobs/schema.py`, read here rather than written twice. On demand capacity (jobs
are minutes apart, not a steady load), encrypted with DynamoDB's AWS-managed key, point-in-time
recovery on, and finished jobs deleted by time to live after the spec's status retention.
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import Construct, aws
from workers.runtime.jobs.schema import (
    ATTRIBUTE_TYPES,
    CREATED_AT,
    EXPIRES_AT,
    KEY,
    STATE,
    STATE_INDEX,
)


@dataclass(frozen=True)
class JobTableProps:
    """What a status table needs.

    name: the table's name (naming.jobs_table_name: `make jobs` finds it by that name).
    """

    name: str


class JobTable(Construct):
    """Public field: `table`."""

    def __init__(self, scope: Construct, construct_id: str, props: JobTableProps) -> None:
        super().__init__(scope, construct_id)
        dynamodb = aws.dynamodb_table
        self.table = dynamodb.DynamodbTable(
            self,
            "table",
            name=props.name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=KEY,
            attribute=[
                dynamodb.DynamodbTableAttribute(name=attribute, type=kind)
                for attribute, kind in sorted(ATTRIBUTE_TYPES.items())
            ],
            # `jobs list`: the newest jobs of each state (control items have no state).
            global_secondary_index=[
                dynamodb.DynamodbTableGlobalSecondaryIndex(
                    name=STATE_INDEX,
                    hash_key=STATE,
                    range_key=CREATED_AT,
                    projection_type="ALL",
                )
            ],
            ttl=dynamodb.DynamodbTableTtl(attribute_name=EXPIRES_AT, enabled=True),
            point_in_time_recovery=dynamodb.DynamodbTablePointInTimeRecovery(enabled=True),
            # The AWS-managed key (aws/dynamodb): encrypted at rest with no key policy to keep,
            # and no kms permission in the roles and for the people that read job status.
            server_side_encryption=dynamodb.DynamodbTableServerSideEncryption(enabled=True),
        )
