"""The consumer as a process (`python -m workers.consumer`) against moto_server: messages
handled once, poison messages and bodies of any shape in the DLQ, duplicates recognised."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

from tests.workers.consumer_testing import (
    EXAMPLE_HANDLER,
    keys_of,
    queue_counts,
    receive_all,
    send,
    start_consumer,
    wait_empty,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sqs import SQSClient

    from tests.workers.consumer_testing import QueuePair
    from tests.workers.processes import WorkerProcess

    StartWorker = Callable[..., WorkerProcess]


def stop_cleanly(worker: WorkerProcess) -> None:
    worker.signal(signal.SIGTERM)
    assert worker.wait_exit(timeout=15) == 0, worker.tail()


def test_every_message_is_handled_once_by_the_example_handler(
    sqs: SQSClient, queue_pair: QueuePair, start_worker: StartWorker
) -> None:
    # given 30 numbers on the queue
    numbers = [1_700_000_000 + index for index in range(30)]
    keys = send(sqs, queue_pair.url, [str(number) for number in numbers])

    # when the consumer runs with the example handler
    worker = start_consumer(
        start_worker, queue_pair, WORKER_HANDLER=EXAMPLE_HANDLER, HANDLER_SLEEP_SECONDS="0.05"
    )
    worker.wait_for_events("handled", len(numbers), timeout=30)
    wait_empty(sqs, queue_pair.url, timeout=10)
    stop_cleanly(worker)

    # then each was handled exactly once, reported even or odd, and nothing is left anywhere
    assert sorted(keys_of(worker.lines, "handled")) == sorted(keys)
    reported = {line["number"]: line["event"] for line in worker.lines if "number" in line}
    assert reported == {
        number: "number is even" if number % 2 == 0 else "number is odd" for number in numbers
    }
    assert queue_counts(sqs, queue_pair.dlq_url) == (0, 0)
    handled = worker.events("handled")[0]
    assert handled["outcome"] == "success"
    assert {"message_id", "receive_count", "duration_seconds"} <= handled.keys()


def test_poison_message_reaches_the_dlq_while_the_others_are_handled(
    sqs: SQSClient, queue_pair: QueuePair, start_worker: StartWorker
) -> None:
    # given one poison message among good ones
    good = send(sqs, queue_pair.url, ["ok"] * 8, key_prefix="good")
    (poison,) = send(sqs, queue_pair.url, ["fail: poison"], key_prefix="poison")

    worker = start_consumer(start_worker, queue_pair)

    # then the good ones are handled, and the poison one fails maxReceiveCount times, each
    # time hidden for a backoff (not released at once), then SQS moves it to the DLQ intact
    worker.wait_for_events("failed", queue_pair.max_receive_count, timeout=30)
    (dead,) = receive_all(sqs, queue_pair.dlq_url, expected=1, timeout=20)
    wait_empty(sqs, queue_pair.url, timeout=10)
    stop_cleanly(worker)

    assert sorted(keys_of(worker.lines, "handled")) == sorted(good)
    failures = worker.events("failed")
    assert {line["idempotency_key"] for line in failures} == {poison}
    assert [line["receive_count"] for line in failures] == [1, 2, 3]
    assert all(line["retry_in_seconds"] >= 1 for line in failures)
    assert dead["Body"] == "fail: poison"


def test_a_body_of_any_shape_fails_the_handler_and_reaches_the_dlq_intact(
    sqs: SQSClient, queue_pair: QueuePair, start_worker: StartWorker
) -> None:
    # given bodies the example handler cannot use: SQS carries text, so "invalid UTF-8" arrives
    # as a Binary attribute (bytes that are not UTF-8) or as text that merely looks binary
    bodies = {
        "invalid-json": '{"n": 1,',
        "wrong-schema": '{"number": "seven"}',
        "looks-binary": "\u00ff\u00fe\u0001\u0002 \ufffd \U0001f4a5",
        "max-size": "é" * (128 * 1024),  # 262,144 bytes of UTF-8: SQS's maximum
        "empty-number": " ",
        "huge-number": "7" * 5000,  # past Python's int-parsing limit: ValueError, not a crash
    }
    not_utf8 = b"\xff\xfe\x80\x00 not utf-8"
    for name, body in bodies.items():
        sqs.send_message(
            QueueUrl=queue_pair.url,
            MessageBody=body,
            MessageAttributes={
                "idempotency_key": {"DataType": "String", "StringValue": name},
                "raw": {"DataType": "Binary", "BinaryValue": not_utf8},
            },
        )
    worker = start_consumer(
        start_worker, queue_pair, WORKER_HANDLER=EXAMPLE_HANDLER, WORKER_CONCURRENCY="6"
    )

    # then every one goes to the DLQ unchanged, and the worker is still running
    dead = receive_all(sqs, queue_pair.dlq_url, expected=len(bodies), timeout=40)
    assert worker.process.poll() is None, worker.tail()
    stop_cleanly(worker)
    keys = [message["MessageAttributes"]["idempotency_key"]["StringValue"] for message in dead]
    assert dict(zip(keys, (message["Body"] for message in dead), strict=True)) == bodies
    assert all(m["MessageAttributes"]["raw"]["BinaryValue"] == not_utf8 for m in dead)
    assert not worker.events("handled")
    assert not worker.events("internal error")


def test_a_duplicate_of_a_handled_message_is_deleted_without_calling_the_handler(
    sqs: SQSClient, queue_pair: QueuePair, start_worker: StartWorker
) -> None:
    worker = start_consumer(start_worker, queue_pair)
    # given a message that was handled
    (key,) = send(sqs, queue_pair.url, ["first copy"], key_prefix="dup")
    worker.wait_for_events("handled", 1, timeout=15)

    # when a producer's retried copy (same idempotency key, new message id) arrives
    send(sqs, queue_pair.url, ["second copy"], key_prefix="dup")
    worker.wait_for_events("duplicate", 1, timeout=15)
    wait_until(lambda: queue_counts(sqs, queue_pair.url) == (0, 0), 10, "the copy deleted")
    stop_cleanly(worker)

    # then the handler ran once, and the copy was recognised by its key
    assert len(worker.events("test handler started")) == 1
    (duplicate,) = worker.events("duplicate")
    assert duplicate["idempotency_key"] == key
    assert duplicate["message_id"] != worker.events("handled")[0]["message_id"]
