"""`make e2e`: apply every stack to a local AWS, re-plan, run the workers, change one worker,
destroy, and prove nothing is left.

    python -m devtools.e2e                                  # local: moto_server on 127.0.0.1
    python -m devtools.e2e --real-account --prefix acme-e2e  # the caller's AWS account

Exit status: 0 the round trip passed; 1 a phase failed (what failed is printed); 2 it could not
start (a missing tool, a bad argument).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from devtools.e2e.round_trip import REPO_ROOT, Options, RoundTrip, RoundTripFailed
from devtools.e2e.workspace import WorkspaceError
from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from collections.abc import Sequence

FAILED, COULD_NOT_START = 1, 2
# A project name as platform.yaml allows it: it prefixes every resource name.
PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,19}$")


def _prefix(value: str) -> str:
    if not PREFIX_PATTERN.match(value):
        raise argparse.ArgumentTypeError(
            f"'{value[:40]}' is not a project prefix: 2-20 lowercase letters, digits or '-', "
            "starting with a letter"
        )
    return value


def _parallel(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 8:
        raise argparse.ArgumentTypeError(f"'{value[:40]}' is not a number from 1 to 8")
    return int(value)


def _port(value: str) -> int:
    if not value.isdigit() or not 1024 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"'{value[:40]}' is not a port from 1024 to 65535")
    return int(value)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.e2e",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--real-account",
        action="store_true",
        help="apply to the AWS account of your credentials instead of a local moto_server",
    )
    parser.add_argument(
        "--prefix",
        type=_prefix,
        help="project name for the applied resources; required with --real-account",
    )
    parser.add_argument(
        "--parallel", type=_parallel, default=3, help="stacks applied at once (default: 3)"
    )
    parser.add_argument(
        "--port", type=_port, help="port of the local AWS on 127.0.0.1 (default: a free one)"
    )
    parser.add_argument("--repo", type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _destroy_after_failure(round_trip: RoundTrip) -> None:
    """On a real account, what was applied costs money: take it down, say what is left."""
    try:
        round_trip.destroy_all()
    except (RoundTripFailed, PipelineError) as error:
        print(f"error: cleaning up after the failure: {error}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.real_account and args.port is not None:
        print("error: --port is for the local AWS; --real-account uses none", file=sys.stderr)
        return COULD_NOT_START
    options = Options(
        repo=args.repo,
        real_account=args.real_account,
        prefix=args.prefix,
        parallel=args.parallel,
        port=args.port,
    )
    started = time.monotonic()
    try:
        with RoundTrip(options) as round_trip:
            return _run_phases(round_trip, started)
    except (RoundTripFailed, WorkspaceError, PipelineError) as error:
        # Only preparing can get here: each phase's failure is handled in _run_phases.
        print(f"error: {error}", file=sys.stderr)
        return COULD_NOT_START


def _run_phases(round_trip: RoundTrip, started: float) -> int:
    real_account = round_trip.options.real_account
    try:
        round_trip.apply_all()
        round_trip.replan_all()
        if not real_account:
            round_trip.run_workers()
        round_trip.change_one_worker()
        round_trip.destroy_all()
    except (RoundTripFailed, PipelineError) as error:
        round_trip.keep_workdir = True
        print(round_trip.progress.table())
        print(f"error: {error}", file=sys.stderr)
        if real_account and not round_trip.destroyed:
            _destroy_after_failure(round_trip)
        return FAILED
    print(round_trip.progress.table())
    print(f"round trip passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
