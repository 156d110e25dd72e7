"""Failed attempts against moto_server: a task killed mid-job, a handler that raises, SIGTERM,
a timeout, and a task that cannot be started are retried with backoff; after the attempt limit
the job is in the DLQ, with its reason, and DEAD_LETTERED.
"""

from __future__ import annotations

import json
import signal
from typing import TYPE_CHECKING

import pytest

from tests.workers.jobs_testing import DEADLINE_SECONDS
from workers.runtime.jobs.launcher import LaunchFailed
from workers.runtime.jobs.model import JobState

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.workers.jobs_testing import JobFamily
    from workers.runtime.jobs.launcher import LaunchRequest

pytestmark = pytest.mark.slow


def kill_when_running(jobs: JobFamily, job_id: str, attempt: int, signum: int) -> None:
    jobs.wait_for(
        f"{job_id} attempt {attempt} running",
        lambda: (record := jobs.record(job_id)) is not None
        and record.state is JobState.RUNNING
        and record.attempt == attempt,
        DEADLINE_SECONDS,
    )
    assert jobs.launcher.kill(job_id, signum) == 1


def test_a_killed_job_is_retried_and_succeeds(job_family: Callable[..., JobFamily]) -> None:
    # Given a job whose first attempt would run long and whose second is quick
    jobs = job_family(max_attempts=3)
    jobs.send("etl-1", seconds=[30, 0.2])

    # When its process is killed (as an out-of-memory kill) while it runs
    kill_when_running(jobs, "etl-1", 1, signal.SIGKILL)

    # Then the reaper fails attempt 1 with the task's exit, and attempt 2 succeeds
    record = jobs.wait_final(["etl-1"], DEADLINE_SECONDS)["etl-1"]
    assert record.state is JobState.SUCCEEDED
    assert record.attempt == 2
    first, second = record.history
    assert first["outcome"] == "FAILED"
    assert first["reason"] == (
        "the task stopped before the job finished: task stopped (EssentialContainerExited); "
        "Essential container in task exited; container worker: exit code 137"
    )
    assert second["outcome"] == "SUCCEEDED"
    assert jobs.launched("etl-1") == 2
    assert jobs.dead_letters() == []


def test_a_job_killed_every_attempt_ends_in_the_dlq(job_family: Callable[..., JobFamily]) -> None:
    # Given a job allowed 2 attempts, each of which would run long
    jobs = job_family(max_attempts=2)
    jobs.send("etl-2", seconds=30, customer="acme")

    # When both attempts are killed
    kill_when_running(jobs, "etl-2", 1, signal.SIGKILL)
    kill_when_running(jobs, "etl-2", 2, signal.SIGKILL)

    # Then the job is DEAD_LETTERED and its message, with payload and reason, is in the DLQ
    record = jobs.wait_final(["etl-2"], DEADLINE_SECONDS)["etl-2"]
    assert record.state is JobState.DEAD_LETTERED
    assert [entry["outcome"] for entry in record.history] == ["FAILED", "FAILED"]
    (letter,) = jobs.dead_letters()
    body = json.loads(letter["body"])
    assert (body["job_id"], body["attempts"], body["payload"]["customer"]) == ("etl-2", 2, "acme")
    assert letter["reason"].startswith("gave up after 2 attempt(s): the task stopped before")
    assert jobs.launched("etl-2") == 2
    assert jobs.platform.limits.slot_holders() == []


def test_a_failing_handler_is_retried_with_its_reason(job_family: Callable[..., JobFamily]) -> None:
    # Given a job whose handler raises on its first attempt only
    jobs = job_family(max_attempts=3)

    # When it runs
    jobs.send("mail-1", fail=[True, False])

    # Then attempt 1 FAILED with the exception, and attempt 2 succeeded after the backoff
    record = jobs.wait_final(["mail-1"], DEADLINE_SECONDS)["mail-1"]
    assert (record.state, record.attempt) == (JobState.SUCCEEDED, 2)
    assert record.history[0]["reason"] == "RuntimeError: failed on request (attempt 1)"
    assert record.history[1]["started_at"] - record.history[0]["finished_at"] >= 1


def test_sigterm_fails_the_attempt_at_once_so_it_is_retried(
    job_family: Callable[..., JobFamily],
) -> None:
    # Given a running job
    jobs = job_family(max_attempts=2)
    jobs.send("sync-1", seconds=[30, 0.2])

    # When ECS stops its task (SIGTERM)
    kill_when_running(jobs, "sync-1", 1, signal.SIGTERM)

    # Then the runner marked the attempt interrupted, and the retry succeeded
    record = jobs.wait_final(["sync-1"], DEADLINE_SECONDS)["sync-1"]
    assert (record.state, record.attempt) == (JobState.SUCCEEDED, 2)
    assert record.history[0]["reason"] == "interrupted: the task was stopped (SIGTERM)"
    assert jobs.exit_codes(DEADLINE_SECONDS) == [0, 143]


def test_a_job_over_its_timeout_fails(job_family: Callable[..., JobFamily]) -> None:
    # Given jobs limited to 1 s and allowed a single attempt
    jobs = job_family(max_attempts=1, timeout_seconds=1)

    # When a job runs for 30 s
    jobs.send("slow-1", seconds=30)

    # Then it fails after 1 s, timed out, and is dead-lettered
    record = jobs.wait_final(["slow-1"], DEADLINE_SECONDS)["slow-1"]
    assert record.state is JobState.DEAD_LETTERED
    assert record.history[0]["reason"] == "timed out after 1 s"
    assert jobs.exit_codes(DEADLINE_SECONDS) == [124]


def test_a_task_that_cannot_start_is_retried(job_family: Callable[..., JobFamily]) -> None:
    # Given a launcher whose first RunTask fails (no capacity)
    jobs = job_family(start=False, max_attempts=3)
    launch = jobs.launcher.launch
    calls: list[int] = []

    def flaky(request: LaunchRequest) -> str:
        calls.append(request.attempt)
        if len(calls) == 1:
            raise LaunchFailed("RunTask started no task: RESOURCE:FARGATE capacity")
        return launch(request)

    jobs.dispatcher.launcher = type("Flaky", (), {"launch": staticmethod(flaky)})()
    jobs.start()

    # When a job is sent
    jobs.send("thumb-1", seconds=0.1)

    # Then attempt 1 failed with RunTask's reason and attempt 2 ran
    record = jobs.wait_final(["thumb-1"], DEADLINE_SECONDS)["thumb-1"]
    assert (record.state, record.attempt) == (JobState.SUCCEEDED, 2)
    assert record.history[0]["reason"] == (
        "task not started: RunTask started no task: RESOURCE:FARGATE capacity"
    )
    assert calls == [1, 2]
