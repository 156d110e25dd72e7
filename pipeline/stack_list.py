"""`make deploy` and `make plan` without STACK (or with one that does not exist): which stacks
there are, in the order a first apply takes them (README: Deploying), read from the
configuration, so the answer needs no synth and no AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.config import CONSUMER_LINKS, PLATFORM_STACKS, ConfigError, load_config
from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from pathlib import Path

    from modules.config import PlatformConfig


def apply_order(config: PlatformConfig) -> list[str]:
    """cluster, logs, then services that read no other service's outputs (consumers, job
    families), then those that read a consumer's (producers, ingest APIs, scheduled jobs that
    watch a queue); by name within each."""
    linked = {
        service.name
        for service in config.services
        if type(service) in CONSUMER_LINKS
        and getattr(service, CONSUMER_LINKS[type(service)]) is not None
    }
    services = sorted(service.name for service in config.services)
    return [
        *PLATFORM_STACKS,
        *[name for name in services if name not in linked],
        *[name for name in services if name in linked],
    ]


def require_stack(repo: Path, stack: str, command: str) -> None:
    """PipelineError listing the stacks unless `stack` is one of them."""
    try:
        stacks = apply_order(load_config(repo, warn=lambda _warning: None))
    except ConfigError as error:
        raise PipelineError(
            "the configuration has problems; `make synth` lists them", "\n".join(error.problems)
        ) from None
    if stack in stacks:
        return
    known = f"stacks, in apply order: {', '.join(stacks)}"
    if not stack:
        raise PipelineError(f"STACK is required: {command} STACK=<name>; {known}")
    raise PipelineError(f"no stack '{stack}' in this configuration; {known}")
