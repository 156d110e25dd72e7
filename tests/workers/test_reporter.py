"""The example scheduled job as a real process, as its image runs it (`python -m workers.runtime`,
WORKER_KIND=scheduled), against the embedded SQS (moto_server): one JSON report of the queue's
depth and exit 0, exit 2 without a queue, exit 1 when SQS cannot answer; and the scheduled
runtime around any `run()` handler."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.workers.processes import WORKER_MODULE, example
from tests.workers.sqs_testing import client_for, new_queue

if TYPE_CHECKING:
    from collections.abc import Callable

    from devtools.moto_server import MotoServer
    from tests.workers.processes import WorkerProcess

EXIT_DEADLINE_SECONDS = 30


def test_reports_visible_in_flight_and_delayed_messages_then_exits_0(
    moto_server: MotoServer, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given a queue with 3 messages visible, 1 received (in flight) and 1 delayed
    client = client_for(moto_server)
    queue_url = new_queue(client, "reporter")
    for body in ("a", "b", "c", "d"):
        client.send_message(QueueUrl=queue_url, MessageBody=body)
    client.send_message(QueueUrl=queue_url, MessageBody="later", DelaySeconds=600)
    received = client.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=1, VisibilityTimeout=600
    )
    assert len(received["Messages"]) == 1

    # When the job runs once
    worker = start_worker(
        WORKER_MODULE, **example("reporter"), QUEUE_URL=queue_url, SERVICE_NAME="reporter"
    )
    code = worker.wait_exit(EXIT_DEADLINE_SECONDS)

    # Then it exits 0 after exactly one report line with the counts, and reads nothing
    assert code == 0, worker.tail()
    [report] = worker.events("queue report")
    assert {key: report[key] for key in ("level", "source", "queue_url")} == {
        "level": "info",
        "source": "reporter",
        "queue_url": queue_url,
    }
    assert (report["visible"], report["in_flight"], report["delayed"], report["total"]) == (
        3,
        1,
        1,
        5,
    )
    attributes = client.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "3"


def test_without_a_queue_url_it_says_so_and_exits_2(
    start_worker: Callable[..., WorkerProcess],
) -> None:
    worker = start_worker(WORKER_MODULE, **example("reporter"), QUEUE_URL="")

    code = worker.wait_exit(EXIT_DEADLINE_SECONDS)

    assert code == 2
    assert worker.stderr.strip().splitlines() == ["error: QUEUE_URL is required but not set"]


def test_a_queue_sqs_does_not_know_fails_the_task_with_exit_1(
    moto_server: MotoServer, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given the URL of a queue that does not exist
    missing = f"{moto_server.endpoint_url}/123456789012/no-such-queue"

    # When the job runs
    worker = start_worker(WORKER_MODULE, **example("reporter"), QUEUE_URL=missing)
    code = worker.wait_exit(EXIT_DEADLINE_SECONDS)

    # Then it logs why and exits 1, so the task stops as failed and the failure alert fires
    assert code == 1
    [failure] = worker.events("run failed")
    assert failure["level"] == "error"
    assert "NonExistentQueue" in failure["error"]
    assert worker.events("queue report") == []


def test_a_run_that_raises_is_logged_with_its_traceback_and_exits_1(
    start_worker: Callable[..., WorkerProcess],
) -> None:
    # Given a scheduled handler that raises an error of its own
    worker = start_worker(
        WORKER_MODULE, WORKER_KIND="scheduled", WORKER_HANDLER="tests.workers.handlers:fail_run"
    )

    code = worker.wait_exit(EXIT_DEADLINE_SECONDS)

    # Then the run is logged as failed, with the whole story, and the task fails
    assert code == 1
    [failure] = worker.events("run failed")
    assert failure["error"] == "RuntimeError('the run failed on purpose')"
    assert "Traceback" in failure["traceback"]
    assert worker.events("run finished") == []


def test_a_handler_the_module_lacks_is_refused_at_start_with_exit_2(
    start_worker: Callable[..., WorkerProcess],
) -> None:
    worker = start_worker(
        WORKER_MODULE, WORKER_KIND="scheduled", WORKER_HANDLER="workers.consumer.handler:nope"
    )

    assert worker.wait_exit(EXIT_DEADLINE_SECONDS) == 2
    assert worker.stderr.strip().splitlines() == [
        "error: WORKER_HANDLER='workers.consumer.handler:nope': workers.consumer.handler has no "
        "function 'nope'"
    ]
