"""The developer's handler: one plain function taking a Message, chosen by WORKER_HANDLER.

A handler returns normally when the message was handled, and raises when it was not
(the message is then retried after a backoff, and moved to the DLQ after maxReceiveCount).
Delivery is at least once, so a handler must be idempotent: see Message.idempotency_key.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from workers.runtime.env import EnvError

if TYPE_CHECKING:
    from workers.runtime.message import Message

Handler = Callable[["Message"], object]

HANDLER_VARIABLE = "WORKER_HANDLER"
DEFAULT_HANDLER = "workers.consumer.handler:handle"


def load_handler(spec: str) -> Handler:
    """`package.module:function` -> the function; EnvError says what is wrong with `spec`."""
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
