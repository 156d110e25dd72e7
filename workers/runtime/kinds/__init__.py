"""The kinds of worker the platform runs, and how each finds its developer's handler.

Every worker image runs `python -m workers.runtime`, which starts the entry point of the kind
WORKER_KIND names (`python -m workers.runtime.kinds.<kind>` runs one directly). The entry point
owns the loop around the handler (receiving, sending, retries, status, shutdown, logs); the
handler is the one function a service writes, in `workers/<name>/handler.py` by convention,
named by its kind. The stacks write both variables into the task definition (the infrastructure
imports this table), so a running task never guesses which code is its own.

This module is read at every synth: it imports nothing beyond the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "HANDLER_MODULE",
    "HANDLER_VARIABLE",
    "KINDS",
    "KIND_VARIABLE",
    "Kind",
    "handler_target",
]

KIND_VARIABLE = "WORKER_KIND"
HANDLER_VARIABLE = "WORKER_HANDLER"
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
