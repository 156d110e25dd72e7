"""How a consumer's task count follows its queue: one model per scaling mode, and the step
bounds Application Auto Scaling takes, computed from the steps."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from modules.config.base import FieldError, Strict


class ScalingMode(StrEnum):
    BACKLOG_PER_TASK = "backlog-per-task"
    QUEUE_DEPTH = "queue-depth"
    STEPS = "steps"


class BacklogPerTaskScaling(Strict):
    """Target tracking on visible messages per task, a 0 -> 1 step, and scale to zero when idle."""

    mode: Literal[ScalingMode.BACKLOG_PER_TASK] = Field(
        ScalingMode.BACKLOG_PER_TASK, description="Scale on visible messages per running task."
    )
    min_tasks: int = Field(
        0, ge=0, le=1000, description="Fewest running tasks; 0 scales to zero. Default: 0."
    )
    max_tasks: int = Field(10, ge=1, le=1000, description="Most running tasks. Default: 10.")
    acceptable_latency_seconds: int = Field(
        300, ge=1, description="How long a message may wait before it is handled. Default: 300."
    )
    processing_time_seconds: float = Field(
        60, gt=0, description="Average handler time of one message. Default: 60."
    )
    idle_minutes: int = Field(
        15,
        ge=1,
        le=1440,
        description="No message visible or in flight this long -> 0 tasks. Default: 15.",
    )

    @model_validator(mode="after")
    def _bounds(self) -> BacklogPerTaskScaling:
        _check_task_bounds(self.min_tasks, self.max_tasks)
        if self.acceptable_latency_seconds < self.processing_time_seconds:
            raise FieldError(
                "acceptable_latency_seconds",
                f"must be at least processing_time_seconds ({self.processing_time_seconds:g}), or "
                f"no backlog per task can meet it; got {self.acceptable_latency_seconds}",
            )
        return self


class QueueDepthScaling(Strict):
    """The reference design's policy: target tracking on visible messages in the queue."""

    mode: Literal[ScalingMode.QUEUE_DEPTH] = Field(
        description="Scale on visible messages in the queue (the reference design's policy)."
    )
    min_tasks: int = Field(1, ge=0, le=1000, description="Fewest running tasks. Default: 1.")
    max_tasks: int = Field(3, ge=1, le=1000, description="Most running tasks. Default: 3.")
    target_visible_messages: int = Field(
        3, ge=1, description="Visible messages the policy keeps the queue at. Default: 3."
    )

    @model_validator(mode="after")
    def _bounds(self) -> QueueDepthScaling:
        _check_task_bounds(self.min_tasks, self.max_tasks)
        return self


class ScalingStep(Strict):
    """One band of the backlog: from `at_least` visible messages up to the next step's."""

    at_least: int = Field(
        ge=0, description="Visible messages where the step starts; it ends where the next starts."
    )
    change: int = Field(
        ge=-1000,
        le=1000,
        description="Tasks added (above 0) or removed (below 0) each time the step fires; 0 holds.",
    )


class HighBacklog(Strict):
    """A second policy for a backlog the steps cannot catch up with: it adds a percentage of the
    running tasks, so capacity grows geometrically instead of by a fixed step."""

    visible_messages: int = Field(
        100,
        ge=1,
        description=(
            "Visible messages from which it fires; above the last step's at_least. Default: 100 "
            "(ten times the default top step, where +5 tasks a minute no longer catch up)."
        ),
    )
    add_percent: int = Field(
        67, ge=1, le=1000, description="Percent of the running tasks it adds. Default: 67."
    )


# The default steps, the reference design's: -1 task at 0 visible messages, +1 from 1, +3 from 5,
# +5 from 10.
DEFAULT_STEPS = (
    {"at_least": 0, "change": -1},
    {"at_least": 1, "change": 1},
    {"at_least": 5, "change": 3},
    {"at_least": 10, "change": 5},
)


@dataclass(frozen=True)
class StepAdjustmentBounds:
    """One step adjustment as Application Auto Scaling takes it: bounds relative to the alarm
    threshold (None: unbounded) and the change in tasks."""

    lower: int | None
    upper: int | None
    change: int


@dataclass(frozen=True)
class StepPolicyBounds:
    """The alarm threshold of one step policy and its step adjustments, lowest first."""

    threshold: int
    adjustments: tuple[StepAdjustmentBounds, ...]


class StepScaling(Strict):
    """The reference design's step scaling on visible messages, with configurable steps, plus a
    percentage policy for a high backlog. Scales from and to zero by itself: steps act on any task
    count."""

    mode: Literal[ScalingMode.STEPS] = Field(
        description="Step scaling on visible messages in the queue (the reference design's steps)."
    )
    min_tasks: int = Field(0, ge=0, le=1000, description="Fewest running tasks. Default: 0.")
    max_tasks: int = Field(50, ge=1, le=1000, description="Most running tasks. Default: 50.")
    steps: list[ScalingStep] = Field(
        default_factory=lambda: [dict(step) for step in DEFAULT_STEPS],
        validate_default=True,
        min_length=2,
        max_length=20,
        description=(
            "Bands of visible messages, ordered by at_least from 0 up, each with its change; "
            "changes may not decrease as the backlog grows."
        ),
    )
    high_backlog: HighBacklog | None = Field(
        default_factory=HighBacklog,
        description="Add a percentage of the running tasks when the backlog is high; null: off.",
    )

    @field_validator("steps")
    @classmethod
    def _ordered(cls, steps: list[ScalingStep]) -> list[ScalingStep]:
        if steps[0].at_least != 0:
            raise FieldError(
                "0.at_least",
                "must be 0: the steps cover every backlog from an empty queue up (a step with "
                f"change 0 holds); got {steps[0].at_least}",
            )
        for index, (below, step) in enumerate(itertools.pairwise(steps), start=1):
            if step.at_least <= below.at_least:
                raise FieldError(
                    f"{index}.at_least",
                    f"must be more than steps.{index - 1}.at_least ({below.at_least}): steps are "
                    f"ordered by backlog and may not overlap; got {step.at_least}",
                )
            if step.change < below.change:
                raise FieldError(
                    f"{index}.change",
                    f"must be at least steps.{index - 1}.change ({below.change}): a larger "
                    f"backlog never calls for fewer tasks; got {step.change}",
                )
        if steps[-1].change <= 0:
            raise ValueError(
                "at least one step must add tasks (change above 0), or the service never starts one"
            )
        return steps

    @property
    def scale_out(self) -> StepPolicyBounds:
        """The steps that add tasks, for an alarm `visible >= threshold` (lowest adding step).

        Above its threshold a step's lower bound is inclusive and its upper bound exclusive
        (Application Auto Scaling user guide, step scaling), as the bands are."""
        bands = [band for band in self._bands() if band[2] > 0]
        threshold = bands[0][0]
        return StepPolicyBounds(
            threshold,
            tuple(
                StepAdjustmentBounds(
                    lower - threshold, None if upper is None else upper - threshold, change
                )
                for lower, upper, change in bands
            ),
        )

    @property
    def scale_in(self) -> StepPolicyBounds | None:
        """The steps that remove tasks, for an alarm `visible <= threshold` (the largest count
        of the highest removing step), or None when no step removes any.

        Below its threshold a step's lower bound is exclusive and its upper bound inclusive, so
        the band of counts [a, b) becomes (a - 1, b - 1] before it is made relative."""
        bands = [band for band in self._bands() if band[2] < 0]
        if not bands:
            return None
        top = bands[-1][1]
        assert top is not None, "a removing step is always below an adding one"
        threshold = top - 1
        return StepPolicyBounds(
            threshold,
            tuple(
                StepAdjustmentBounds(
                    None if lower == 0 else lower - 1 - threshold,
                    None if upper is None else upper - 1 - threshold,
                    change,
                )
                for lower, upper, change in bands
            ),
        )

    def _bands(self) -> list[tuple[int, int | None, int]]:
        """(first count, first count of the next band or None, change) of each step."""
        ends: list[int | None] = [*(step.at_least for step in self.steps[1:]), None]
        return [
            (step.at_least, end, step.change) for step, end in zip(self.steps, ends, strict=True)
        ]

    @model_validator(mode="after")
    def _bounds(self) -> StepScaling:
        _check_task_bounds(self.min_tasks, self.max_tasks)
        top = self.steps[-1].at_least
        if self.high_backlog is not None and self.high_backlog.visible_messages <= top:
            raise FieldError(
                "high_backlog.visible_messages",
                f"must be more than the last step's at_least ({top}), where the steps already "
                f"add their most; got {self.high_backlog.visible_messages}",
            )
        return self


def _check_task_bounds(min_tasks: int, max_tasks: int) -> None:
    if max_tasks < min_tasks:
        raise FieldError("max_tasks", f"must be at least min_tasks ({min_tasks}); got {max_tasks}")
