"""Helpers for tests that talk to the session's moto_server: clients, queues, draining."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from devtools.moto_server import MotoServer

REGION = "eu-west-1"


def client_for(server: MotoServer) -> SQSClient:
    """A client that talks only to this moto_server, whatever the machine's AWS settings."""
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=REGION,
    )
    return session.client("sqs", endpoint_url=server.endpoint_url)


def new_queue(client: SQSClient, prefix: str = "test") -> str:
    """A uniquely named queue, so tests sharing one server never see each other's messages."""
    return client.create_queue(QueueName=f"{prefix}-{uuid.uuid4().hex[:12]}")["QueueUrl"]


def drain(
    client: SQSClient, queue_url: str, *, expected: int, deadline_seconds: float = 15
) -> list[dict[str, Any]]:
    """Receive and delete until `expected` messages arrived and the queue is empty, or time is up.

    Returns every message received; more than `expected` means duplicates, fewer means loss.
    """
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        wait = 0 if len(received) >= expected else 1
        batch = client.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not batch and len(received) >= expected:
            return received
        received += batch
        for message in batch:
            client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return received


def idempotency_key(message: dict[str, Any]) -> str:
    return message["MessageAttributes"]["idempotency_key"]["StringValue"]
