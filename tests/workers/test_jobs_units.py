"""The job platform's parts one at a time, without job processes: messages, stopped-task events,
slots and group locks, and a dispatcher taking over a start another one left half done."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from devtools.local_jobs import create_job_resources, sqs_event
from tests.workers.jobs_testing import clients
from workers.runtime.jobs.launcher import LaunchRequest
from workers.runtime.jobs.limits import Limits
from workers.runtime.jobs.model import BadJobMessage, JobMessage, JobState
from workers.runtime.jobs.reaper import StoppedTask
from workers.runtime.jobs.settings import PlatformSettings, QueueType
from workers.runtime.jobs.wiring import JobPlatform

if TYPE_CHECKING:
    from devtools.local_jobs import JobResources
    from devtools.moto_server import MotoServer

# --- job messages -----------------------------------------------------------------------------


def test_a_job_message_keeps_its_payload_as_json_text() -> None:
    message = JobMessage.parse('{"job_id": "report-1", "payload": {"b": 2, "a": [1]}}')

    assert message == JobMessage("report-1", '{"a":[1],"b":2}', 1, None)
    assert JobMessage.parse(message.body()) == message


def test_a_retry_message_carries_its_attempt_and_backoff() -> None:
    retry = JobMessage("report-1", "null", attempt=3, not_before=1700000000.5)

    assert json.loads(retry.body()) == {
        "job_id": "report-1",
        "payload": None,
        "attempt": 3,
        "not_before": 1700000000.5,
    }
    assert JobMessage.parse(retry.body()) == retry


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("hello", "not JSON (Expecting value: line 1 column 1 (char 0))"),
        ('["job"]', "not a JSON object; got list"),
        ('{"payload": {}}', 'no "job_id"'),
        ('{"job_id": ""}', 'no "job_id"'),
        (
            '{"job_id": "a/b"}',
            '"job_id" must be 1 to 128 letters, digits and -_.: (starting with a letter or '
            "digit); got 'a/b'",
        ),
        (
            '{"job_id": "#slots"}',
            '"job_id" must be 1 to 128 letters, digits and -_.: (starting with a letter or '
            "digit); got '#slots'",
        ),
        (
            '{"job_id": 7}',
            '"job_id" must be 1 to 128 letters, digits and -_.: (starting with a letter or '
            "digit); got 7",
        ),
        ('{"job_id": "a", "attempt": 0}', '"attempt" must be a whole number from 1; got 0'),
        ('{"job_id": "a", "attempt": "2"}', "\"attempt\" must be a whole number from 1; got '2'"),
        (
            '{"job_id": "a", "not_before": "soon"}',
            "\"not_before\" must be epoch seconds; got 'soon'",
        ),
    ],
)
def test_a_bad_job_message_says_why(body: str, reason: str) -> None:
    with pytest.raises(BadJobMessage) as raised:
        JobMessage.parse(body)

    assert str(raised.value) == reason


# --- stopped-task events ----------------------------------------------------------------------


def stopped_event(**detail: object) -> dict[str, object]:
    return {
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "detail": {
            "taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/workers/0c5e2f6d",
            "lastStatus": "STOPPED",
            "overrides": {
                "containerOverrides": [
                    {
                        "name": "worker",
                        "environment": [
                            {"name": "JOB_ID", "value": "etl-9"},
                            {"name": "JOB_ATTEMPT", "value": "2"},
                        ],
                    }
                ]
            },
            **detail,
        },
    }


def test_an_out_of_memory_stop_reads_as_its_reason() -> None:
    task = StoppedTask.from_event(
        stopped_event(
            stopCode="EssentialContainerExited",
            stoppedReason="Essential container in task exited",
            containers=[
                {
                    "name": "worker",
                    "exitCode": 137,
                    "reason": "OutOfMemoryError: Container killed due to memory usage",
                }
            ],
        )
    )

    assert task is not None
    assert (task.job_id, task.attempt) == ("etl-9", 2)
    assert task.reason() == (
        "task stopped (EssentialContainerExited); Essential container in task exited; "
        "container worker: exit code 137, OutOfMemoryError: Container killed due to memory usage"
    )


def test_a_task_that_never_started_reads_as_its_reason() -> None:
    task = StoppedTask.from_event(
        stopped_event(
            stopCode="TaskFailedToStart",
            stoppedReason="CannotPullContainerError: pull image manifest has been retried",
            containers=[{"name": "worker"}],
        )
    )

    assert task is not None
    assert task.reason() == (
        "task stopped (TaskFailedToStart); "
        "CannotPullContainerError: pull image manifest has been retried"
    )


def test_events_of_tasks_that_are_no_job_are_not_the_reapers() -> None:
    running = stopped_event(lastStatus="RUNNING")
    manual = stopped_event(overrides={"containerOverrides": [{"name": "worker"}]})

    assert StoppedTask.from_event(running) is None
    assert StoppedTask.from_event(manual) is None


# --- slots and group locks, and a start left half done (moto_server) ---------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingLauncher:
    """RunTask's idempotency: the same token gives the same task."""

    def __init__(self) -> None:
        self.calls: list[LaunchRequest] = []

    def launch(self, request: LaunchRequest) -> str:
        self.calls.append(request)
        return f"arn:aws:ecs:eu-west-1:000000000000:task/local/{request.client_token[:12]}"


@pytest.fixture
def resources(moto_server: MotoServer) -> JobResources:
    dynamodb, sqs = clients(moto_server)
    return create_job_resources(dynamodb, sqs, "unit", f"jobs-{id(dynamodb):x}", fifo=False)


def test_slots_hold_at_most_the_limit_and_taking_or_freeing_twice_is_harmless(
    moto_server: MotoServer, resources: JobResources
) -> None:
    limits = Limits(clients(moto_server)[0], resources.table)

    taken = [limits.take_slot(job, 1, limit=2) for job in ("a", "b", "a", "c")]
    limits.release_slot("a", 1)
    limits.release_slot("a", 1)
    after_release = limits.take_slot("c", 1, limit=2)

    assert taken == [True, True, True, False]
    assert after_release is True
    assert limits.slot_holders() == ["b#1", "c#1"]


def test_a_group_is_held_by_one_job_until_that_job_frees_it(
    moto_server: MotoServer, resources: JobResources
) -> None:
    limits = Limits(clients(moto_server)[0], resources.table)

    first = limits.take_group("tenant-a", "job-1")
    second = limits.take_group("tenant-a", "job-2")
    again = limits.take_group("tenant-a", "job-1")
    limits.release_group("tenant-a", "job-2", now=0)  # not the holder: no effect
    still = limits.group_holder("tenant-a")
    limits.release_group("tenant-a", "job-1", now=0)

    assert (first, second, again, still) == (True, False, True, "job-1")
    assert limits.take_group("tenant-a", "job-2") is True


def platform_for(
    moto_server: MotoServer, resources: JobResources, clock: Clock, *, fifo: bool = False
) -> JobPlatform:
    dynamodb, sqs = clients(moto_server)
    settings = PlatformSettings(
        table=resources.table,
        queue_url=resources.queue_url,
        dead_letter_queue_url=resources.dead_letter_queue_url,
        queue_type=QueueType.FIFO if fifo else QueueType.STANDARD,
        max_parallel_jobs=1,
        max_attempts=3,
        retry_delay_seconds=1,
        status_retention_days=1,
    )
    return JobPlatform.build(settings, dynamodb, sqs, clock)


def test_a_start_left_half_done_is_taken_over_with_the_same_token(
    moto_server: MotoServer, resources: JobResources
) -> None:
    # Given a job a dispatcher claimed (STARTING) and then died before noting any task
    _, sqs = clients(moto_server)
    clock = Clock(1_000.0)
    platform = platform_for(moto_server, resources, clock)
    launcher = RecordingLauncher()
    dispatcher = platform.dispatcher(launcher)
    message = JobMessage("half-1")
    record = platform.table.record(
        message, group=None, message_id="m-1", max_attempts=3, now=clock.now
    )
    assert record is not None
    assert platform.table.claim_start(record, 1, clock.now)
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody=message.body())
    received = sqs.receive_message(QueueUrl=resources.queue_url, AttributeNames=["All"])
    event = sqs_event(received["Messages"], resources.queue_url)

    # When its message comes back soon, then after the dispatcher's time limit has surely passed
    clock.now += 10
    soon = dispatcher.handle_batch(event)
    clock.now += 200
    later = dispatcher.handle_batch(event)

    # Then it waits first (the start may still be under way), then starts it with the same token
    assert soon == {"batchItemFailures": [{"itemIdentifier": received["Messages"][0]["MessageId"]}]}
    assert later == {"batchItemFailures": []}
    assert launcher.calls == [LaunchRequest("half-1", 1)]
    current = platform.table.get("half-1")
    assert current is not None
    token = LaunchRequest("half-1", 1).client_token
    assert current.state is JobState.STARTING
    assert current.task_arn == f"arn:aws:ecs:eu-west-1:000000000000:task/local/{token[:12]}"


def test_a_job_about_to_be_dead_lettered_by_sqs_is_given_up_by_the_dispatcher(
    moto_server: MotoServer, resources: JobResources
) -> None:
    # Given the only slot taken, and a job whose message has waited 999 times already
    _, sqs = clients(moto_server)
    platform = platform_for(moto_server, resources, Clock(5_000.0))
    assert platform.limits.take_slot("other", 1, limit=1)
    launcher = RecordingLauncher()
    event = {
        "Records": [
            {
                "messageId": "m-999",
                "receiptHandle": "r",
                "body": JobMessage("patient-1").body(),
                "attributes": {"ApproximateReceiveCount": "999"},
            }
        ]
    }

    # When it has to wait once more
    response = platform.dispatcher(launcher).handle_batch(event)

    # Then the dispatcher gives it up (SQS would drop it in the DLQ and leave it QUEUED)
    assert response == {"batchItemFailures": []}
    assert launcher.calls == []
    record = platform.table.get("patient-1")
    assert record is not None
    assert record.state is JobState.DEAD_LETTERED
    assert record.reason == "waited 999 times to start (all 1 parallel slots are taken)"
    letters = sqs.receive_message(
        QueueUrl=resources.dead_letter_queue_url, MessageAttributeNames=["All"]
    )["Messages"]
    assert [json.loads(letter["Body"])["job_id"] for letter in letters] == ["patient-1"]
