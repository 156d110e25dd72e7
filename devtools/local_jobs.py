"""The job platform on a laptop: the same dispatcher and reaper against moto_server, with each
job's task started as a local process.

What AWS does around the platform's code is emulated here, and nothing else:
- `create_job_resources`: the status table and the queues, as the job stack declares them;
- `LocalEventSource`: Lambda's SQS event source mapping: receive up to 10 messages, call the
  dispatcher with an SQS event, delete what it did not return (ReportBatchItemFailures);
- `LocalProcessLauncher`: a TaskLauncher that starts the job's command as a process (RunTask),
  and, when the process exits, sends the reaper the "ECS Task State Change" event that
  EventBridge would (STOPPED, exit code, the JOB_ID/JOB_ATTEMPT overrides).

`make local ARGS=--jobs` runs them with the first `kind: job` service (`run_family`, called by
devtools/local.py): it sends a few jobs (one that fails every attempt, one sent twice), prints
each job's state once a second until every job is final, and leaves each task's output in
.local/jobs/<job>-<attempt>.log. tests/workers/test_jobs_*.py run the same pieces against the
session's moto_server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import boto3

from modules.naming import jobs_table_name, resource_name
from workers.runtime.jobs.schema import (
    ATTRIBUTE_TYPES,
    CREATED_AT,
    EXPIRES_AT,
    KEY,
    MAX_RECEIVES,
    QUEUE_VISIBILITY_SECONDS,
    STATE,
    STATE_INDEX,
)
from workers.runtime.jobs.settings import JOB_TASK_ARN_VARIABLE

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from workers.runtime.jobs.dispatcher import Dispatcher
    from workers.runtime.jobs.launcher import LaunchRequest
    from workers.runtime.jobs.wiring import JobPlatform

log = logging.getLogger("devtools.local_jobs")

ACCOUNT = "000000000000"
DAY_SECONDS = 24 * 60 * 60
# Lambda's SQS event source receives at most 10 messages per batch.
BATCH_SIZE = 10
RECEIVE_WAIT_SECONDS = 1
# ECS reports a container killed by signal N with exit code 128 + N.
SIGNAL_EXIT_BASE = 128


@dataclass(frozen=True)
class JobResources:
    table: str
    queue_url: str
    dead_letter_queue_url: str


def create_job_resources(
    dynamodb: DynamoDBClient,
    sqs: SQSClient,
    project: str,
    service: str,
    *,
    fifo: bool,
    visibility_seconds: int = QUEUE_VISIBILITY_SECONDS,
    retention_days: int = 14,
) -> JobResources:
    """The status table, the queue and its DLQ, named and set as the job stack does."""
    name = resource_name(project, service)
    table = jobs_table_name(project, service)
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": kind}
            for attribute, kind in ATTRIBUTE_TYPES.items()
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": STATE_INDEX,
                "KeySchema": [
                    {"AttributeName": STATE, "KeyType": "HASH"},
                    {"AttributeName": CREATED_AT, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    dynamodb.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRES_AT},
    )
    suffix = ".fifo" if fifo else ""
    fifo_attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    retention = str(retention_days * DAY_SECONDS)
    dlq_url = sqs.create_queue(
        QueueName=f"{name}-dlq{suffix}",
        Attributes={"MessageRetentionPeriod": retention, **fifo_attributes},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=f"{name}{suffix}",
        Attributes={
            "VisibilityTimeout": str(visibility_seconds),
            "MessageRetentionPeriod": retention,
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES}
            ),
            **fifo_attributes,
        },
    )["QueueUrl"]
    return JobResources(table, queue_url, dlq_url)


class LocalEventSource:
    """Lambda's SQS event source mapping, as `pollers` threads calling `dispatcher`."""

    def __init__(
        self, sqs: SQSClient, queue_url: str, dispatcher: Dispatcher, *, pollers: int = 2
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.dispatcher = dispatcher
        self.pollers = pollers
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.batches = 0

    def start(self) -> LocalEventSource:
        for index in range(self.pollers):
            thread = threading.Thread(target=self._poll, name=f"event-source-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=RECEIVE_WAIT_SECONDS + 10)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # keep polling, as the managed event source would
                log.exception("local event source: poll failed")
                self._stop.wait(1)

    def poll_once(self, wait_seconds: int = RECEIVE_WAIT_SECONDS) -> int:
        """One receive and one dispatcher call; returns how many messages it received."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        self.batches += 1
        response = self.dispatcher.handle_batch(sqs_event(messages, self.queue_url))
        kept = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
        done = [m for m in messages if m["MessageId"] not in kept]
        if done:
            result = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]}
                    for index, m in enumerate(done)
                ],
            )
            for failure in result.get("Failed", []):
                log.warning("local event source: delete failed", extra={"failure": failure})
        return len(messages)


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_url: str) -> dict[str, Any]:
    """ReceiveMessage's messages in the shape Lambda hands a function."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": dict(message.get("MessageAttributes", {})),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_url,
            }
            for message in messages
        ]
    }


@dataclass
class LocalTask:
    task_arn: str
    job_id: str
    attempt: int
    process: subprocess.Popen[bytes]
    started: float
    ended: float | None = None
    exit_code: int | None = None


@dataclass
class LocalProcessLauncher:
    """RunTask as a process: `command` with `env`, plus the job's overrides and its task ARN.

    `on_stopped` gets the STOPPED event of each task (the reaper's `handle`), on the thread
    that waited for the process. `log_dir`: each task's output goes to <job>-<attempt>.log.
    """

    command: Sequence[str]
    env: Mapping[str, str]
    on_stopped: Callable[[dict[str, Any]], object]
    log_dir: Path
    family: str = "local-job"
    container: str = "worker"
    region: str = "eu-west-1"
    tasks: dict[str, LocalTask] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def cluster_arn(self) -> str:
        return f"arn:aws:ecs:{self.region}:{ACCOUNT}:cluster/local"

    def launch(self, request: LaunchRequest) -> str:
        with self._lock:
            known = self._tokens.get(request.client_token)
            if known is not None:  # RunTask's clientToken: the same request, the same task
                return known
            task_arn = f"arn:aws:ecs:{self.region}:{ACCOUNT}:task/local/{uuid.uuid4().hex}"
            output = (self.log_dir / f"{request.job_id}-{request.attempt}.log").open("wb")
            process = subprocess.Popen(
                list(self.command),
                env={**self.env, **request.environment(), JOB_TASK_ARN_VARIABLE: task_arn},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            task = LocalTask(task_arn, request.job_id, request.attempt, process, time.time())
            self.tasks[task_arn] = task
            self._tokens[request.client_token] = task_arn
        threading.Thread(
            target=self._wait, args=(task, request, output), name="task-watch", daemon=True
        ).start()
        return task_arn

    def _wait(self, task: LocalTask, request: LaunchRequest, output: IO[bytes]) -> None:
        code = task.process.wait()
        output.close()
        task.ended = time.time()
        task.exit_code = code if code >= 0 else SIGNAL_EXIT_BASE - code
        try:
            self.on_stopped(self.stopped_event(task, request))
        except Exception:  # as EventBridge would, just report it
            log.exception("local launcher: the reaper failed", extra={"task_arn": task.task_arn})

    def stopped_event(self, task: LocalTask, request: LaunchRequest) -> dict[str, Any]:
        """The "ECS Task State Change" event EventBridge delivers for a stopped task."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "ECS Task State Change",
            "source": "aws.ecs",
            "account": ACCOUNT,
            "region": self.region,
            "resources": [task.task_arn],
            "detail": {
                "clusterArn": self.cluster_arn,
                "taskArn": task.task_arn,
                "group": f"family:{self.family}",
                "lastStatus": "STOPPED",
                "desiredStatus": "STOPPED",
                "startedBy": "jobs-dispatcher",
                "stopCode": "EssentialContainerExited",
                "stoppedReason": "Essential container in task exited",
                "containers": [
                    {"name": self.container, "exitCode": task.exit_code, "lastStatus": "STOPPED"}
                ],
                "overrides": {
                    "containerOverrides": [
                        {
                            "name": self.container,
                            "environment": [
                                {"name": name, "value": value}
                                for name, value in request.environment().items()
                            ],
                        }
                    ]
                },
            },
        }

    def running(self, job_id: str | None = None) -> list[LocalTask]:
        with self._lock:
            return [
                task
                for task in self.tasks.values()
                if task.process.poll() is None and job_id in (None, task.job_id)
            ]

    def kill(self, job_id: str, signum: int = signal.SIGKILL) -> int:
        """Signal every running task of `job_id` (SIGKILL: as an OOM kill); returns how many."""
        tasks = self.running(job_id)
        for task in tasks:
            with contextlib.suppress(ProcessLookupError):
                task.process.send_signal(signum)
        return len(tasks)

    def stop_all(self, timeout: float = 10) -> None:
        """SIGTERM every task (as ECS stops a task), SIGKILL what is left after `timeout`."""
        for task in self.running():
            with contextlib.suppress(ProcessLookupError):
                task.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for task in list(self.tasks.values()):
            try:
                task.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                task.process.kill()
                task.process.wait()


# --- make local ARGS=--jobs ---------------------------------------------------------------------

# Locally, waits and retries are seconds apart, not minutes: the point is to watch them happen.
LOCAL_WAIT_BASE_SECONDS = 1
LOCAL_WAIT_CAP_SECONDS = 5
LOCAL_RETRY_DELAY_SECONDS = 2
PROGRESS_SECONDS = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `make local ARGS="--jobs ..."` (devtools/local.py adds them)."""
    parser.add_argument(
        "--jobs",
        action="store_true",
        help="run the first job family (kind: job) instead: dispatcher, reaper and job processes",
    )
    parser.add_argument("--job-count", type=int, default=5, help="jobs to send. Default: 5")
    parser.add_argument(
        "--job-seconds", type=float, default=3.0, help="how long each job works. Default: 3 s"
    )


def run_family(args: argparse.Namespace, repo_root: Path, log_dir: Path) -> int:
    """Run the first job family locally until its jobs are final, Ctrl-C, or `--seconds`."""
    from devtools.moto_server import running_moto_server
    from modules.config import JobSpec, load_config
    from workers.runtime.jobs.settings import PlatformSettings, QueueType, RunnerSettings
    from workers.runtime.jobs.status import render_list
    from workers.runtime.jobs.wiring import JobPlatform
    from workers.runtime.logs import JsonFormatter

    # The platform's warnings and errors (retries, dead letters) as JSON lines on stderr.
    problems = logging.StreamHandler(sys.stderr)
    problems.setFormatter(JsonFormatter())
    problems.setLevel(logging.WARNING)
    logging.getLogger("workers.jobs").addHandler(problems)
    config = load_config(repo_root)
    families = config.of_kind(JobSpec)
    if not families:
        print("error: no service has kind: job (see docs/long-running-jobs.md)", file=sys.stderr)
        return 2
    job = families[0]
    task_logs = log_dir / "jobs"
    task_logs.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with running_moto_server() as server:
        env = server.env(config.project.region)
        session = boto3.session.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=config.project.region,
        )
        dynamodb = session.client("dynamodb", endpoint_url=server.endpoint_url)
        sqs = session.client("sqs", endpoint_url=server.endpoint_url)
        resources = create_job_resources(
            dynamodb, sqs, config.project.project, job.name, fifo=job.fifo
        )
        settings = PlatformSettings(
            table=resources.table,
            queue_url=resources.queue_url,
            dead_letter_queue_url=resources.dead_letter_queue_url,
            queue_type=QueueType.FIFO if job.fifo else QueueType.STANDARD,
            max_parallel_jobs=job.max_parallel_jobs,
            max_attempts=job.max_attempts,
            retry_delay_seconds=min(job.retry_delay_seconds, LOCAL_RETRY_DELAY_SECONDS),
            status_retention_days=job.status_retention_days,
            wait_base_seconds=LOCAL_WAIT_BASE_SECONDS,
            wait_cap_seconds=LOCAL_WAIT_CAP_SECONDS,
        )
        platform = JobPlatform.build(settings, dynamodb, sqs)
        launcher = LocalProcessLauncher(
            command=[sys.executable, "-m", "workers.runtime"],  # as the image runs it
            env={
                **env,
                **job.containers[0].environment,
                **job.task_settings(config.project.region).to_env(),
                **RunnerSettings.task_definition_env(
                    resources.table, job.timeout_seconds, job.status_retention_days
                ),
            },
            on_stopped=platform.reaper().handle,
            log_dir=task_logs,
            family=resource_name(config.project.project, job.name),
            container=job.containers[0].name,
            region=config.project.region,
        )
        source = LocalEventSource(sqs, resources.queue_url, platform.dispatcher(launcher)).start()
        ids = send_demo_jobs(sqs, resources.queue_url, args, fifo=job.fifo)
        print(
            f"{job.name}: {len(ids)} jobs sent to {resources.queue_url} (at most "
            f"{job.max_parallel_jobs} at once, {job.max_attempts} attempts; one fails every "
            f"attempt, one is sent twice); task output in {task_logs}",
            flush=True,
        )
        try:
            done = watch_jobs(platform, ids, stop, args.seconds)
        finally:
            source.stop()
            launcher.stop_all()
        records = [record for job_id in ids if (record := platform.table.get(job_id))]
        print(render_list(records, platform.limits.slot_holders(), time.time()), flush=True)
    return 0 if done else 1


def send_demo_jobs(
    sqs: SQSClient, queue_url: str, args: argparse.Namespace, *, fifo: bool
) -> list[str]:
    """`--job-count` jobs of `--job-seconds`, the last one asked to fail, the first sent twice."""
    ids = [f"local-{index + 1}" for index in range(max(1, args.job_count))]
    bodies = []
    for index, job_id in enumerate(ids):
        payload: dict[str, Any] = {"seconds": args.job_seconds}
        if index == len(ids) - 1 and len(ids) > 1:
            payload["fail"] = "asked to fail (make local --jobs)"
        bodies.append(json.dumps({"job_id": job_id, "payload": payload}))
    for body in [*bodies, bodies[0]]:
        extra: dict[str, Any] = {}
        if fifo:  # each job its own group: FIFO order within a group is not what this shows
            extra = {
                "MessageGroupId": json.loads(body)["job_id"],
                "MessageDeduplicationId": uuid.uuid4().hex,
            }
        sqs.send_message(QueueUrl=queue_url, MessageBody=body, **extra)
    return ids


def watch_jobs(
    platform: JobPlatform, ids: list[str], stop: threading.Event, seconds: float | None
) -> bool:
    """One line a second (jobs per state) until every job is final; True if they all are."""
    started = time.monotonic()
    while not stop.wait(PROGRESS_SECONDS):
        records = [platform.table.get(job_id) for job_id in ids]
        states = Counter(str(record.state) if record else "not yet recorded" for record in records)
        line = ", ".join(f"{state}={count}" for state, count in sorted(states.items()))
        print(f"[{time.monotonic() - started:6.1f}s] {line}", flush=True)
        if all(record is not None and record.final for record in records):
            return True
        if seconds is not None and time.monotonic() - started >= seconds:
            break
    return False
