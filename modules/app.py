"""Builds the CDKTF App from the configuration and synthesizes it without leaving partial output."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from modules import synth_report
from modules.cdk import App
from modules.config import ConsumerSpec, IngestSpec, JobSpec, ProducerSpec, ScheduledSpec
from modules.stacks.cluster import ClusterStack
from modules.stacks.consumer import ConsumerStack
from modules.stacks.ingest import IngestStack
from modules.stacks.jobs import JobStack
from modules.stacks.logs import LogsStack
from modules.stacks.producer import ProducerStack
from modules.stacks.scheduled import ScheduledStack

if TYPE_CHECKING:
    from modules.config import PlatformConfig

# Which stack a service kind becomes. Platform stacks come first: they are applied first.
SERVICE_STACKS = {
    ConsumerSpec: ConsumerStack,
    ProducerSpec: ProducerStack,
    ScheduledSpec: ScheduledStack,
    JobSpec: JobStack,
    IngestSpec: IngestStack,
}


def build_app(config: PlatformConfig, outdir: Path) -> App:
    app = App(outdir=str(outdir), stack_traces=False)
    ClusterStack(app, "cluster", config)
    LogsStack(app, "logs", config)
    for spec_type, stack_type in SERVICE_STACKS.items():
        for service in config.of_kind(spec_type):
            stack_type(app, service.name, config, service)
    return app


def synth(config: PlatformConfig, outdir: Path, *, report: bool = False) -> None:
    """Write every stack to `outdir`, replacing it only once the whole synth succeeded.

    `report`: then print one line per stack (resources; new, changed or unchanged since what
    `outdir` held) and the time taken (modules/synth_report.py), as `make synth` does.
    """
    staging = outdir.with_name(f"{outdir.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    if report:
        synth_report.announce_jsii_cache()
    try:
        build_app(config, staging).synth()
        previous = outdir.with_name(f"{outdir.name}.previous")
        shutil.rmtree(previous, ignore_errors=True)
        if outdir.exists():
            outdir.rename(previous)
        staging.rename(outdir)
        if report:
            synth_report.print_report(outdir / "stacks", previous / "stacks", _shown(outdir))
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _shown(outdir: Path) -> str:
    """Where the stacks went, relative to the working directory when under it."""
    stacks = outdir / "stacks"
    try:
        return str(stacks.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(stacks)
