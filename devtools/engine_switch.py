"""`make engine-switch`: switching the engine of an applied platform plans no change.

    python -m devtools.engine_switch                      # apply with cdktf, plan with cdktn
    python -m devtools.engine_switch --from cdktn --to cdktf

The round trip (devtools/e2e/round_trip.py) is the harness: a copy of the repository, a patched
moto_server on 127.0.0.1, the AWS provider 5.100.0 from the offline mirror. Every stack is
applied with the first engine's output, a second plan of each must be empty (the harness's own
check), then the copy's platform.yaml names the other engine, main.py synthesizes again (in that
engine's venv) and every stack is planned against the state the first engine's output left.
Every plan must be empty: same resources, same addresses, same values.

Both outputs are planned with provider 5.100.0: cdktn's requires 6.69.1, and the harness's
override file pins the mirror's version for either (devtools/terraform_offline.py). Exit status:
0 every plan empty; 1 a plan was not, or a phase failed; 2 it could not start.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml

from devtools.e2e import schedule, workspace
from devtools.e2e.round_trip import Options, RoundTrip, RoundTripFailed
from devtools.e2e.workspace import WorkspaceError
from modules import engine
from modules.config import PROJECT_FILE
from pipeline.errors import PipelineError
from pipeline.synth import MANIFEST

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path
    from typing import TextIO

FAILED, COULD_NOT_START = 1, 2


@dataclass(frozen=True)
class SwitchReport:
    """What planning the other engine's output against the applied state found."""

    applied_with: str  # engine name and version, e.g. `cdktf 0.21.0`
    planned_with: str
    pending: dict[str, list[str]]  # stack -> the changes its plan lists; empty: no change

    @property
    def empty(self) -> bool:
        return not any(self.pending.values())

    def lines(self) -> list[str]:
        lines = [f"applied with {self.applied_with}, planned with {self.planned_with}:"]
        for stack, changes in self.pending.items():
            lines.append(f"  {stack}: {'no change' if not changes else f'{len(changes)} CHANGES'}")
            lines += [f"    {change}" for change in changes]
        return lines


@contextlib.contextmanager
def engine_override(chosen: engine.Engine) -> Iterator[None]:
    """CDK_ENGINE=chosen for what runs meanwhile (the harness synthesizes with os.environ)."""
    before = os.environ.get(engine.ENGINE_ENV)
    os.environ[engine.ENGINE_ENV] = chosen.name
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(engine.ENGINE_ENV, None)
        else:
            os.environ[engine.ENGINE_ENV] = before


def set_engine(tree: Path, chosen: engine.Engine) -> None:
    """Name `chosen` in the copy's platform.yaml, as a user switching engines does."""
    project_file = tree / PROJECT_FILE
    document = yaml.safe_load(project_file.read_text())
    document["engine"] = chosen.name
    project_file.write_text(yaml.safe_dump(document, sort_keys=False))


def synthesized_with(trip: RoundTrip, chosen: engine.Engine) -> str:
    """`<engine> <version>` from the manifest the last synth of the copy wrote."""
    manifest = json.loads((trip.tree / "cdktf.out" / MANIFEST).read_text())
    return f"{chosen.name} {manifest['version']}"


def plan_every_stack(trip: RoundTrip) -> dict[str, list[str]]:
    """A fresh `terraform init` and plan of each stack folder the last synth wrote."""
    pending: dict[str, list[str]] = {}

    def plan(stack: str) -> None:
        terraform = trip.terraform[stack]
        terraform.init()  # the synth replaced the folder (its override and lock file too)
        pending[stack] = terraform.pending_changes()

    no_order = {stack: frozenset[str]() for stack in trip.order}
    failures = schedule.run_in_order(trip.order, no_order, plan, trip.options.parallel)
    if failures:
        raise RoundTripFailed("\n".join(f"{stack}: plan failed: {e}" for stack, e in failures))
    return {stack: pending[stack] for stack in trip.order}


def switch(
    before: engine.Engine, after: engine.Engine, out: TextIO, options: Options | None = None
) -> SwitchReport:
    """Apply every stack with `before`, then plan every stack with `after`'s output."""
    with engine_override(before), RoundTrip(options or Options(), out=out) as trip:
        applied_with = synthesized_with(trip, before)
        trip.apply_all()
        trip.replan_all()  # the baseline: the first engine's own second plan is empty
        os.environ.pop(engine.ENGINE_ENV, None)  # from here on, platform.yaml decides
        set_engine(trip.tree, after)
        print(f"platform.yaml: engine: {after.name}; synthesizing again", file=out, flush=True)
        workspace.synthesize(trip.tree)
        planned_with = synthesized_with(trip, after)
        return SwitchReport(applied_with, planned_with, plan_every_stack(trip))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.engine_switch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    names = list(engine.ENGINES)
    parser.add_argument("--from", dest="before", choices=names, default=engine.CDKTF.name)
    parser.add_argument("--to", dest="after", choices=names, default=engine.CDKTN.name)
    args = parser.parse_args(argv)
    if args.before == args.after:
        print("error: --from and --to name the same engine", file=sys.stderr)
        return COULD_NOT_START
    started = time.monotonic()
    try:
        report = switch(engine.named(args.before), engine.named(args.after), sys.stdout)
    except (RoundTripFailed, WorkspaceError, PipelineError, engine.EngineError) as error:
        print(f"error: {error}", file=sys.stderr)
        return FAILED
    print("\n".join(report.lines()))
    verdict = "no change" if report.empty else "CHANGES"
    print(f"engine switch: {verdict} ({time.monotonic() - started:.0f} s)")
    return 0 if report.empty else FAILED


if __name__ == "__main__":
    sys.exit(main())
