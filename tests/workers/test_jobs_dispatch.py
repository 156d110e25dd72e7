"""The job dispatcher against moto_server: one task per job, whatever SQS delivers twice; the
parallel limit; bad messages to the DLQ with a clear log line.

Jobs run as real processes (tests/workers/job_handler.py) started by the local launcher; the
tests wait with deadlines for the status table, and read the handler's trace to see what ran
when.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import pytest

from devtools.local_jobs import sqs_event
from tests.workers.jobs_testing import DEADLINE_SECONDS
from workers.runtime.jobs.model import JobState

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.workers.jobs_testing import JobFamily

pytestmark = pytest.mark.slow


def receive_one(family: JobFamily) -> dict[str, object]:
    messages = family.sqs.receive_message(
        QueueUrl=family.resources.queue_url, AttributeNames=["All"], WaitTimeSeconds=5
    )["Messages"]
    assert len(messages) == 1
    return messages[0]


def duplicates(caplog: pytest.LogCaptureFixture) -> int:
    return sum(r.message == "duplicate job message: nothing started" for r in caplog.records)


def test_each_message_runs_exactly_one_job(job_family: Callable[..., JobFamily]) -> None:
    # Given a family that may run 4 jobs at once
    jobs = job_family(max_parallel_jobs=4)

    # When 5 jobs are sent
    ids = [f"report-{index}" for index in range(5)]
    for job_id in ids:
        jobs.send(job_id, seconds=0.2)

    # Then each succeeds once: one task, one handler run, attempt 1
    records = jobs.wait_final(ids, DEADLINE_SECONDS)
    assert {job_id: record.state for job_id, record in records.items()} == dict.fromkeys(
        ids, JobState.SUCCEEDED
    )
    assert {job_id: jobs.launched(job_id) for job_id in ids} == dict.fromkeys(ids, 1)
    assert sorted(run[0] for run in jobs.intervals()) == ids
    assert all(record.attempt == 1 and record.task_arn for record in records.values())


def test_a_duplicate_message_starts_nothing_new(
    job_family: Callable[..., JobFamily], caplog: pytest.LogCaptureFixture
) -> None:
    # Given a job that was sent and is running
    jobs = job_family()
    jobs.send("invoice-7", seconds=1.5)
    jobs.wait_state("invoice-7", JobState.RUNNING, DEADLINE_SECONDS)

    # When the producer sends the same job again, while it runs and after it ended
    with caplog.at_level(logging.INFO, logger="workers.jobs"):
        jobs.send("invoice-7", seconds=1.5)
        jobs.wait_final(["invoice-7"], DEADLINE_SECONDS)
        jobs.send("invoice-7", seconds=1.5)
        jobs.wait_for("two duplicates dropped", lambda: duplicates(caplog) >= 2, DEADLINE_SECONDS)

    # Then the job ran once, and both copies were deleted from the queue
    assert jobs.launched("invoice-7") == 1
    assert len(jobs.intervals()) == 1
    assert jobs.dead_letters() == []


def test_a_redelivered_message_starts_nothing_new(job_family: Callable[..., JobFamily]) -> None:
    # Given a message the dispatcher handled, whose deletion was lost (no event source runs)
    jobs = job_family(start=False)
    jobs.send("export-3", seconds=0.5)
    message = receive_one(jobs)
    first = jobs.dispatcher.handle_batch(sqs_event([message], jobs.resources.queue_url))

    # When the same message is delivered again, while the job is starting and once it ended
    second = jobs.dispatcher.handle_batch(sqs_event([message], jobs.resources.queue_url))
    jobs.wait_final(["export-3"], DEADLINE_SECONDS)
    third = jobs.dispatcher.handle_batch(sqs_event([message], jobs.resources.queue_url))

    # Then only the first started a task, and every delivery was answered "done" (delete it)
    assert jobs.launched("export-3") == 1
    assert first == second == third == {"batchItemFailures": []}


def test_concurrent_copies_of_one_job_start_one_task(job_family: Callable[..., JobFamily]) -> None:
    # Given eight copies of the same job, each received by its own dispatcher at the same time
    jobs = job_family(start=False)
    for _ in range(8):
        jobs.send("nightly-1", seconds=0.2)
    messages = []
    while len(messages) < 8:
        messages += jobs.sqs.receive_message(
            QueueUrl=jobs.resources.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
    barrier = threading.Barrier(len(messages))

    def dispatch(message: dict[str, object]) -> None:
        barrier.wait()
        jobs.dispatcher.handle_batch(sqs_event([message], jobs.resources.queue_url))

    # When they all dispatch at once
    threads = [threading.Thread(target=dispatch, args=(m,)) for m in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE_SECONDS)

    # Then exactly one task started
    jobs.wait_final(["nightly-1"], DEADLINE_SECONDS)
    assert jobs.launched("nightly-1") == 1


def test_the_parallel_limit_holds_and_waiting_jobs_all_run(
    job_family: Callable[..., JobFamily],
) -> None:
    # Given a family limited to 2 jobs at once
    jobs = job_family(max_parallel_jobs=2)

    # When 6 jobs are sent at once
    ids = [f"render-{index}" for index in range(6)]
    for job_id in ids:
        jobs.send(job_id, seconds=1.0)

    # Then all 6 succeed (the waiting ones were not dropped) and no more than 2 ever ran together
    records = jobs.wait_final(ids, DEADLINE_SECONDS)
    assert {record.state for record in records.values()} == {JobState.SUCCEEDED}
    runs = jobs.intervals()
    assert len(runs) == 6
    most = max(sum(start <= t < end for _, _, _, start, end in runs) for *_, t, _ in runs)
    assert most == 2
    assert jobs.platform.limits.slot_holders() == []


def test_bad_messages_go_to_the_dlq_with_a_clear_log_line(
    job_family: Callable[..., JobFamily], caplog: pytest.LogCaptureFixture
) -> None:
    # Given a running family
    jobs = job_family()

    # When a message that is not JSON and one without a job id arrive
    with caplog.at_level(logging.ERROR, logger="workers.jobs"):
        jobs.send_body("this is not json")
        jobs.send(None, seconds=1)
        jobs.wait_for("two dead letters", lambda: len(jobs.dead_letters()) == 2, DEADLINE_SECONDS)

    # Then both are in the DLQ as they were sent, each with its reason, and each was logged
    letters = {letter["body"]: letter["reason"] for letter in jobs.dead_letters()}
    not_json = "not JSON (Expecting value: line 1 column 1 (char 0))"
    assert letters.pop("this is not json") == f"bad job message: {not_json}"
    assert list(letters.values()) == ['bad job message: no "job_id"']
    logged = [
        record.__dict__["reason"]
        for record in caplog.records
        if record.message == "bad job message sent to the dead-letter queue"
    ]
    assert sorted(logged) == ['no "job_id"', not_json]
    assert jobs.launcher.tasks == {}
