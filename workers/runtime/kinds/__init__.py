"""The kinds of worker the platform runs, and how each finds its developer's handler.

Every worker image runs `python -m workers.runtime`, which starts the entry point of the kind
WORKER_KIND names (`python -m workers.runtime.kinds.<kind>` runs one directly). The entry point
owns the loop around the handler (receiving, sending, retries, status, shutdown, logs); the
handler is the one function a service writes, in `workers/<name>/handler.py` by convention,
named by its kind. The stacks write TaskSettings into every task definition (the
infrastructure imports this module), so a running task never guesses which code is its own.

This module is read at every synth: it imports nothing beyond the standard library and
workers.runtime.env.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from workers.runtime import env

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "HANDLER_MODULE",
    "HANDLER_VARIABLE",
    "KINDS",
    "KIND_VARIABLE",
    "QUEUE_URL_VARIABLE",
    "REGION_VARIABLE",
    "SERVICE_NAME_VARIABLE",
    "Kind",
    "TaskSettings",
    "handler_target",
]

KIND_VARIABLE = "WORKER_KIND"
HANDLER_VARIABLE = "WORKER_HANDLER"
# Read by boto3 itself; ECS sets it in a task as well.
REGION_VARIABLE = "AWS_REGION"
SERVICE_NAME_VARIABLE = "SERVICE_NAME"
# The queue a consumer receives from, a producer sends to, or a scheduled task watches: each
# kind's settings class writes and reads it under this one name.
QUEUE_URL_VARIABLE = "QUEUE_URL"
# The module a service's handler lives in unless its service.yaml says otherwise.
HANDLER_MODULE = "handler"


@dataclass(frozen=True)
class Kind:
    """What the runtime calls in a service of this kind.

    function: the handler's name by convention.
    parameters: the arguments the runtime passes, by position (their names are for people).
    returns: what the runtime does with the result, for people.
    """

    function: str
    parameters: tuple[str, ...]
    returns: str

    @property
    def signature(self) -> str:
        return f"{self.function}({', '.join(self.parameters)})"


# One entry per `kind` of service.yaml that runs containers; each has a module of this package.
KINDS = {
    "consumer": Kind("handle", ("message",), "return: handled (deleted); raise: retried"),
    "producer": Kind("produce", (), "the messages to send now: a body, or a list of them"),
    "scheduled": Kind("run", (), "return: the run succeeded; raise: it failed (alert)"),
    "job": Kind("run", ("job",), "return: the job succeeded; raise: it failed (retried)"),
}


def handler_target(service: str, module: str, function: str) -> str:
    """WORKER_HANDLER's value: `workers.<service>.<module>:<function>`."""
    return f"workers.{service}.{module}:{function}"


@dataclass(frozen=True)
class TaskSettings:
    """What every worker task is told about itself, whatever its kind (the task definition).

    region: the AWS region; boto3 reads it.
    service_name: the service's name, for the logs.
    kind: which entry point runs, a key of KINDS.
    handler: the service's function, `workers.<service>.<module>:<function>`.
    """

    region: str
    service_name: str
    kind: str
    handler: str

    def to_env(self) -> dict[str, str]:
        return {
            REGION_VARIABLE: self.region,
            SERVICE_NAME_VARIABLE: self.service_name,
            KIND_VARIABLE: self.kind,
            HANDLER_VARIABLE: self.handler,
        }

    @classmethod
    def from_env(cls, source: Mapping[str, str] | None = None) -> TaskSettings:
        """Each "" when unset: the launcher requires the kind, and handlers.py the handler (and
        each checks its form), where a `python -m workers.runtime.kinds.<kind>` run needs them."""
        return cls(
            region=env.optional_str(REGION_VARIABLE, "", source),
            service_name=env.optional_str(SERVICE_NAME_VARIABLE, "", source),
            kind=env.optional_str(KIND_VARIABLE, "", source),
            handler=env.optional_str(HANDLER_VARIABLE, "", source),
        )
