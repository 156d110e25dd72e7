"""Fixtures shared by the worker tests: an SQS client, fresh queues with a DLQ, worker processes,
a handler gate, and a job family (`job_family`, from jobs_testing.py)."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.workers.consumer_testing import (
    TEST_MAX_RECEIVE_COUNT,
    TEST_VISIBILITY_SECONDS,
    Gate,
    QueuePair,
)
from tests.workers.jobs_testing import job_family
from tests.workers.processes import WorkerProcess
from tests.workers.sqs_testing import client_for

__all__ = ["job_family"]

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from mypy_boto3_sqs import SQSClient

    from devtools.moto_server import MotoServer


@pytest.fixture
def sqs(moto_server: MotoServer) -> SQSClient:
    return client_for(moto_server)


@pytest.fixture
def queue_pair(sqs: SQSClient) -> QueuePair:
    """A uniquely named queue with a DLQ after TEST_MAX_RECEIVE_COUNT receives."""
    name = f"consumer-{uuid.uuid4().hex[:12]}"
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(TEST_MAX_RECEIVE_COUNT)}
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(TEST_VISIBILITY_SECONDS),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    return QueuePair(url, dlq_url, TEST_MAX_RECEIVE_COUNT, TEST_VISIBILITY_SECONDS)


@pytest.fixture
def gate(tmp_path: Path) -> Gate:
    """A closed gate for handlers that run until the test opens it."""
    folder = tmp_path / "gates"
    folder.mkdir()
    return Gate(folder)


@pytest.fixture
def start_worker(moto_server: MotoServer) -> Iterator[Callable[..., WorkerProcess]]:
    """`start_worker("workers.runtime", WORKER_KIND=..., QUEUE_URL=...)`: a worker process
    against moto_server.

    Every process started is killed at teardown if it is still running.
    """
    started: list[WorkerProcess] = []

    def start(module: str, **env: str) -> WorkerProcess:
        worker = WorkerProcess(module, {**moto_server.env(), **env})
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
