"""`python -m simulator simulate|plan-capacity ...`: every error is one line and exit code 2."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from simulator.cost import DEFAULT_REGION, PRICES, prices_for
from simulator.planner import plan_capacity, scaling_snippet
from simulator.policies import MODES, UnsupportedModeError, mode_of
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
from simulator.workload import WORKLOAD_FORMS, WorkloadError, parse_workload

if TYPE_CHECKING:
    from collections.abc import Sequence

    from modules.config import ConsumerSpec

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
    common.add_argument("--root", type=Path, default=Path(), help="repository root (default .)")

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
        help="also run every other scaling mode with its defaults (queue-depth: the seed)",
    )
    simulate.add_argument(
        "--plot", type=Path, help=f"PNG path (default {DEFAULT_PLOT_DIR}/<service>-<workload>.png)"
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
    )


def _region_note(region: str) -> str:
    if region in PRICES:
        return f"prices: {region}, Linux/x86 on-demand"
    return f"prices: {DEFAULT_REGION} Linux/x86 on-demand ({region} is not in simulator/cost.py)"


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
    results = [run_spec(other, options, arrivals, horizon, handler) for other in specs]
    summaries = [summarize(result, prices) for result in results]
    print(
        f"{spec.name}: workload {args.workload}, {horizon / 3600:.4g} h, seed {options.seed}, "
        f"handler {handler.label}, concurrency {spec.concurrency}, "
        f"task {spec.task_size.cpu} CPU / {spec.task_size.memory} MiB; {_region_note(region)}"
    )
    print(format_table(summaries))
    from simulator.plot import plot_runs

    path = args.plot or DEFAULT_PLOT_DIR / f"{spec.name}-{_slug(args.workload)}.png"
    plot_runs(results, path, f"{spec.name} under {args.workload} (seed {options.seed})")
    print(f"plot: {path}")
    return 0


def _plan(args: argparse.Namespace) -> int:
    options = _options(args)
    spec = load_service(args.root, args.service)
    horizon = horizon_for(options.workload, options.hours)
    arrivals = arrivals_for(options.workload, options.seed, horizon)
    handler = options.handler or default_handler(spec)
    prices = prices_for(_region(args.root))
    plan = plan_capacity(spec, options, arrivals, horizon, handler, args.p95, prices)
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
        return DEFAULT_REGION


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")[:60] or "workload"
