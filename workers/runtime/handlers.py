"""The developer's handler: one plain function, named by WORKER_HANDLER (`module:function`).

The task definition sets WORKER_HANDLER (from the service's folder and kind, or its service.yaml
`handler:`), so a running task never guesses. A consumer's handler takes a Message and returns
normally when the message was handled, or raises when it was not (the message is then retried
after a backoff, and moved to the DLQ after maxReceiveCount). Delivery is at least once, so a
handler must be idempotent: see Message.idempotency_key. The other kinds' handlers are described
in workers.runtime.kinds.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from workers.runtime import env
from workers.runtime.env import EnvError
from workers.runtime.kinds import HANDLER_VARIABLE

if TYPE_CHECKING:
    from workers.runtime.message import Message

__all__ = ["HANDLER_VARIABLE", "Handler", "handler_from_env", "load_handler"]

Handler = Callable[["Message"], object]


def load_handler(spec: str) -> Callable[..., object]:
    """`package.module:function` -> the function; EnvError says what is wrong with `spec`.

    The module is imported here: an EnvError it raises at import (a malformed variable of its
    own) propagates as it is, so the worker stops at start with that one line.
    """
    module_name, separator, name = spec.partition(":")
    if not (separator and module_name and name):
        rule = "must be 'package.module:function'"
        raise EnvError(f"{HANDLER_VARIABLE}={spec!r} is not valid: {rule}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        problem = f"cannot import {module_name}: {error}"
        raise EnvError(f"{HANDLER_VARIABLE}={spec!r}: {problem}") from None
    handler = getattr(module, name, None)
    if not callable(handler):
        raise EnvError(f"{HANDLER_VARIABLE}={spec!r}: {module_name} has no function {name!r}")
    return handler


def handler_from_env() -> Callable[..., object]:
    """The handler WORKER_HANDLER names (required: the task definition always sets it)."""
    return load_handler(env.required_str(HANDLER_VARIABLE))
