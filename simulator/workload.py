"""Arrivals: when messages are sent to the queue.

A workload spec is text, as on the command line; `parse_workload` turns it into a
`Workload`, or raises `WorkloadError` with one line that says what is wrong and what is
allowed. Specs combine with `+` (e.g. `producer+burst:500@2h`).

- `producer`: the example producer, one message every uniform 10-60 s
  (workers/producer/service.yaml: MIN/MAX_INTERVAL_SECONDS).
- `poisson:RATE`: a Poisson process; RATE in messages per minute, or with a unit:
  `poisson:0.5/s`, `poisson:30/min`, `poisson:1000/h`.
- `burst:N@T`: N messages at once at time T (seconds, or with a unit: `90s`, `10m`, `2h`);
  `burst:N@T~J` at T plus a random offset below J (drawn from the random seed), so that a result
  does not hinge on the burst landing just before or after a metric period ends.
- `trace:FILE`: a CSV whose first column holds send times, one per row, in order: seconds
  (relative or UNIX epoch) or ISO 8601 datetimes; a header row is allowed. Times are
  shifted so that the first is 0.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import random

__all__ = [
    "Burst",
    "Combined",
    "ExampleProducer",
    "Poisson",
    "Trace",
    "Workload",
    "WorkloadError",
    "parse_duration",
    "parse_workload",
]

WORKLOAD_FORMS = "producer, poisson:RATE, burst:N@T[~J], trace:FILE (combine with +)"
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_RATE_UNITS = {"": 60.0, "/s": 1.0, "/min": 60.0, "/m": 60.0, "/h": 3600.0}


class WorkloadError(ValueError):
    """A workload spec or trace file that cannot be used; the message is one line."""


class Workload(Protocol):
    """Send times in seconds from the start, sorted, all below the horizon."""

    label: str

    def arrivals(self, rng: random.Random, horizon: float) -> list[float]: ...

    def span(self) -> float | None:
        """The workload's own length (a trace's), or None when it goes on forever."""
        ...


@dataclass(frozen=True)
class ExampleProducer:
    """The example producer (workers/producer): send, then sleep uniform(min, max) seconds."""

    min_interval: float = 10.0
    max_interval: float = 60.0
    label: str = "producer"

    def arrivals(self, rng: random.Random, horizon: float) -> list[float]:
        times: list[float] = []
        now = rng.uniform(self.min_interval, self.max_interval)
        while now < horizon:
            times.append(now)
            now += rng.uniform(self.min_interval, self.max_interval)
        return times

    def span(self) -> float | None:
        return None


@dataclass(frozen=True)
class Poisson:
    """Exponential gaps at `rate_per_second`."""

    rate_per_second: float
    label: str = "poisson"

    def arrivals(self, rng: random.Random, horizon: float) -> list[float]:
        times: list[float] = []
        now = rng.expovariate(self.rate_per_second)
        while now < horizon:
            times.append(now)
            now += rng.expovariate(self.rate_per_second)
        return times

    def span(self) -> float | None:
        return None


@dataclass(frozen=True)
class Burst:
    """`count` messages sent together at `at` seconds (a backfill, a replay, a batch job), or at
    `at` plus a random offset below `jitter` seconds."""

    count: int
    at: float
    label: str = "burst"
    jitter: float = 0.0

    def arrivals(self, rng: random.Random, horizon: float) -> list[float]:
        at = self.at + rng.uniform(0, self.jitter) if self.jitter > 0 else self.at
        return [at] * self.count if at < horizon else []

    def span(self) -> float | None:
        return None  # what happens after the burst (scale-in, idle cost) is the point


@dataclass(frozen=True)
class Trace:
    """Recorded send times, already validated and shifted to start at 0."""

    times: tuple[float, ...]
    label: str = "trace"

    def arrivals(self, rng: random.Random, horizon: float) -> list[float]:
        return [time for time in self.times if time < horizon]

    def span(self) -> float | None:
        return self.times[-1] + 1.0


@dataclass(frozen=True)
class Combined:
    """Several workloads on one queue. Each part draws from the same generator in order, so
    a random seed still gives one answer."""

    parts: tuple[Workload, ...]
    label: str = "combined"

    def arrivals(self, rng: random.Random, horizon: float) -> list[float]:
        return sorted(time for part in self.parts for time in part.arrivals(rng, horizon))

    def span(self) -> float | None:
        spans = [part.span() for part in self.parts]
        return None if any(span is None for span in spans) else max(s for s in spans if s)


def parse_duration(text: str, what: str) -> float:
    """`90`, `90s`, `10m`, `1.5h` -> seconds."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(s|m|min|h)?\s*", text)
    if not match:
        raise WorkloadError(f"{what}: {text!r} is not a duration such as 90, 90s, 10m or 2h")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or ""]


def parse_workload(spec: str, base: Path | None = None) -> Workload:
    """A workload from its command-line form; relative trace paths resolve against `base`."""
    parts = [part.strip() for part in spec.split("+")]
    if not spec.strip() or any(not part for part in parts):
        raise WorkloadError(f"workload {spec!r}: expected {WORKLOAD_FORMS}")
    workloads = [_parse_one(part, base) for part in parts]
    if len(workloads) == 1:
        return workloads[0]
    return Combined(tuple(workloads), label=spec)


def _parse_one(spec: str, base: Path | None) -> Workload:
    kind, _, argument = spec.partition(":")
    if kind == "producer" and not argument:
        return ExampleProducer()
    if kind == "poisson":
        return _poisson(spec, argument)
    if kind == "burst":
        return _burst(spec, argument)
    if kind == "trace" and argument:
        path = Path(argument)
        return load_trace(path if path.is_absolute() or base is None else base / path)
    raise WorkloadError(f"workload {spec!r}: expected {WORKLOAD_FORMS}")


def _poisson(spec: str, argument: str) -> Poisson:
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(/s|/min|/m|/h)?\s*", argument)
    if not match or float(match.group(1)) <= 0:
        raise WorkloadError(
            f"workload {spec!r}: RATE must be a positive number of messages per minute, "
            "or with a unit: poisson:0.5/s, poisson:30/min, poisson:1000/h"
        )
    per_second = float(match.group(1)) / _RATE_UNITS[match.group(2) or ""]
    return Poisson(per_second, label=spec)


def _burst(spec: str, argument: str) -> Burst:
    count_text, at_sign, at_text = argument.partition("@")
    if not at_sign or not count_text.strip().isdigit() or int(count_text) < 1:
        raise WorkloadError(
            f"workload {spec!r}: expected burst:N@T or burst:N@T~J with N a whole number >= 1, "
            "T a time such as 0, 90s, 10m or 2h, and J the most the time may be later"
        )
    at_text, _, jitter_text = at_text.partition("~")
    at = parse_duration(at_text, f"workload {spec!r}: T")
    jitter = parse_duration(jitter_text, f"workload {spec!r}: J") if jitter_text else 0.0
    return Burst(int(count_text), at, label=spec, jitter=jitter)


def load_trace(path: Path) -> Trace:
    """Read and validate a trace CSV. Every problem names the file and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkloadError(f"trace {path}: file not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise WorkloadError(f"trace {path}: cannot read it as UTF-8 text ({error})") from None
    times: list[float] = []
    for line_number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        cell = row[0].strip()
        value = _timestamp(cell)
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise WorkloadError(
                f"trace {path}, line {line_number}: {cell} must be a finite number of seconds >= 0"
            )
        if value is None:
            if not times and line_number == 1:
                continue  # a header row
            raise WorkloadError(
                f"trace {path}, line {line_number}: {cell!r} is neither seconds nor an "
                "ISO 8601 time (e.g. 12.5 or 2025-01-31T09:00:00Z)"
            )
        if times and value < times[-1]:
            raise WorkloadError(
                f"trace {path}, line {line_number}: {cell} is earlier than the row before; "
                "send times must be in order"
            )
        times.append(value)
    if not times:
        raise WorkloadError(f"trace {path}: no send times (one per row, first column)")
    start = times[0]
    return Trace(tuple(time - start for time in times), label=f"trace:{path.name}")


def _timestamp(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        try:
            moment = datetime.fromisoformat(cell.replace("Z", "+00:00"))
        except ValueError:
            return None
        # A time without a zone is read as UTC: only differences matter, and local time
        # would make the answer depend on the machine (and its DST changes).
        return moment.replace(tzinfo=moment.tzinfo or UTC).timestamp()
    return value
