"""The example handler, with the reference design's behaviour: after HANDLER_SLEEP_SECONDS of
"work", log whether the number in the body is even or odd.

A body that is not a whole number raises ValueError: the platform retries the message after
a backoff and SQS moves it to the DLQ after maxReceiveCount. Delivery is at least once, so
handlers must be idempotent (this one only logs, which is).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from workers.runtime import env

if TYPE_CHECKING:
    from workers.runtime.message import Message

log = logging.getLogger(__name__)

# Read at import, so a malformed value stops the worker at start (exit 2), not per message.
SLEEP_SECONDS = env.number("HANDLER_SLEEP_SECONDS", 60, minimum=0, maximum=43_000)


def handle(message: Message) -> None:
    time.sleep(SLEEP_SECONDS)
    number = int(message.body.strip())  # ValueError for anything but a whole number
    log.info(
        "number is even" if number % 2 == 0 else "number is odd",
        extra={"number": number, "message_id": message.message_id},
    )
