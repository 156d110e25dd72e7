"""Errors that retrying cannot fix end a worker with one clear line and a non-zero exit code,
after a short grace period; outages keep being retried (test_consumer_outage.py).

Against the session's real moto_server: a queue URL that names no queue, a process with no
region or no credentials. Access denied, which moto does not enforce, is injected in process.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoRegionError

from tests.workers.consumer_testing import Recorder, consumer_env, fast_settings
from tests.workers.processes import WORKER_MODULE, WorkerProcess, example
from workers.runtime.consumer import Consumer
from workers.runtime.fatal import FatalError, FatalWatch, fatal_reason
from workers.runtime.producer import BatchSender, OutgoingMessage

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sqs import SQSClient

    from devtools.moto_server import MotoServer
    from tests.workers.consumer_testing import QueuePair

    StartWorker = Callable[..., WorkerProcess]

GRACE_SECONDS = 1
# Process start, the grace period, the drain: well within this.
EXIT_WITHIN_SECONDS = 30
MISSING_QUEUE = (
    "the queue does not exist: check QUEUE_URL (AWS.SimpleQueueService.NonExistentQueue: The "
    "specified queue does not exist.)"
)
NO_REGION = "error: no AWS region is set: set AWS_REGION (ECS sets it in a task)"


def client_error(code: str, status: int = 400) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": f"{code} said AWS"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "ReceiveMessage")


def missing_queue_url(moto_server: MotoServer) -> str:
    return f"{moto_server.endpoint_url}/123456789012/no-such-queue"


def fatal_lines(worker: WorkerProcess) -> list[dict[str, Any]]:
    return [line for line in worker.lines if line.get("level") == "error"]


def test_a_consumer_of_a_queue_that_does_not_exist_exits_non_zero_with_one_line(
    moto_server: MotoServer, queue_pair: QueuePair, start_worker: StartWorker
) -> None:
    environment = consumer_env(queue_pair, FATAL_ERROR_GRACE_SECONDS=str(GRACE_SECONDS))
    started = time.monotonic()
    worker = start_worker(
        WORKER_MODULE, **{**environment, "QUEUE_URL": missing_queue_url(moto_server)}
    )

    code = worker.wait_exit(timeout=EXIT_WITHIN_SECONDS)

    assert code != 0
    assert time.monotonic() - started < EXIT_WITHIN_SECONDS
    (line,) = fatal_lines(worker)
    assert line["event"] == f"cannot consume: {MISSING_QUEUE}"
    assert worker.events("sqs unavailable")[0]["gives_up_in_seconds"] <= GRACE_SECONDS
    assert "Traceback" not in worker.stderr


@pytest.mark.parametrize("service", ["consumer", "producer", "reporter"])
def test_a_worker_without_a_region_says_so_in_one_line(
    service: str, moto_server: MotoServer, queue_pair: QueuePair
) -> None:
    environment = {
        key: value
        for key, value in {
            **moto_server.env(),
            **consumer_env(queue_pair),
            **example(service),
        }.items()
        if key not in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE")
    }
    # No region from a config file of the machine either.
    environment["AWS_CONFIG_FILE"] = os.devnull
    worker = WorkerProcess(WORKER_MODULE, environment)

    code = worker.wait_exit(timeout=EXIT_WITHIN_SECONDS)

    assert code != 0
    # On stderr, or (a scheduled run, which reports every failure so) as its one error log line.
    said = worker.stderr.splitlines() + [f"error: {line['error']}" for line in fatal_lines(worker)]
    assert said == [NO_REGION]


def test_a_consumer_without_credentials_exits_non_zero_after_the_grace_period(
    moto_server: MotoServer, queue_pair: QueuePair
) -> None:
    environment = {
        key: value
        for key, value in {
            **moto_server.env(),
            **consumer_env(queue_pair, FATAL_ERROR_GRACE_SECONDS=str(GRACE_SECONDS)),
        }.items()
        if not key.startswith(("AWS_ACCESS_KEY", "AWS_SECRET", "AWS_SESSION", "AWS_PROFILE"))
    }
    environment.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",  # no instance metadata lookups off this machine
    )
    worker = WorkerProcess(WORKER_MODULE, environment)

    code = worker.wait_exit(timeout=EXIT_WITHIN_SECONDS)

    assert code != 0
    assert len(fatal_lines(worker)) == 1, worker.tail()
    (line,) = fatal_lines(worker)
    assert line["event"].startswith("cannot consume: no AWS credentials found")
    assert "Traceback" not in worker.stderr


def test_a_producer_of_a_queue_that_does_not_exist_exits_non_zero_with_one_line(
    moto_server: MotoServer,
) -> None:
    environment = {
        **moto_server.env(),
        **example("producer"),
        "QUEUE_URL": missing_queue_url(moto_server),
        "MIN_INTERVAL_SECONDS": "0.1",
        "MAX_INTERVAL_SECONDS": "0.2",
        "FATAL_ERROR_GRACE_SECONDS": str(GRACE_SECONDS),
    }
    worker = WorkerProcess(WORKER_MODULE, environment)

    code = worker.wait_exit(timeout=EXIT_WITHIN_SECONDS)

    assert code != 0
    assert worker.stderr.splitlines() == [f"error: {MISSING_QUEUE}"]
    # Every message of the last send is accounted for, as for any message not sent.
    assert worker.events("message not sent")[-1]["code"] == "Fatal"


def test_access_denied_stops_the_engine_as_failed_after_the_grace_period(
    sqs: SQSClient, queue_pair: QueuePair, caplog: pytest.LogCaptureFixture
) -> None:
    def denied(**_: Any) -> None:
        raise client_error("AccessDenied", 403)

    sqs.meta.events.register("before-call.sqs.ReceiveMessage", denied)
    consumer = Consumer(sqs, fast_settings(queue_pair, fatal_grace=0.5), Recorder())

    run = threading.Thread(target=consumer.run, daemon=True)
    run.start()
    run.join(timeout=EXIT_WITHIN_SECONDS)

    assert not run.is_alive()
    assert consumer.failed
    (record,) = [record for record in caplog.records if record.levelname == "ERROR"]
    assert record.getMessage() == (
        "cannot consume: access denied: the task role does not allow this call on this "
        "resource (AccessDenied: AccessDenied said AWS)"
    )


def test_the_producer_raises_only_after_the_grace_period(sqs: SQSClient) -> None:
    clock = [0.0]
    sender = BatchSender(
        sqs, "unused", fatal_grace=10, sleep=lambda _seconds: None, clock=lambda: clock[0]
    )

    def denied(**_: Any) -> None:
        raise client_error("AccessDenied", 403)

    sqs.meta.events.register("before-call.sqs.SendMessageBatch", denied)
    report = sender.send([OutgoingMessage("first")])
    assert not report.all_sent
    clock[0] = 10.0

    with pytest.raises(FatalError, match="access denied"):
        sender.send([OutgoingMessage("second")])


@pytest.mark.parametrize(
    ("error", "fatal"),
    [
        (client_error("AWS.SimpleQueueService.NonExistentQueue"), True),
        (client_error("QueueDoesNotExist"), True),
        (client_error("AccessDenied", 403), True),
        (client_error("InvalidClientTokenId", 403), True),
        (client_error("SignatureDoesNotMatch", 403), True),
        (NoRegionError(), True),
        (client_error("ThrottlingException"), False),
        (client_error("RequestThrottled", 403), False),
        (client_error("InternalError", 500), False),
        (client_error("ServiceUnavailable", 503), False),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), False),
    ],
)
def test_only_errors_waiting_cannot_fix_are_fatal(error: Exception, fatal: bool) -> None:
    assert (fatal_reason(error) is not None) == fatal


def test_an_outage_between_fatal_errors_starts_the_grace_period_again() -> None:
    now = [0.0]
    watch = FatalWatch(grace_seconds=5, clock=lambda: now[0])
    missing = client_error("QueueDoesNotExist")

    assert watch.failed(missing) is None
    now[0] = 4.0
    assert watch.failed(client_error("InternalError", 500)) is None
    now[0] = 8.0
    assert watch.failed(missing) is None  # counted from 8 s, not 0 s
    now[0] = 13.0
    assert watch.failed(missing) is not None
