"""The dispatcher and the reaper, assembled from settings and clients: the same in a Lambda
function and on a laptop, where only the clients' endpoint and the launcher differ."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workers.runtime.jobs.dispatcher import Dispatcher
from workers.runtime.jobs.limits import Limits
from workers.runtime.jobs.queues import JobQueues
from workers.runtime.jobs.reaper import Reaper
from workers.runtime.jobs.retries import AttemptSettler
from workers.runtime.jobs.table import StatusTable

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from workers.runtime.jobs.launcher import TaskLauncher
    from workers.runtime.jobs.settings import PlatformSettings

__all__ = ["JobPlatform"]


@dataclass(frozen=True)
class JobPlatform:
    settings: PlatformSettings
    table: StatusTable
    limits: Limits
    queues: JobQueues
    settler: AttemptSettler
    clock: Callable[[], float]

    @classmethod
    def build(
        cls,
        settings: PlatformSettings,
        dynamodb: DynamoDBClient,
        sqs: SQSClient,
        clock: Callable[[], float] = time.time,
    ) -> JobPlatform:
        table = StatusTable(dynamodb, settings.table, settings.status_retention_days)
        limits = Limits(dynamodb, settings.table)
        queues = JobQueues(
            sqs, settings.queue_url, settings.dead_letter_queue_url, fifo=settings.fifo
        )
        settler = AttemptSettler(table, limits, queues, settings.retry_delay_seconds, clock)
        return cls(settings, table, limits, queues, settler, clock)

    def dispatcher(self, launcher: TaskLauncher) -> Dispatcher:
        return Dispatcher(
            table=self.table,
            limits=self.limits,
            queues=self.queues,
            launcher=launcher,
            settler=self.settler,
            settings=self.settings,
            clock=self.clock,
        )

    def reaper(self) -> Reaper:
        return Reaper(self.table, self.limits, self.settler, self.clock)
