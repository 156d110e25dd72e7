"""A job family on the session's moto_server, for the job platform tests.

`JobFamily` wires what `make local ARGS=--jobs` wires (devtools/local_jobs.py): the status
table and queues, the dispatcher behind a local SQS event source, and the reaper behind a
launcher that starts each job's task as a process, as a job's image runs it (the runtime's entry
point with the handler `tests.workers.job_handler:run`). Tests send job messages and wait,
with deadlines, for the table to say what they expect; nothing sleeps to synchronise.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from devtools.local_jobs import LocalEventSource, LocalProcessLauncher, create_job_resources
from tests.workers.processes import REPO_ROOT, WORKER_MODULE
from workers.runtime.jobs.model import FINAL_STATES, JobState
from workers.runtime.jobs.settings import PlatformSettings, QueueType, RunnerSettings
from workers.runtime.jobs.wiring import JobPlatform

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from devtools.moto_server import MotoServer
    from workers.runtime.jobs.model import JobRecord

# Each job's task runs as a job image does: the runtime's entry point, WORKER_KIND=job.
JOB_HANDLER = "tests.workers.job_handler:run"
# A message returned by an error comes back this soon (360 s in AWS).
TEST_VISIBILITY_SECONDS = 5
POLL_SECONDS = 0.1
# How long a test waits for what it expects (a job takes about 0.5 s to start as a process).
DEADLINE_SECONDS = 60


def clients(server: MotoServer) -> tuple[Any, Any]:
    env = server.env()
    session = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    return (
        session.client("dynamodb", endpoint_url=server.endpoint_url),
        session.client("sqs", endpoint_url=server.endpoint_url),
    )


@dataclass(frozen=True)
class FamilyOptions:
    fifo: bool = False
    max_parallel_jobs: int = 4
    max_attempts: int = 3
    retry_delay_seconds: int = 1
    timeout_seconds: int = 60
    pollers: int = 2


class JobFamily:
    def __init__(self, server: MotoServer, folder: Path, options: FamilyOptions) -> None:
        self.dynamodb, self.sqs = clients(server)
        self.options = options
        self.trace_path = folder / "trace.jsonl"
        resources = create_job_resources(
            self.dynamodb,
            self.sqs,
            "test",
            f"jobs-{uuid.uuid4().hex[:10]}",
            fifo=options.fifo,
            visibility_seconds=TEST_VISIBILITY_SECONDS,
        )
        self.resources = resources
        self.settings = PlatformSettings(
            table=resources.table,
            queue_url=resources.queue_url,
            dead_letter_queue_url=resources.dead_letter_queue_url,
            queue_type=QueueType.FIFO if options.fifo else QueueType.STANDARD,
            max_parallel_jobs=options.max_parallel_jobs,
            max_attempts=options.max_attempts,
            retry_delay_seconds=options.retry_delay_seconds,
            status_retention_days=1,
            wait_base_seconds=1,
            wait_cap_seconds=2,
        )
        self.platform = JobPlatform.build(self.settings, self.dynamodb, self.sqs)
        self.launcher = LocalProcessLauncher(
            command=[sys.executable, "-m", WORKER_MODULE],
            env={
                **server.env(),
                "WORKER_KIND": "job",
                "WORKER_HANDLER": JOB_HANDLER,
                "PYTHONPATH": str(REPO_ROOT),
                **RunnerSettings.task_definition_env(
                    resources.table, options.timeout_seconds, status_retention_days=1
                ),
            },
            on_stopped=self.platform.reaper().handle,
            log_dir=folder,
        )
        self.dispatcher = self.platform.dispatcher(self.launcher)
        self.event_source = LocalEventSource(
            self.sqs, resources.queue_url, self.dispatcher, pollers=options.pollers
        )

    # --- acting -----------------------------------------------------------------------------

    def start(self) -> JobFamily:
        self.event_source.start()
        return self

    def close(self) -> None:
        self.event_source.stop()
        self.launcher.stop_all(timeout=5)

    def send(self, job_id: str | None, group: str | None = None, **payload: Any) -> None:
        """A job message; `trace` is added to the payload so that the handler reports to it."""
        body: dict[str, Any] = {"payload": {**payload, "trace": str(self.trace_path)}}
        if job_id is not None:
            body["job_id"] = job_id
        self.send_body(json.dumps(body), group)

    def send_body(self, body: str, group: str | None = None) -> None:
        extra: dict[str, Any] = {}
        if self.options.fifo:
            extra = {
                "MessageGroupId": group or "default",
                "MessageDeduplicationId": uuid.uuid4().hex,
            }
        self.sqs.send_message(QueueUrl=self.resources.queue_url, MessageBody=body, **extra)

    # --- observing --------------------------------------------------------------------------

    def record(self, job_id: str) -> JobRecord | None:
        return self.platform.table.get(job_id)

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout} s; traced: {self.trace()}")
            time.sleep(POLL_SECONDS)  # polling interval of a condition with a deadline

    def wait_final(self, job_ids: list[str], timeout: float) -> dict[str, JobRecord]:
        def final() -> bool:
            return all(
                (record := self.record(job_id)) is not None and record.state in FINAL_STATES
                for job_id in job_ids
            )

        self.wait_for(f"final state of {job_ids}", final, timeout)
        return {job_id: self.record(job_id) for job_id in job_ids}  # type: ignore[misc]

    def wait_state(self, job_id: str, state: JobState, timeout: float) -> JobRecord:
        self.wait_for(
            f"{job_id} {state}",
            lambda: (record := self.record(job_id)) is not None and record.state is state,
            timeout,
        )
        record = self.record(job_id)
        assert record is not None
        return record

    def exit_codes(self, timeout: float) -> list[int]:
        """Every task's exit code, once all of them have exited and been reaped, sorted."""
        self.wait_for(
            "every task exited",
            lambda: all(task.exit_code is not None for task in self.launcher.tasks.values()),
            timeout,
        )
        return sorted(int(task.exit_code or 0) for task in self.launcher.tasks.values())

    def trace(self) -> list[dict[str, Any]]:
        if not self.trace_path.exists():
            return []
        return [json.loads(line) for line in self.trace_path.read_text().splitlines() if line]

    def intervals(self) -> list[tuple[str, int, str | None, float, float]]:
        """(job, attempt, group, start, end) of every handler run that ended (end or fail)."""
        starts = {}
        found = []
        for line in self.trace():
            key = (line["job"], line["attempt"])
            if line["event"] == "start":
                starts[key] = line["time"]
            elif key in starts:
                found.append(
                    (line["job"], line["attempt"], line["group"], starts[key], line["time"])
                )
        return found

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every message in the DLQ now (received once, then made visible again)."""
        messages = self.sqs.receive_message(
            QueueUrl=self.resources.dead_letter_queue_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=0,
        ).get("Messages", [])
        return [
            {"body": m["Body"], "reason": m["MessageAttributes"]["reason"]["StringValue"]}
            for m in messages
        ]

    def launched(self, job_id: str) -> int:
        return sum(task.job_id == job_id for task in self.launcher.tasks.values())


@pytest.fixture
def job_family(moto_server: MotoServer, tmp_path: Path) -> Iterator[Callable[..., JobFamily]]:
    """`job_family(start=True, **FamilyOptions)`: a job family; closed (tasks stopped) after."""
    made: list[JobFamily] = []

    def make(start: bool = True, **options: Any) -> JobFamily:
        created = JobFamily(moto_server, tmp_path, FamilyOptions(**options))
        made.append(created)
        return created.start() if start else created

    yield make
    for created in made:
        created.close()


__all__ = ["DEADLINE_SECONDS", "FamilyOptions", "JobFamily", "JobState", "job_family"]
