"""`python -m workers.producer`: every random interval, send the current UNIX time.

Environment (one clear line and exit code 2 when one is missing or malformed):
  QUEUE_URL              required: the consumer's queue.
  MIN_INTERVAL_SECONDS   Default: 10. Shortest wait between two requests (0.1 to 86400).
  MAX_INTERVAL_SECONDS   Default: 60. Longest wait; at least MIN_INTERVAL_SECONDS.
  BATCH_SIZE             Default: 1. Messages per request (1 to 10).
  AWS_REGION, AWS_ENDPOINT_URL(_SQS): read by boto3 itself.

SIGTERM or SIGINT: finish the send under way (including its retries), then exit 0.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workers.runtime import env, logs
from workers.runtime.aws import sqs_client
from workers.runtime.producer import MAX_BATCH_ENTRIES, BatchSender, OutgoingMessage

if TYPE_CHECKING:
    from types import FrameType

log = logging.getLogger("workers.producer")


@dataclass(frozen=True)
class Settings:
    queue_url: str
    min_interval: float
    max_interval: float
    batch_size: int

    @classmethod
    def from_env(cls) -> Settings:
        queue_url = env.required_str("QUEUE_URL")
        low = env.number("MIN_INTERVAL_SECONDS", 10, minimum=0.1, maximum=86_400)
        high = env.number("MAX_INTERVAL_SECONDS", 60, minimum=0.1, maximum=86_400)
        if low > high:
            raise env.EnvError(
                f"MIN_INTERVAL_SECONDS={low:g} must not exceed MAX_INTERVAL_SECONDS={high:g}"
            )
        size = env.number("BATCH_SIZE", 1, minimum=1, maximum=MAX_BATCH_ENTRIES, integer=True)
        return cls(queue_url, low, high, int(size))


def run(settings: Settings, sender: BatchSender, stop: threading.Event) -> None:
    """Send until `stop` is set; a send under way always finishes first (that is the flush)."""
    rng = random.Random()
    log.info(
        "producer started",
        extra={
            "queue_url": settings.queue_url,
            "min_interval_seconds": settings.min_interval,
            "max_interval_seconds": settings.max_interval,
            "batch_size": settings.batch_size,
        },
    )
    while not stop.wait(rng.uniform(settings.min_interval, settings.max_interval)):
        body = str(int(time.time()))
        sender.send([OutgoingMessage(body) for _ in range(settings.batch_size)])
    log.info("producer stopped")


def main() -> None:
    logs.configure()
    try:
        settings = Settings.from_env()
    except env.EnvError as error:
        env.exit_with_usage_error(error)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stop requested", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run(settings, BatchSender(sqs_client(), settings.queue_url), stop)


if __name__ == "__main__":
    main()
