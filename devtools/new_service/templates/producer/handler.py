"""This service's handler: the platform calls `produce()` every MIN_INTERVAL_SECONDS to
MAX_INTERVAL_SECONDS (set them in service.yaml, containers[].environment) and sends what it
returns to the queue of the consumer named by `sends_to`.

Return a body (str), a list of bodies, or OutgoingMessage(body, idempotency_key=...) from
workers.runtime.producer to give the key a consumer recognises a retried send by; None sends
nothing this time. Batching, retries and the log line of every message sent or not sent are the
platform's: workers/README.md.
"""

from __future__ import annotations

import json
import time


def produce() -> list[str]:
    return [json.dumps({"sent_at": int(time.time())})]
