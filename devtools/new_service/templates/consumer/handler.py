"""This service's handler: the platform calls `handle(message)` once per message.

Return normally: the message was handled and is deleted. Raise: it is retried after a backoff,
and after the queue's max_receive_count it goes to the dead-letter queue, intact. Delivery is at
least once, so make the effect safe to repeat (use message.idempotency_key). Receiving,
concurrency, retries, deletes, heartbeats, shutdown and logs are the platform's:
workers/README.md.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workers.runtime.message import Message

log = logging.getLogger(__name__)


def handle(message: Message) -> None:
    log.info(
        "message read",
        extra={"idempotency_key": message.idempotency_key, "characters": len(message.body)},
    )
