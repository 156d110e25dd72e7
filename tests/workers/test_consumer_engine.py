"""The consumer engine in process, against moto_server, with botocore event hooks on its
client: what it asks SQS for, and what it does when SQS answers a batch in part."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from tests.workers.consumer_testing import (
    Recorder,
    fast_settings,
    queue_counts,
    running_consumer,
    send,
    wait_empty,
    wait_until,
)
from workers.runtime.aws import LONG_POLL_SECONDS
from workers.runtime.consumer import Consumer

if TYPE_CHECKING:
    import pytest
    from mypy_boto3_sqs import SQSClient

    from tests.workers.consumer_testing import QueuePair
    from workers.runtime.message import Message


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.getMessage() == name]


def test_it_long_polls_and_never_asks_for_more_than_its_free_slots(
    sqs: SQSClient, queue_pair: QueuePair
) -> None:
    receives: list[dict[str, Any]] = []
    sqs.meta.events.register(
        "provide-client-params.sqs.ReceiveMessage", lambda params, **_: receives.append(params)
    )
    send(sqs, queue_pair.url, [f"m{index}" for index in range(7)])
    handler = Recorder(gated=True)
    settings = fast_settings(queue_pair, concurrency=3, receive_wait=LONG_POLL_SECONDS)

    with running_consumer(sqs, settings, handler) as consumer:
        # given all 3 slots busy after the first receive
        wait_until(lambda: len(handler.calls) == 3, 10, "3 handlers running")
        # when one handler finishes
        handler.gate.release()
        wait_until(lambda: len(receives) == 2, 10, "a second receive")
        # then the next receive asks for exactly the one free slot
        consumer.stop()
        handler.gate.release(10)

    assert [params["MaxNumberOfMessages"] for params in receives] == [3, 1]
    first = receives[0]
    assert first["WaitTimeSeconds"] == 20
    assert first["VisibilityTimeout"] == queue_pair.visibility_timeout
    assert first["MessageAttributeNames"] == ["All"]
    assert first["MessageSystemAttributeNames"] == ["ApproximateReceiveCount"]
    # the 4 handled were deleted; the 3 never received are still there, visible
    assert queue_counts(sqs, queue_pair.url) == (3, 0)


def test_deletes_ending_within_one_linger_are_batched(
    sqs: SQSClient, queue_pair: QueuePair
) -> None:
    deletes: list[int] = []
    sqs.meta.events.register(
        "provide-client-params.sqs.DeleteMessageBatch",
        lambda params, **_: deletes.append(len(params["Entries"])),
    )
    # given 7 handlers started by one receive that end one by one, 10 ms apart: all within
    # the 200 ms a delete lingers for company, but each at its own deadline
    keys = send(sqs, queue_pair.url, [f"m{index}" for index in range(7)])
    handled: list[str] = []

    def staggered(message: Message) -> None:
        time.sleep(0.01 * int(message.body[1:]))  # the work, not a synchronisation
        handled.append(message.idempotency_key)

    settings = fast_settings(queue_pair, concurrency=10, delete_linger=0.2)
    with running_consumer(sqs, settings, staggered):
        wait_empty(sqs, queue_pair.url, timeout=10)

    # then every message was deleted once, in fewer requests than messages: the deletes were
    # batched (that the first one due takes all the others along is exact on a fake clock, in
    # test_outbox_timing.py; here a loaded machine may split the batch)
    assert sorted(handled) == sorted(keys)
    assert sum(deletes) == len(keys)
    assert len(deletes) < len(keys)


def test_messages_a_receive_in_flight_brings_back_after_stop_are_released_at_once(
    sqs: SQSClient, queue_pair: QueuePair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="workers.consumer")
    send(sqs, queue_pair.url, [f"m{index}" for index in range(5)])
    handler = Recorder()
    consumer = Consumer(sqs, fast_settings(queue_pair, concurrency=4), handler)
    # SIGTERM arrives while the first receive is on its way to SQS
    sqs.meta.events.register("before-call.sqs.ReceiveMessage", lambda **_: consumer.stop())

    run = threading.Thread(target=consumer.run, daemon=True)
    run.start()
    run.join(timeout=10)

    assert not run.is_alive()
    assert handler.calls == []
    assert len(events(caplog, "released")) == 4
    # visible again now, not after the 3 s visibility timeout
    assert queue_counts(sqs, queue_pair.url) == (5, 0)


class DeleteFaults:
    """Makes the first entry of chosen DeleteMessageBatch requests fail, as SQS reports it.

    The entry's receipt handle is swapped for an invalid one, so the message really stays on
    the queue, and SQS's `Failed` entry for it is rewritten to the code under test.
    """

    INVALID_HANDLE = "injected-failure"

    def __init__(self, client: SQSClient, fail: dict[int, tuple[str, bool]]) -> None:
        self.fail = fail  # request number (from 1) -> (code, sender fault) for its first entry
        self.requests = 0
        self.injected: list[str] = []  # entry ids made to fail
        client.meta.events.register(
            "before-parameter-build.sqs.DeleteMessageBatch", self._spoil_first_entry
        )
        client.meta.events.register("after-call.sqs.DeleteMessageBatch", self._report_failed)

    def _spoil_first_entry(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        self.requests += 1
        fault = self.fail.get(self.requests)
        if fault is None:
            return
        victim = {**params["Entries"][0], "ReceiptHandle": self.INVALID_HANDLE}
        params["Entries"][0] = victim
        self.injected.append(victim["Id"])
        context["injected"] = (victim["Id"], *fault)

    def _report_failed(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "injected" not in context:
            return
        entry_id, code, sender_fault = context["injected"]
        (failed,) = [entry for entry in parsed["Failed"] if entry["Id"] == entry_id]
        failed.update(Code=code, SenderFault=sender_fault, Message="injected")


def test_transient_delete_failures_are_retried_and_nothing_is_handled_twice(
    sqs: SQSClient, queue_pair: QueuePair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="workers.consumer")
    # given a DeleteMessageBatch that fails one entry in each of its first 3 requests
    transient = ("InternalError", False)
    faults = DeleteFaults(sqs, {1: transient, 2: ("ServiceUnavailable", False), 3: transient})
    keys = send(sqs, queue_pair.url, [f"m{index}" for index in range(10)])
    handler = Recorder()

    # when the consumer handles everything
    with running_consumer(sqs, fast_settings(queue_pair, concurrency=10), handler):
        wait_empty(sqs, queue_pair.url, timeout=15)

    # then every failed entry was retried until deleted: each message handled exactly once
    assert len(faults.injected) == 3
    assert handler.keys() == Counter(keys)
    assert len(events(caplog, "batch entry failed")) == 3
    assert not events(caplog, "delete failed")


def test_a_delete_that_fails_for_good_is_redelivered_and_recognised_by_message_id(
    sqs: SQSClient, queue_pair: QueuePair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="workers.consumer")
    # given a message without an idempotency key whose first delete SQS rejects for good
    DeleteFaults(sqs, {1: ("ReceiptHandleIsInvalid", True)})
    message_id = sqs.send_message(QueueUrl=queue_pair.url, MessageBody="no key")["MessageId"]
    handler = Recorder()

    # when it comes back after its visibility timeout
    with running_consumer(sqs, fast_settings(queue_pair), handler):
        wait_until(lambda: bool(events(caplog, "duplicate")), 15, "the redelivery")
        wait_empty(sqs, queue_pair.url, timeout=10)

    # then the handler ran once; the copy was deleted as a duplicate of its message id
    assert [message.message_id for message in handler.calls] == [message_id]
    (failed,) = events(caplog, "delete failed")
    assert failed.code == "ReceiptHandleIsInvalid"
    (duplicate,) = events(caplog, "duplicate")
    assert duplicate.idempotency_key == message_id
    assert duplicate.receive_count == 2


def test_an_engine_error_stops_the_consumer_as_failed_instead_of_idling_forever(
    sqs: SQSClient, queue_pair: QueuePair, caplog: pytest.LogCaptureFixture
) -> None:
    # given a receive that fails in a way the engine does not expect (a bug, not an outage)
    def broken(**_: Any) -> None:
        raise RuntimeError("injected engine bug")

    sqs.meta.events.register("before-call.sqs.ReceiveMessage", broken)
    consumer = Consumer(sqs, fast_settings(queue_pair), Recorder())

    # when it runs, it stops by itself, marked failed (the process then exits 1)
    run = threading.Thread(target=consumer.run, daemon=True)
    run.start()
    run.join(timeout=10)

    assert not run.is_alive()
    assert consumer.failed
    assert events(caplog, "engine thread died")
