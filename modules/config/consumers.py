"""The queue kinds: a consumer (`kind: consumer`), which receives from its own queue and scales
with the backlog, and a producer (`kind: producer`), which sends to a consumer's queue."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from modules.config.base import NAME_PATTERN, FieldError, Strict
from modules.config.scaling import BacklogPerTaskScaling, QueueDepthScaling, StepScaling
from modules.config.services import ServiceBase
from workers.runtime.consumer_settings import ConsumerSettings
from workers.runtime.limits import (
    FARGATE_MAX_STOP_TIMEOUT_SECONDS,
    MAX_CONCURRENCY,
    MAX_HANDLER_TIMEOUT_SECONDS,
    SQS_MAX_BATCH_MESSAGES,
    SQS_MAX_VISIBILITY_SECONDS,
)
from workers.runtime.limits import READ_TIMEOUT_SECONDS as CONSUMER_READ_TIMEOUT_SECONDS


class QueueSpec(Strict):
    """The consumer's queue and its dead-letter queue."""

    handler_timeout_seconds: int = Field(
        60,
        ge=1,
        le=MAX_HANDLER_TIMEOUT_SECONDS,
        description="Longest one message may be handled. Default: 60.",
    )
    visibility_timeout_seconds: int | None = Field(
        None,
        ge=0,
        le=SQS_MAX_VISIBILITY_SECONDS,
        description=(
            "How long a received message stays hidden from other receivers; at least the handler "
            "timeout. Default: handler timeout + 30 s (time to delete after the handler)."
        ),
    )
    max_receive_count: int = Field(
        5, ge=1, le=1000, description="Receives before a message goes to the DLQ. Default: 5."
    )
    message_retention_days: int = Field(
        4, ge=1, le=14, description="How long a message waits to be received. Default: 4 days."
    )
    dead_letter_retention_days: int = Field(
        14, ge=1, le=14, description="How long the dead-letter queue keeps one. Default: 14 days."
    )

    @model_validator(mode="after")
    def _visibility_covers_handler(self) -> QueueSpec:
        if (
            self.visibility_timeout_seconds is not None
            and self.visibility_timeout_seconds < self.handler_timeout_seconds
        ):
            raise FieldError(
                "visibility_timeout_seconds",
                f"must be at least handler_timeout_seconds ({self.handler_timeout_seconds}), or a "
                "message is delivered again while its handler still runs; "
                f"got {self.visibility_timeout_seconds}",
            )
        if self.visibility_timeout <= CONSUMER_READ_TIMEOUT_SECONDS:
            raise FieldError(
                "visibility_timeout_seconds",
                f"must be more than {CONSUMER_READ_TIMEOUT_SECONDS}, the consumer's receive read "
                "timeout (a long poll may hold messages that long before the consumer sees "
                f"them); got {self.visibility_timeout}",
            )
        if self.visibility_timeout > SQS_MAX_VISIBILITY_SECONDS:
            raise FieldError(
                "handler_timeout_seconds",
                f"plus 30 s must be at most SQS's {SQS_MAX_VISIBILITY_SECONDS} s visibility "
                f"timeout; got {self.handler_timeout_seconds}",
            )
        return self

    @property
    def visibility_timeout(self) -> int:
        if self.visibility_timeout_seconds is not None:
            return self.visibility_timeout_seconds
        return self.handler_timeout_seconds + 30


class ConsumerSpec(ServiceBase):
    """A service that receives from its own queue and scales with the backlog."""

    kind: Literal["consumer"] = Field(description="Receives from its own queue.")
    concurrency: int = Field(
        4, ge=1, le=MAX_CONCURRENCY, description="Handlers running at once per task. Default: 4."
    )
    prefetch: int = Field(
        0,
        ge=0,
        le=SQS_MAX_BATCH_MESSAGES,
        description=(
            "Messages a task may hold beyond its free handler slots, waiting for one. 0 never "
            "holds more than the free slots; about min(concurrency, 10) keeps handlers under a "
            "second busy (workers/README.md). Default: 0."
        ),
    )
    queue: QueueSpec = Field(
        default_factory=QueueSpec, description="The service's queue and dead-letter queue."
    )
    scaling: BacklogPerTaskScaling | QueueDepthScaling | StepScaling = Field(
        default_factory=BacklogPerTaskScaling,
        discriminator="mode",
        description="How the number of tasks follows the queue.",
    )

    @property
    def stop_timeout(self) -> int:
        """Seconds from SIGTERM to SIGKILL: enough to finish a handler, within Fargate's limit."""
        return min(FARGATE_MAX_STOP_TIMEOUT_SECONDS, self.queue.handler_timeout_seconds + 10)

    def runtime_settings(self, queue_url: str) -> ConsumerSettings:
        """What the consumer's task is told (`to_env`): its queue, its limits and its name."""
        return ConsumerSettings(
            queue_url=queue_url,
            service_name=self.name,
            concurrency=self.concurrency,
            prefetch=self.prefetch,
            handler_timeout=self.queue.handler_timeout_seconds,
            visibility_timeout=self.queue.visibility_timeout,
            stop_timeout=self.stop_timeout,
        )

    @property
    def backlog_target(self) -> float:
        """Visible messages one task may hold and still meet the latency goal.

        A task handles `concurrency` messages at a time, so it drains
        latency / processing_time * concurrency messages within the acceptable latency.
        """
        scaling = self.scaling
        assert isinstance(scaling, BacklogPerTaskScaling)
        return round(
            scaling.acceptable_latency_seconds / scaling.processing_time_seconds * self.concurrency,
            2,
        )


class ProducerSpec(ServiceBase):
    """A service that sends to a consumer's queue."""

    kind: Literal["producer"] = Field(description="Sends to a consumer's queue.")
    sends_to: str = Field(pattern=NAME_PATTERN, description="Name of the consumer it sends to.")
    tasks: int = Field(1, ge=0, le=1000, description="Running tasks. Default: 1.")
