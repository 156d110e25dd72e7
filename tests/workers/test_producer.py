"""The batch sender against a real moto_server, with per-entry failures injected through
botocore's event hooks: entries chosen to fail are removed from the request before it is
sent (so SQS never stores them, as with a real `Failed` entry) and added to the response's
`Failed` list after it returns."""

from __future__ import annotations

import logging
import random
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

from tests.workers.sqs_testing import client_for, drain, idempotency_key, new_queue
from workers.runtime.backoff import Backoff
from workers.runtime.producer import (
    IDEMPOTENCY_KEY_ATTRIBUTE,
    MAX_BATCH_BYTES,
    MAX_BATCH_ENTRIES,
    BatchSender,
    OutgoingMessage,
    RetryPolicy,
    batches,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sqs import SQSClient

    from devtools.moto_server import MotoServer


class EntryFaults:
    """Injects `Failed` entries into SendMessageBatch and records every entry each request held."""

    def __init__(
        self, client: SQSClient, rule: Callable[[int, dict[str, Any]], tuple[str, bool] | None]
    ) -> None:
        # rule(request number from 1, entry) -> None to let it through, or (code, sender fault)
        self.rule = rule
        self.requests: list[list[dict[str, Any]]] = []
        client.meta.events.register(
            "before-parameter-build.sqs.SendMessageBatch", self._drop_failing
        )
        client.meta.events.register("before-call.sqs.SendMessageBatch", self._answer_empty)
        client.meta.events.register("after-call.sqs.SendMessageBatch", self._report_failed)

    def _drop_failing(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        self.requests.append(list(params["Entries"]))
        failing = []
        for entry in params["Entries"]:
            fault = self.rule(len(self.requests), entry)
            if fault is not None:
                failing.append((entry["Id"], *fault))
        dropped = {entry_id for entry_id, _, _ in failing}
        params["Entries"] = [entry for entry in params["Entries"] if entry["Id"] not in dropped]
        context["injected_failures"] = failing
        context["entries_left"] = len(params["Entries"])

    @staticmethod
    def _answer_empty(
        context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        """When every entry fails, SQS must not see an empty request: answer it here."""
        if not context["entries_left"]:
            return AWSResponse("", 200, {}, None), {"Successful": [], "Failed": []}
        return None

    def _report_failed(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        parsed.setdefault("Failed", []).extend(
            {"Id": entry_id, "Code": code, "Message": "injected", "SenderFault": sender_fault}
            for entry_id, code, sender_fault in context.get("injected_failures", [])
        )

    def attempts_of(self, message_id: str) -> list[dict[str, Any]]:
        return [
            entry for request in self.requests for entry in request if entry["Id"] == message_id
        ]


class RecordedSleep:
    """Stands in for time.sleep: records each backoff instead of waiting for it."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def client(moto_server: MotoServer) -> SQSClient:
    return client_for(moto_server)


@pytest.fixture
def queue_url(client: SQSClient) -> str:
    return new_queue(client, "producer")


def messages(count: int) -> list[OutgoingMessage]:
    return [OutgoingMessage(f"body-{index}") for index in range(count)]


def sender_for(client: SQSClient, queue_url: str, sleep: RecordedSleep) -> BatchSender:
    policy = RetryPolicy(max_attempts=4, backoff=Backoff(base=0.2, cap=0.5))
    return BatchSender(client, queue_url, policy=policy, sleep=sleep, rng=random.Random(7))


def test_messages_arrive_with_bodies_and_idempotency_keys(
    client: SQSClient, queue_url: str
) -> None:
    # given 25 messages: more than two requests' worth
    outgoing = messages(25)

    # when they are sent
    report = BatchSender(client, queue_url).send(outgoing)

    # then every one arrives once, with its body and its own key, in 3 requests of at most 10
    assert report.all_sent and len(report.sent) == 25
    assert report.requests == 3
    received = drain(client, queue_url, expected=25)
    assert sorted((m["Body"], idempotency_key(m)) for m in received) == sorted(
        (m.body, m.id) for m in outgoing
    )
    attribute = received[0]["MessageAttributes"][IDEMPOTENCY_KEY_ATTRIBUTE]
    assert attribute["DataType"] == "String"


def test_transient_failures_are_retried_with_the_same_key(
    client: SQSClient, queue_url: str
) -> None:
    # given the first two requests fail every other entry with a server-side fault
    def flaky(request: int, entry: dict[str, Any]) -> tuple[str, bool] | None:
        index = int(entry["MessageBody"].removeprefix("body-"))
        return ("InternalError", False) if request <= 2 and index % 2 == 0 else None

    faults = EntryFaults(client, flaky)
    sleep = RecordedSleep()
    outgoing = messages(10)

    # when the batch is sent
    report = sender_for(client, queue_url, sleep).send(outgoing)

    # then all ten arrive exactly once, after two backoffs, and retries kept their key
    assert report.all_sent
    received = drain(client, queue_url, expected=10)
    assert Counter(idempotency_key(m) for m in received) == Counter(m.id for m in outgoing)
    assert len(sleep.delays) == 2
    retried = outgoing[0]
    keys = [
        entry["MessageAttributes"][IDEMPOTENCY_KEY_ATTRIBUTE]["StringValue"]
        for entry in faults.attempts_of(retried.id)
    ]
    assert keys == [retried.id] * 3


def test_sender_faults_are_reported_and_not_retried(
    client: SQSClient, queue_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # given one entry that SQS rejects as the sender's fault
    outgoing = messages(5)
    bad = outgoing[2]
    faults = EntryFaults(
        client, lambda _, entry: ("InvalidParameterValue", True) if entry["Id"] == bad.id else None
    )
    sleep = RecordedSleep()

    # when the batch is sent
    with caplog.at_level(logging.INFO, logger="workers.producer"):
        report = sender_for(client, queue_url, sleep).send(outgoing)

    # then it is tried once, logged as an error with its id, and the others arrive
    assert len(faults.attempts_of(bad.id)) == 1
    assert sleep.delays == []
    assert set(report.given_up) == {bad.id}
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [(r.getMessage(), r.message_id, r.sender_fault) for r in errors] == [
        ("message not sent", bad.id, True)
    ]
    received = drain(client, queue_url, expected=4)
    assert sorted(idempotency_key(m) for m in received) == sorted(
        m.id for m in outgoing if m is not bad
    )


def test_a_message_that_keeps_failing_is_given_up_with_an_error_log(
    client: SQSClient, queue_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # given one entry that is throttled on every request
    outgoing = messages(3)
    stuck = outgoing[0]
    faults = EntryFaults(
        client, lambda _, entry: ("RequestThrottled", False) if entry["Id"] == stuck.id else None
    )
    sleep = RecordedSleep()
    sender = sender_for(client, queue_url, sleep)

    # when the batch is sent
    with caplog.at_level(logging.ERROR, logger="workers.producer"):
        report = sender.send(outgoing)

    # then it is tried max_attempts times with capped, growing backoff ceilings, then logged
    policy = sender.policy
    assert len(faults.attempts_of(stuck.id)) == policy.max_attempts
    ceilings = [min(0.5, 0.2 * 2**n) for n in range(policy.max_attempts - 1)]  # 0.2, 0.4, 0.5
    assert len(sleep.delays) == len(ceilings)
    assert all(0 <= delay <= ceiling for delay, ceiling in zip(sleep.delays, ceilings, strict=True))
    assert set(report.given_up) == {stuck.id}
    [error] = caplog.records
    assert (error.message_id, error.code, error.attempts) == (stuck.id, "RequestThrottled", 4)
    assert len(drain(client, queue_url, expected=2)) == 2


def test_a_failed_request_is_retried_as_a_whole(client: SQSClient, queue_url: str) -> None:
    # given the connection fails on the first request
    calls = Counter[str]()

    def unreachable_once(**_: Any) -> None:
        calls["send"] += 1
        if calls["send"] == 1:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    client.meta.events.register("before-call.sqs.SendMessageBatch", unreachable_once)
    outgoing = messages(4)

    # when the batch is sent
    report = sender_for(client, queue_url, RecordedSleep()).send(outgoing)

    # then the second request delivers all of it
    assert report.all_sent and report.requests == 2
    assert len(drain(client, queue_url, expected=4)) == 4


def test_an_oversized_message_is_reported_without_a_request(
    client: SQSClient, queue_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    too_big = OutgoingMessage("x" * MAX_BATCH_BYTES)

    with caplog.at_level(logging.ERROR, logger="workers.producer"):
        report = BatchSender(client, queue_url).send([too_big])

    assert report.requests == 0
    assert set(report.given_up) == {too_big.id}
    assert [r.message_id for r in caplog.records] == [too_big.id]


def test_batches_stay_within_the_entry_and_payload_limits() -> None:
    # given 100 KiB messages (two fit a request) and small ones (ten fit)
    large = [OutgoingMessage("L" * 100 * 1024) for _ in range(5)]
    small = messages(23)

    # then requests are cut at 256 KiB and at 10 entries, keeping the order
    assert [len(batch) for batch in batches(large)] == [2, 2, 1]
    assert [len(batch) for batch in batches(small)] == [10, 10, 3]
    for batch in batches(large + small):
        assert len(batch) <= MAX_BATCH_ENTRIES
        assert sum(message.size for message in batch) <= MAX_BATCH_BYTES
    assert [m for batch in batches(large + small) for m in batch] == large + small


def test_large_messages_are_accepted_by_sqs_in_split_requests(
    client: SQSClient, queue_url: str
) -> None:
    outgoing = [OutgoingMessage(str(index) * 100 * 1024) for index in range(3)]

    report = BatchSender(client, queue_url).send(outgoing)

    assert report.all_sent and report.requests == 2
    received = drain(client, queue_url, expected=3)
    assert sorted(m["Body"] for m in received) == sorted(m.body for m in outgoing)


def test_a_given_idempotency_key_is_kept() -> None:
    message = OutgoingMessage("order 42", idempotency_key="order-42")

    entry = message.entry()

    assert entry["MessageAttributes"][IDEMPOTENCY_KEY_ATTRIBUTE]["StringValue"] == "order-42"
    assert entry["Id"] == message.id
