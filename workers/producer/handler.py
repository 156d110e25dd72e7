"""The example producer's handler: each time the platform calls it (every MIN_INTERVAL_SECONDS to
MAX_INTERVAL_SECONDS), the current UNIX time, BATCH_SIZE times.

The platform sends what `produce()` returns, in batches, with an idempotency key per message,
and retries what SQS did not take; a body is a str (or return OutgoingMessage to set the key).
"""

from __future__ import annotations

import time

from workers.runtime import env
from workers.runtime.producer import MAX_BATCH_ENTRIES

# Read at import, so a malformed value stops the worker at start (exit 2), not per call.
BATCH_SIZE = int(env.number("BATCH_SIZE", 1, minimum=1, maximum=MAX_BATCH_ENTRIES, integer=True))


def produce() -> list[str]:
    return [str(int(time.time()))] * BATCH_SIZE
