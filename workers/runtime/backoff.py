"""Capped exponential backoff, the one formula behind every wait-and-retry in the workers."""

from __future__ import annotations

import random
from dataclasses import dataclass

# 2**60 times any base is far past any cap; bounding the exponent avoids huge integers.
_MAX_EXPONENT = 60


@dataclass(frozen=True)
class Backoff:
    """`base * 2**(attempt - 1)` seconds, never more than `cap`; attempt counts from 1."""

    base: float
    cap: float

    def delay(self, attempt: int) -> float:
        exponent = min(max(attempt, 1) - 1, _MAX_EXPONENT)
        return min(self.cap, self.base * 2**exponent)

    def jittered(self, attempt: int, rng: random.Random | None = None) -> float:
        """Between half and all of `delay`: spreads retries of many workers, never near 0."""
        ceiling = self.delay(attempt)
        return (rng or random).uniform(ceiling / 2, ceiling)
