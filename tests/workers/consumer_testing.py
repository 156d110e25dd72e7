"""Helpers for the consumer tests: fast settings, sending, queue state, polling with deadlines."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.workers.processes import WORKER_MODULE
from workers.runtime.backoff import Backoff
from workers.runtime.consumer import Consumer
from workers.runtime.consumer_settings import ConsumerSettings
from workers.runtime.message import IDEMPOTENCY_KEY_ATTRIBUTE

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from pathlib import Path

    from mypy_boto3_sqs import SQSClient

    from tests.workers.processes import LogLine, WorkerProcess
    from workers.runtime.handlers import Handler
    from workers.runtime.message import Message
    from workers.runtime.protection import TaskProtection

# Small numbers keep the tests fast: a message a killed worker held is back within seconds.
TEST_VISIBILITY_SECONDS = 3
TEST_MAX_RECEIVE_COUNT = 3
TEST_HANDLER = "tests.workers.handlers:record"
EXAMPLE_HANDLER = "workers.consumer.handler:handle"
POLL_INTERVAL_SECONDS = 0.1


@dataclass(frozen=True)
class QueuePair:
    """A queue and its dead-letter queue, as the consumer stack declares them."""

    url: str
    dlq_url: str
    max_receive_count: int
    visibility_timeout: int


@dataclass(frozen=True)
class Gate:
    """Messages whose handler (handlers.py, "gate:<name>:...") runs until the test opens the
    gate: a handler busy for exactly as long as the test needs, however loaded the machine."""

    folder: Path
    name: str = "work"

    def bodies(self, count: int) -> list[str]:
        return [f"gate:{self.name}:{index}" for index in range(count)]

    def env(self) -> dict[str, str]:
        """The worker's environment that tells the handler where gates open."""
        return {"TEST_GATE_DIR": str(self.folder)}

    def open(self) -> None:
        (self.folder / self.name).touch()


def consumer_env(queue: QueuePair, **overrides: str) -> dict[str, str]:
    """Settings that make every wait in the consumer a second or less."""
    return {
        "QUEUE_URL": queue.url,
        "WORKER_KIND": "consumer",
        "WORKER_HANDLER": TEST_HANDLER,
        "SERVICE_NAME": "consumer-under-test",
        "WORKER_CONCURRENCY": "4",
        "HANDLER_TIMEOUT_SECONDS": "10",
        "VISIBILITY_TIMEOUT_SECONDS": str(queue.visibility_timeout),
        "RECEIVE_WAIT_SECONDS": "1",
        "SQS_READ_TIMEOUT_SECONDS": "2",
        "STOP_TIMEOUT_SECONDS": "6",
        "RETRY_BACKOFF_BASE_SECONDS": "1",
        "RETRY_BACKOFF_MAX_SECONDS": "1",
        "SQS_BACKOFF_MAX_SECONDS": "1",
        "HANDLER_SLEEP_SECONDS": "0",
        **overrides,
    }


def start_consumer(
    start_worker: Callable[..., WorkerProcess], queue: QueuePair, **overrides: str
) -> WorkerProcess:
    return start_worker(WORKER_MODULE, **consumer_env(queue, **overrides))


def send(sqs: SQSClient, queue_url: str, bodies: Sequence[str], key_prefix: str = "k") -> list[str]:
    """Send `bodies` with idempotency keys `<key_prefix>-<index>`; return the keys."""
    keys = [f"{key_prefix}-{index}" for index in range(len(bodies))]
    for start in range(0, len(bodies), 10):
        entries = [
            {
                "Id": str(index),
                "MessageBody": bodies[index],
                "MessageAttributes": {
                    IDEMPOTENCY_KEY_ATTRIBUTE: {"DataType": "String", "StringValue": keys[index]}
                },
            }
            for index in range(start, min(start + 10, len(bodies)))
        ]
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        assert not response.get("Failed"), response.get("Failed")
    return keys


def queue_counts(sqs: SQSClient, queue_url: str) -> tuple[int, int]:
    """(visible, in flight) messages."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `predicate` until it holds; fail naming `what` when `timeout` passes."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(POLL_INTERVAL_SECONDS)  # polling interval of a deadline-bounded wait


def sample_until(
    done: Callable[[], bool], check: Callable[[], None], timeout: float, what: str
) -> int:
    """Run `check` repeatedly until `done()`; return how many samples were taken."""
    samples = 0

    def checked() -> bool:
        nonlocal samples
        if done():
            return True
        check()
        samples += 1
        return False

    wait_until(checked, timeout, what)
    return samples


def wait_empty(sqs: SQSClient, queue_url: str, timeout: float) -> None:
    wait_until(lambda: queue_counts(sqs, queue_url) == (0, 0), timeout, f"empty {queue_url}")


def receive_all(
    sqs: SQSClient, queue_url: str, expected: int, timeout: float
) -> list[dict[str, Any]]:
    """Receive (and delete) until `expected` messages came, or fail; returns them."""
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(received) < expected:
        assert time.monotonic() < deadline, f"only {len(received)} of {expected} messages arrived"
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        received += batch
    return received


def keys_of(lines: Iterable[LogLine], event: str) -> list[str]:
    return [line["idempotency_key"] for line in lines if line.get("event") == event]


def all_lines(*workers: WorkerProcess) -> list[LogLine]:
    return [line for worker in workers for line in worker.lines]


def fast_settings(queue: QueuePair, **overrides: Any) -> ConsumerSettings:
    """Settings for a consumer run in process: every wait a second or less."""
    values: dict[str, Any] = {
        "queue_url": queue.url,
        "concurrency": 4,
        "handler_timeout": 10,
        "visibility_timeout": queue.visibility_timeout,
        "stop_timeout": 4,
        "receive_wait": 1,
        "read_timeout": 2,
        "retry_backoff": Backoff(1, 1),
        "sqs_backoff": Backoff(0.1, 0.5),
        "delete_linger": 0.05,
        **overrides,
    }
    return ConsumerSettings(**values)


@contextlib.contextmanager
def running_consumer(
    client: SQSClient,
    settings: ConsumerSettings,
    handler: Handler,
    protection: TaskProtection | None = None,
) -> Iterator[Consumer]:
    """Run the engine on a thread; stop it and wait for its drain on the way out."""
    consumer = Consumer(client, settings, handler, protection=protection)
    thread = threading.Thread(target=consumer.run, name="consumer-under-test", daemon=True)
    thread.start()
    try:
        yield consumer
    finally:
        consumer.stop()
        thread.join(timeout=settings.stop_timeout + 5)
        assert not thread.is_alive(), "the consumer did not finish its drain in time"


class Recorder:
    """A handler that records each call; it blocks while `gate` is closed."""

    def __init__(self, gated: bool = False) -> None:
        self.calls: list[Message] = []
        self.gate = threading.Semaphore(0)
        self.gated = gated
        self._lock = threading.Lock()

    def __call__(self, message: Message) -> None:
        with self._lock:
            self.calls.append(message)
        if self.gated:
            assert self.gate.acquire(timeout=30), "the test never opened the gate"

    def keys(self) -> Counter[str]:
        with self._lock:
            return Counter(message.idempotency_key for message in self.calls)
