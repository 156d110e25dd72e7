"""From a spec and options to runs: the glue shared by the CLI, the planner and the bench."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import TypeAdapter, ValidationError

from modules.config import (
    SERVICE_KINDS,
    ConfigError,
    ConsumerSpec,
    ScalingMode,
    ServiceSpec,
    load_config,
)
from simulator.engine import Scenario, simulate
from simulator.metrics import IdleTaskMetric
from simulator.policies import FromZeroAlarm, mode_of
from simulator.tasks import Fixed
from simulator.timings import Timings

if TYPE_CHECKING:
    from pathlib import Path

    from simulator.engine import RunResult
    from simulator.tasks import HandlerTime
    from simulator.workload import Workload

__all__ = [
    "DEFAULT_HOURS",
    "RunOptions",
    "SpecError",
    "arrivals_for",
    "default_handler",
    "horizon_for",
    "load_scaling_variant",
    "load_service",
    "run_spec",
]

DEFAULT_HOURS = 24.0
# The consumer's example handler sleeps this long (workers/consumer/service.yaml).
HANDLER_SLEEP_VARIABLE = "HANDLER_SLEEP_SECONDS"
_SERVICE_ADAPTER: TypeAdapter[Any] = TypeAdapter(ServiceSpec)


class SpecError(ValueError):
    """A service or comparison spec that cannot be simulated; the message is one line."""


@dataclass(frozen=True)
class RunOptions:
    workload: Workload
    hours: float | None = None
    seed: int = 1
    timings: Timings = field(default_factory=Timings)
    handler: HandlerTime | None = None
    failure_rate: float = 0.0
    scale_in_protection: bool = True
    # None: inactive for a min-0 service (idle six hours before the run), active otherwise.
    queue_active_at_start: bool | None = None
    idle_task_metric: IdleTaskMetric = IdleTaskMetric.MISSING
    from_zero: FromZeroAlarm = FromZeroAlarm.SQS


def load_service(root: Path, name: str) -> ConsumerSpec:
    """The consumer `name` from the repository at `root`, validated like `make synth` does."""
    try:
        config = load_config(root)
    except ConfigError as error:
        more = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        raise SpecError(f"configuration: {error.problems[0]}{more}") from None
    consumers = sorted(s.name for s in config.services if isinstance(s, ConsumerSpec))
    service = next((s for s in config.services if s.name == name), None)
    if not isinstance(service, ConsumerSpec):
        what = "is not a consumer" if service else "does not exist"
        raise SpecError(f"service {name!r} {what}; consumers: {', '.join(consumers) or 'none'}")
    return service


def load_scaling_variant(path: Path, base: ConsumerSpec) -> ConsumerSpec:
    """A spec to compare with `base`: a whole consumer service.yaml, or a file holding only a
    `scaling:` block (then everything else is `base`'s)."""
    label = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{label}: file not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise SpecError(
            f"{label}: not a readable YAML file ({str(error).splitlines()[0]})"
        ) from None
    if not isinstance(data, dict) or ("scaling" not in data and "kind" not in data):
        raise SpecError(
            f"{label}: expected a consumer service.yaml or a mapping with a scaling: block"
        )
    if "kind" not in data:
        data = {**base.model_dump(mode="json", exclude={"scaling"}), "scaling": data["scaling"]}
    name = path.parent.name if path.name == "service.yaml" else path.stem
    data = {**data, "name": data.get("name", _valid_name(name))}
    try:
        spec = _SERVICE_ADAPTER.validate_python(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        # Tagged unions put their tag ('consumer', 'queue-depth') in the path: drop it.
        tags = {*SERVICE_KINDS, *ScalingMode}
        field_path = ".".join(str(part) for part in first["loc"] if str(part) not in tags)
        raise SpecError(f"{label}: {field_path}: {first['msg']}") from None
    if not isinstance(spec, ConsumerSpec):
        raise SpecError(f"{label}: kind must be consumer to be simulated")
    return spec


def _valid_name(stem: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in stem.lower()).strip("-")[:20]
    return cleaned if cleaned[:1].isalpha() else "compared"


def default_handler(spec: ConsumerSpec) -> HandlerTime:
    """The handler time the spec implies: its declared processing time, else the example
    handler's sleep, else 60 s."""
    processing = getattr(spec.scaling, "processing_time_seconds", None)
    if processing is not None:
        return Fixed(float(processing), label=f"fixed:{processing:g}")
    for container in spec.containers:
        sleep = container.environment.get(HANDLER_SLEEP_VARIABLE)
        if sleep is not None:
            try:
                return Fixed(float(sleep), label=f"fixed:{sleep}")
            except ValueError:
                break
    return Fixed(60.0, label="fixed:60")


def horizon_for(workload: Workload, hours: float | None) -> float:
    """--hours if given; else a trace's (or burst's) own length; else a day."""
    if hours is not None:
        return hours * 3600
    span = workload.span()
    return span if span is not None else DEFAULT_HOURS * 3600


def arrivals_for(workload: Workload, seed: int, horizon: float) -> list[float]:
    return workload.arrivals(random.Random(seed), horizon)


def run_spec(
    spec: ConsumerSpec,
    options: RunOptions,
    arrivals: list[float],
    horizon: float,
    handler: HandlerTime,
    label: str | None = None,
) -> RunResult:
    plan = mode_of(spec).plan(spec, options.timings, options.from_zero)
    return simulate(
        Scenario(
            spec=spec,
            plan=plan,
            arrivals=arrivals,
            horizon=horizon,
            handler=handler,
            timings=options.timings,
            failure_rate=options.failure_rate,
            seed=options.seed,
            scale_in_protection=options.scale_in_protection,
            label=label or f"{spec.name}: {plan.label}",
            idle_task_metric=options.idle_task_metric,
            queue_active_at_start=options.queue_active_at_start,
        )
    )
