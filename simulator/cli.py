"""`python -m simulator simulate|plan-capacity ...`: every error is one line and exit code 2."""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from simulator.cost import prices_for
from simulator.metrics import IdleTaskMetric
from simulator.planner import plan_capacity, scaling_snippet
from simulator.policies import MODES, FromZeroAlarm, UnsupportedModeError, mode_of
from simulator.report import format_table, summarize
from simulator.runner import (
    DEFAULT_HOURS,
    RunOptions,
    SpecError,
    arrivals_for,
    default_handler,
    horizon_for,
    load_scaling_variant,
    load_service,
    run_spec,
)
from simulator.tasks import HANDLER_FORMS, HandlerTimeError, parse_handler_time
from simulator.timings import Timings, TimingsError, override_timings
from simulator.workload import WORKLOAD_FORMS, WorkloadError, parse_duration, parse_workload

if TYPE_CHECKING:
    from collections.abc import Sequence

    from modules.config import ConsumerSpec
    from simulator.cost import FixedCosts
    from simulator.engine import RunResult

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_GOAL_NOT_MET = 1
DEFAULT_PLOT_DIR = Path(".local/simulations")
# Errors a user can fix by changing what they typed; anything else is a bug and may trace.
_USER_ERRORS = (WorkloadError, SpecError, HandlerTimeError, TimingsError, UnsupportedModeError)


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="python -m simulator",
        description="Simulate a consumer service's scaling policy before deploying it.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    common = _OneLineParser(add_help=False)
    common.add_argument("--service", required=True, help="consumer name (workers/<name>)")
    common.add_argument("--workload", required=True, help=f"one of {WORKLOAD_FORMS}")
    common.add_argument(
        "--hours",
        type=_positive,
        help=f"simulated hours (default {DEFAULT_HOURS:g}, or a trace's length)",
    )
    common.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    common.add_argument(
        "--handler", help=f"handler time: {HANDLER_FORMS} (default: the spec's processing time)"
    )
    common.add_argument(
        "--failure-rate",
        type=_fraction,
        default=0.0,
        help="share of handlings that fail (default 0)",
    )
    common.add_argument(
        "--no-protection", action="store_true", help="simulate without task scale-in protection"
    )
    common.add_argument(
        "--timing",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a timing constant (simulator/timings.py); repeatable",
    )
    common.add_argument(
        "--queue-at-start",
        choices=("auto", "active", "inactive"),
        default="auto",
        help="SQS metrics at the start: inactive (idle 6 h before: none until 15 min after the "
        "first message), active, or auto (inactive for a min-0 service; default)",
    )
    common.add_argument(
        "--idle-task-metric",
        choices=[metric.value for metric in IdleTaskMetric],
        default=IdleTaskMetric.MISSING.value,
        help="what ECS/ContainerInsights RunningTaskCount reports for a service with no task: "
        "nothing (default, the cautious reading) or 0; AWS does not document which",
    )
    common.add_argument(
        "--from-zero-alarm",
        choices=[alarm.value for alarm in FromZeroAlarm],
        default=FromZeroAlarm.SQS.value,
        help="backlog-per-task's alarm that starts the first task: sqs (visible and none in "
        "flight; what the stack deploys) or running-tasks (the former design, for comparison)",
    )
    common.add_argument("--root", type=Path, default=Path(), help="repository root (default .)")
    common.add_argument(
        "--stacks",
        type=Path,
        metavar="DIR",
        help="synthesized cdktf.out to take the fixed costs from (default: synthesize --root "
        "into a temporary folder, about a second)",
    )

    simulate = commands.add_parser("simulate", parents=[common], help="run the service's policy")
    compare = simulate.add_mutually_exclusive_group()
    compare.add_argument(
        "--compare",
        nargs="+",
        type=Path,
        default=[],
        metavar="SPEC.yaml",
        help="also run these specs (a consumer service.yaml, or a file with a scaling: block)",
    )
    compare.add_argument(
        "--compare-modes",
        action="store_true",
        help="also run every other scaling mode with its defaults "
        "(queue-depth: the reference design's)",
    )
    simulate.add_argument(
        "--plot",
        type=Path,
        help=f"PNG path (default {DEFAULT_PLOT_DIR}/<service>-<workload>-<options>.png)",
    )
    simulate.add_argument(
        "--window",
        type=_window,
        metavar="START-END",
        help="plot only this time window, e.g. 110m-3h (default: the whole run)",
    )

    plan = commands.add_parser(
        "plan-capacity", parents=[common], help="cheapest settings that meet a p95 goal"
    )
    plan.add_argument("--p95", type=_positive, required=True, help="p95 latency goal in seconds")
    return parser


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _window(text: str) -> tuple[float, float]:
    start_text, dash, end_text = text.partition("-")
    try:
        start, end = parse_duration(start_text, "--window"), parse_duration(end_text, "--window")
    except WorkloadError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not dash or end <= start:
        raise argparse.ArgumentTypeError(f"{text!r}: expected START-END with END after START")
    return start, end


def _fraction(text: str) -> float:
    value = _positive(text) if text.strip() not in ("0", "0.0") else 0.0
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 0 and below 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _simulate(args) if args.command == "simulate" else _plan(args)
    except _USER_ERRORS as error:
        print(f"simulator: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # Output piped into `head`: stop quietly (Python docs, "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(
        workload=parse_workload(args.workload, base=Path.cwd()),
        hours=args.hours,
        seed=args.seed,
        timings=override_timings(Timings(), args.timing),
        handler=parse_handler_time(args.handler) if args.handler else None,
        failure_rate=args.failure_rate,
        scale_in_protection=not args.no_protection,
        queue_active_at_start={"auto": None, "active": True, "inactive": False}[
            args.queue_at_start
        ],
        idle_task_metric=IdleTaskMetric(args.idle_task_metric),
        from_zero=FromZeroAlarm(args.from_zero_alarm),
    )


def _fixed_costs(args: argparse.Namespace, service: str, region: str) -> FixedCosts | None:
    """The platform's and the service stack's fixed monthly cost, from the synthesized stacks;
    None, said on stderr, when the configuration does not synthesize."""
    from costs.estimate import fixed_costs_for_simulation, read_stacks, simulation_fixed_costs

    if args.stacks is not None:
        return simulation_fixed_costs(read_stacks(args.stacks), service, region)
    try:
        return fixed_costs_for_simulation(args.root.resolve(), service, region)
    except RuntimeError as error:
        reason = str(error).splitlines()[-1]
        print(f"warning: fixed costs not counted: the synth failed: {reason}", file=sys.stderr)
        return None


def _fixed_note(fixed: FixedCosts | None) -> str:
    if fixed is None:
        return "fixed: NOT COUNTED (the synth failed; see the warning)"
    monthly = fixed.platform_monthly + fixed.service_monthly
    return (
        f"fixed: ${monthly:.2f} a month ({fixed.source}; scaling alarms per policy), prorated "
        "over each run's hours"
    )


def _simulate(args: argparse.Namespace) -> int:
    options = _options(args)
    spec = load_service(args.root, args.service)
    specs: list[ConsumerSpec] = [spec]
    specs += [load_scaling_variant(path, spec) for path in args.compare]
    if args.compare_modes:
        own = type(spec.scaling)
        specs += [
            spec.model_copy(update={"scaling": mode.default_config()})
            for config_type, mode in MODES.items()
            if config_type is not own
        ]
    for other in specs:
        mode_of(other)  # fails with one line before any run if a mode has no model
    horizon = horizon_for(options.workload, options.hours)
    arrivals = arrivals_for(options.workload, options.seed, horizon)
    handler = options.handler or default_handler(spec)
    region = _region(args.root)
    prices = prices_for(region)
    fixed = _fixed_costs(args, spec.name, region)
    results = [run_spec(other, options, arrivals, horizon, handler) for other in specs]
    summaries = [summarize(result, prices, fixed) for result in results]
    print(
        f"{spec.name}: workload {args.workload}, {horizon / 3600:.4g} h, seed {options.seed}, "
        f"handler {handler.label}, concurrency {spec.concurrency}, prefetch {spec.prefetch}, "
        f"task {spec.task_size.cpu} CPU / {spec.task_size.memory} MiB; {prices.label}; "
        f"{_fixed_note(fixed)}"
    )
    print(format_table(summaries))
    _warn_capped(results)
    from simulator.plot import plot_runs

    path = args.plot or DEFAULT_PLOT_DIR / f"{_plot_name(spec.name, args)}.png"
    title = f"{spec.name} under {args.workload} (seed {options.seed})"
    plot_runs(results, path, title, window=args.window)
    print(f"plot: {path}")
    return 0


def _warn_capped(results: list[RunResult]) -> None:
    """A run that hit its time cap has unhandled messages its figures leave out: say so."""
    for result in results:
        if result.capped:
            print(
                f"warning: {result.scenario.label}: stopped at the time cap "
                f"({result.end / 3600:.4g} h) with {result.queue.backlog} messages not handled; "
                "its latency and drain figures cover only the handled ones",
                file=sys.stderr,
            )


# Options that change a run but not its service or workload, with their defaults: those set to
# something else name the plot's file.
_NAMED_OPTIONS: dict[str, object] = {
    "hours": None,
    "seed": 1,
    "handler": None,
    "failure_rate": 0.0,
    "no_protection": False,
    "timing": [],
    "queue_at_start": "auto",
    "idle_task_metric": IdleTaskMetric.MISSING.value,
    "from_zero_alarm": FromZeroAlarm.SQS.value,
    "compare": [],
    "compare_modes": False,
    "window": None,
}


def _plot_name(service: str, args: argparse.Namespace) -> str:
    """`<service>-<workload>-<options not at their default>-<hash of all options>`: another run
    with other options gets another file instead of overwriting this one."""
    chosen = [(name, getattr(args, name)) for name in _NAMED_OPTIONS]
    readable = "-".join(
        _slug(f"{name}={_option_text(value)}")
        for name, value in chosen
        if value != _NAMED_OPTIONS[name] and value is not True
    ) + "".join(f"-{name}" for name, value in chosen if value is True)
    digest = hashlib.sha256(repr(chosen).encode()).hexdigest()[:8]
    return "-".join(part for part in (service, _slug(args.workload), readable[:80], digest) if part)


def _option_text(value: object) -> str:
    """An option's value for a file name: files by their stem, a window as START-END."""
    if isinstance(value, list):
        return "+".join(item.stem if isinstance(item, Path) else str(item) for item in value)
    if isinstance(value, tuple):
        return "-".join(f"{part:g}" for part in value)
    return str(value)


def _plan(args: argparse.Namespace) -> int:
    options = _options(args)
    spec = load_service(args.root, args.service)
    horizon = horizon_for(options.workload, options.hours)
    arrivals = arrivals_for(options.workload, options.seed, horizon)
    handler = options.handler or default_handler(spec)
    region = _region(args.root)
    prices = prices_for(region)
    fixed = _fixed_costs(args, spec.name, region)
    plan = plan_capacity(spec, options, arrivals, horizon, handler, args.p95, prices, fixed)
    current = plan.current
    print(
        f"{spec.name}: workload {args.workload}, {horizon / 3600:.4g} h, seed {options.seed}; "
        f"{len(plan.tried)} settings simulated; goal p95 <= {args.p95:g} s"
    )
    print(f"current: p95 {_fmt(current.p95)}, ${current.cost.total:.4f}")
    if plan.best is None:
        fastest = min(plan.tried, key=lambda c: c.summary.p95 or 0.0)
        print(
            f"no setting tried meets the goal; the fastest, {fastest.updates}, has p95 "
            f"{_fmt(fastest.summary.p95)}: raise the goal, concurrency, or the task count range"
        )
        return EXIT_GOAL_NOT_MET
    best = plan.best.summary
    print(
        f"cheapest meeting it: p95 {_fmt(best.p95)}, p99 {_fmt(best.p99)}, "
        f"{best.cost.task_hours:.2f} task-hours, ${best.cost.total:.4f}"
    )
    print(f"\n# workers/{spec.name}/service.yaml")
    print(scaling_snippet(plan.best.spec))
    return 0


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


def _region(root: Path) -> str:
    """The project's region from platform.yaml, for prices; config errors surface elsewhere."""
    from modules.config import ConfigError, load_config

    try:
        return load_config(root).project.region
    except ConfigError:
        return ""  # priced as the price table's fallback region, and labelled so


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")[:60] or "workload"
