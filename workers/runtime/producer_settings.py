"""The producer's settings: what its task is told, read from the environment once, at the edge.

The producer stack writes them with `to_env()`; `make local` writes shorter intervals the same
way. `from_env` checks every value and raises EnvError with one clear line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from workers.runtime import env
from workers.runtime.kinds import QUEUE_URL_VARIABLE

if TYPE_CHECKING:
    from collections.abc import Mapping

# A service may set the intervals in its container's environment (the e2e run shortens them).
MIN_INTERVAL_VARIABLE = "MIN_INTERVAL_SECONDS"
MAX_INTERVAL_VARIABLE = "MAX_INTERVAL_SECONDS"
DEFAULT_MIN_INTERVAL_SECONDS = 10.0
DEFAULT_MAX_INTERVAL_SECONDS = 60.0
# An interval is at least a tenth of a second and at most a day.
SHORTEST_INTERVAL_SECONDS = 0.1
LONGEST_INTERVAL_SECONDS = 86_400


@dataclass(frozen=True)
class ProducerSettings:
    """Where the producer sends, and how long it waits between two calls of `produce()`.

    queue_url: the consumer's queue (a Terraform reference in the stack).
    min_interval: shortest wait between two calls, in seconds. Default: 10.
    max_interval: longest wait; at least min_interval. Default: 60.
    """

    queue_url: str
    min_interval: float = DEFAULT_MIN_INTERVAL_SECONDS
    max_interval: float = DEFAULT_MAX_INTERVAL_SECONDS

    def to_env(self) -> dict[str, str]:
        """The queue always; the intervals only when they differ from the defaults."""
        values = {QUEUE_URL_VARIABLE: self.queue_url}
        if self.min_interval != DEFAULT_MIN_INTERVAL_SECONDS:
            values[MIN_INTERVAL_VARIABLE] = env.number_text(self.min_interval)
        if self.max_interval != DEFAULT_MAX_INTERVAL_SECONDS:
            values[MAX_INTERVAL_VARIABLE] = env.number_text(self.max_interval)
        return values

    @classmethod
    def from_env(cls, source: Mapping[str, str] | None = None) -> ProducerSettings:
        queue_url = env.required_str(QUEUE_URL_VARIABLE, source)
        low = _interval(MIN_INTERVAL_VARIABLE, DEFAULT_MIN_INTERVAL_SECONDS, source)
        high = _interval(MAX_INTERVAL_VARIABLE, DEFAULT_MAX_INTERVAL_SECONDS, source)
        if low > high:
            raise env.EnvError(
                f"{MIN_INTERVAL_VARIABLE}={low:g} must not exceed {MAX_INTERVAL_VARIABLE}={high:g}"
            )
        return cls(queue_url, low, high)


def _interval(name: str, default: float, source: Mapping[str, str] | None) -> float:
    return env.number(
        name,
        default,
        minimum=SHORTEST_INTERVAL_SECONDS,
        maximum=LONGEST_INTERVAL_SECONDS,
        env=source,
    )
