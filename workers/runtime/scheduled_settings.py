"""The scheduled kind's settings: what its task is told beyond TaskSettings.

The scheduled stack writes them with `to_env()`; the runtime logs them at the start of a run.
The handler itself reads the watched queue's URL (`ScheduledSettings.from_env().watched_queue`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from workers.runtime import env
from workers.runtime.kinds import QUEUE_URL_VARIABLE

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class ScheduledSettings:
    """A scheduled task's settings.

    watched_queue: the URL of the consumer's queue the job `watches` (its depth may be read,
        never its messages), or None when it watches none. Default: None.
    """

    watched_queue: str | None = None

    def to_env(self) -> dict[str, str]:
        return {} if self.watched_queue is None else {QUEUE_URL_VARIABLE: self.watched_queue}

    @classmethod
    def from_env(cls, source: Mapping[str, str] | None = None) -> ScheduledSettings:
        return cls(watched_queue=env.optional_str(QUEUE_URL_VARIABLE, "", source) or None)
