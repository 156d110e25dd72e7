"""The counting proxy in front of a real moto_server: it counts SQS requests by operation,
passes answers through intact, and can cut SQS off without wiping its queues."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

from devtools.counting_proxy import counting_proxy, operation_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_sqs import SQSClient

    from devtools.counting_proxy import CountingProxy
    from devtools.moto_server import MotoServer


@pytest.fixture
def proxy(moto_server: MotoServer) -> Iterator[CountingProxy]:
    with counting_proxy(moto_server.port) as running:
        yield running


def client_via(proxy: CountingProxy) -> SQSClient:
    # One attempt and short timeouts: a cut must show up as an error, not as retries.
    config = Config(
        retries={"mode": "standard", "max_attempts": 1}, connect_timeout=2, read_timeout=5
    )
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    )
    return session.client("sqs", endpoint_url=proxy.endpoint_url, config=config)


def test_requests_are_counted_by_operation_and_answered_intact(proxy: CountingProxy) -> None:
    client = client_via(proxy)

    url = client.create_queue(QueueName="proxy-counts")["QueueUrl"]
    entries = [{"Id": str(n), "MessageBody": f"m{n}"} for n in range(10)]
    client.send_message_batch(QueueUrl=url, Entries=entries)
    bodies = set()
    for _ in range(3):
        for message in client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            bodies.add(message["Body"])

    assert bodies == {f"m{n}" for n in range(10)}
    assert proxy.counts() == {"CreateQueue": 1, "SendMessageBatch": 1, "ReceiveMessage": 3}


def test_round_trips_are_timed_per_request_until_the_answer_starts(proxy: CountingProxy) -> None:
    client = client_via(proxy)
    url = client.create_queue(QueueName="proxy-times")["QueueUrl"]
    client.send_message(QueueUrl=url, MessageBody="m")
    client.receive_message(QueueUrl=url)  # answered at once: a message is there
    client.receive_message(QueueUrl=url, WaitTimeSeconds=1)  # empty: a full 1 s long poll

    times = proxy.round_trips()
    assert [len(times[op]) for op in ("CreateQueue", "SendMessage")] == [1, 1]
    quick, long_poll = times["ReceiveMessage"]
    # Each request timed on its own: the one answered at once took less than the 1 s poll.
    assert 0 < quick < long_poll
    assert long_poll >= 1.0


def test_a_cut_makes_sqs_unreachable_and_restore_brings_it_back_with_its_queues(
    proxy: CountingProxy,
) -> None:
    client = client_via(proxy)
    url = client.create_queue(QueueName="proxy-cut")["QueueUrl"]
    client.send_message(QueueUrl=url, MessageBody="kept")

    proxy.cut()
    with pytest.raises((EndpointConnectionError, ConnectionClosedError)):
        client.receive_message(QueueUrl=url)
    proxy.restore()

    [message] = client.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert message["Body"] == "kept"


@pytest.mark.parametrize(
    ("head", "body", "operation"),
    [
        (
            b"POST / HTTP/1.1\r\nX-Amz-Target: AmazonSQS.DeleteMessageBatch\r\n\r\n",
            b"{}",
            "DeleteMessageBatch",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"Action=SendMessage&Version=2012-11-05",
            "SendMessage",
        ),
        (b"GET /?Action=ListQueues HTTP/1.1\r\n\r\n", b"", "ListQueues"),
        (b"GET /moto-api/ HTTP/1.1\r\n\r\n", b"", "unknown"),
    ],
)
def test_operation_names_come_from_either_protocol(
    head: bytes, body: bytes, operation: str
) -> None:
    assert operation_of(head, body) == operation
