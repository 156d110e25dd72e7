"""`python -m workers.runtime.kinds.producer`: every random interval, send what the service's
handler produces (`produce()`).

`produce()` takes nothing and returns the messages to send now: a body (str), an OutgoingMessage
(to give an idempotency key), a list of either, or None for nothing this time. The runtime sends
them in batches (workers.runtime.producer: retries, every message sent or logged as not sent).
A `produce()` that raises is logged with its traceback; the producer goes on at the next interval.

Environment: workers.runtime.producer_settings.ProducerSettings (the queue and the intervals)
and workers.runtime.kinds.TaskSettings (the handler); one clear line and exit code 2 when one is
missing or malformed. boto3 reads the region and endpoint itself.

SIGTERM or SIGINT: finish the send under way (including its retries), then exit 0.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from workers.runtime import env, logs
from workers.runtime.aws import sqs_client
from workers.runtime.handlers import handler_from_env
from workers.runtime.producer import BatchSender, OutgoingMessage
from workers.runtime.producer_settings import ProducerSettings

if TYPE_CHECKING:
    from types import FrameType

log = logging.getLogger("workers.producer")

Produce = Callable[[], object]


def outgoing(produced: object) -> list[OutgoingMessage]:
    """What `produce()` returned, as messages; TypeError names what cannot be sent."""
    if produced is None:
        return []
    items = [produced] if isinstance(produced, str | OutgoingMessage) else produced
    if not isinstance(items, Iterable):
        raise TypeError(_not_sendable(produced))
    messages = []
    for item in items:
        if isinstance(item, OutgoingMessage):
            messages.append(item)
        elif isinstance(item, str):
            messages.append(OutgoingMessage(item))
        else:
            raise TypeError(_not_sendable(item))
    return messages


def _not_sendable(value: object) -> str:
    return (
        f"produce() returned a {type(value).__name__}; return a str body, an OutgoingMessage, "
        "a list of them, or None"
    )


def produce_once(produce: Produce) -> list[OutgoingMessage]:
    """One call of the handler; a failure is logged (with its traceback) and sends nothing."""
    try:
        return outgoing(produce())
    except Exception as error:
        log.error(
            "produce failed",
            extra={
                "error": repr(error)[:500],
                "traceback": "".join(traceback.format_exception(error)),
            },
        )
        return []


def run(
    settings: ProducerSettings, sender: BatchSender, produce: Produce, stop: threading.Event
) -> None:
    """Send until `stop` is set; a send under way always finishes first (that is the flush)."""
    rng = random.Random()
    log.info(
        "producer started",
        extra={
            "queue_url": settings.queue_url,
            "min_interval_seconds": settings.min_interval,
            "max_interval_seconds": settings.max_interval,
        },
    )
    while not stop.wait(rng.uniform(settings.min_interval, settings.max_interval)):
        messages = produce_once(produce)
        if messages:
            sender.send(messages)
    log.info("producer stopped")


def main() -> None:
    logs.configure()
    try:
        settings = ProducerSettings.from_env()
        produce = handler_from_env()
    except env.EnvError as error:
        env.exit_with_usage_error(error)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stop requested", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run(settings, BatchSender(sqs_client(), settings.queue_url), produce, stop)


if __name__ == "__main__":
    main()
