"""The example workers, started from what was applied, moving messages end to end.

Nothing here comes from the repository's configuration: each worker's command is its image's
entry point (read back from the applied ECR repository) plus the container's command, and its
environment is exactly the applied task definition's, plus what Fargate itself gives a task
(region) and what a local machine needs to reach the AWS endpoint. So a variable the runtime
requires and the task definition lacks stops the worker here as it would on Fargate.

The local Python interpreter stands in for the image's, and the copy of the repository for the
image's `/app`: the Dockerfile lays the files out as the repository does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path

    from devtools.fake_docker import ImageConfig

# Bounds of each wait; every wait polls its condition and fails with what it last saw.
START_DEADLINE_SECONDS = 30.0
MESSAGES_DEADLINE_SECONDS = 120.0
STOP_DEADLINE_SECONDS = 60.0
POLL_SECONDS = 0.2
# The producer runs until it has sent this many messages.
MESSAGES_TO_SEND = 3
# A body the example handler cannot parse: retried, then moved to the DLQ by SQS's redrive.
POISON_BODY = "not a number"
# Image variables that point into the image's own filesystem: the local copy replaces them.
IMAGE_ONLY_VARIABLES = frozenset({"PYTHONPATH", "PATH", "HOME"})
LOCAL_PYTHONS = frozenset({"python", "python3", "python3.11"})


class WorkersFailed(Exception):
    """The applied workers did not move the messages; the message says what was seen."""


@dataclass(frozen=True)
class AppliedWorker:
    """One container of an applied service, as ECS would start it."""

    service: str
    task_definition: str
    command: tuple[str, ...]
    environment: Mapping[str, str]


def read_applied_worker(
    ecs: Any,
    cluster: str,
    service_name: str,
    service: str,
    image_config: Callable[[str], ImageConfig],
) -> AppliedWorker:
    """The first essential container of the task definition the service `service_name` runs."""
    described = ecs.describe_services(cluster=cluster, services=[service_name])["services"]
    if not described:
        raise WorkersFailed(f"{service}: no ECS service {service_name} in cluster {cluster}")
    arn = described[0]["taskDefinition"]
    definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    container = next(c for c in definition["containerDefinitions"] if c.get("essential", True))
    image = image_config(container["image"])
    environment = {
        **{k: v for k, v in image.env.items() if k not in IMAGE_ONLY_VARIABLES},
        **{item["name"]: item["value"] for item in container.get("environment", [])},
    }
    # As ECS runs it: the container's entryPoint and command, where set, replace the image's.
    entrypoint = container.get("entryPoint") or image.entrypoint or ()
    command = (*entrypoint, *(container.get("command") or image.cmd or ()))
    if not command:
        raise WorkersFailed(f"{service}: image {container['image']} declares no entry point")
    return AppliedWorker(service, arn, command, environment)


@dataclass
class WorkerProcess:
    """A started worker; its stdout is JSON log lines, kept in a file."""

    worker: AppliedWorker
    process: subprocess.Popen[bytes]
    log_file: Path
    stderr_file: Path
    _read: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)

    def new_records(self) -> list[dict[str, Any]]:
        """Log records written since the last call (lines that are not JSON are skipped)."""
        with self.log_file.open("rb") as log:
            log.seek(self._read)
            data = log.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._read += len(complete)
        fresh = []
        for line in complete.decode(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                fresh.append(record)
        self.records += fresh
        return fresh

    def exited(self) -> int | None:
        return self.process.poll()

    def last_error(self) -> str:
        lines = self.stderr_file.read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "(nothing on stderr)"

    def fail_if_exited(self) -> None:
        code = self.exited()
        if code is not None:
            raise WorkersFailed(
                f"{self.worker.service}: the worker started from task definition "
                f"{self.worker.task_definition} exited with code {code}: {self.last_error()}"
            )

    def stop(self) -> int:
        """SIGTERM, as ECS stops a task; returns the exit code (killed after the deadline)."""
        if self.exited() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise WorkersFailed(
                    f"{self.worker.service}: did not stop within {STOP_DEADLINE_SECONDS:.0f} s "
                    "of SIGTERM"
                ) from None
        return self.process.returncode


def start(
    worker: AppliedWorker, tree: Path, logs: Path, local_env: Mapping[str, str]
) -> WorkerProcess:
    """Run `worker` from the copy of the repository with its applied environment.

    `local_env`: the region and, on a local AWS, its endpoint and dummy credentials.
    """
    command = list(worker.command)
    if command[0] in LOCAL_PYTHONS:
        command[0] = sys.executable
    env = {
        **worker.environment,
        **local_env,
        "PYTHONPATH": str(tree),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(logs),
    }
    log_file = logs / f"{worker.service}.worker.log"
    stderr_file = logs / f"{worker.service}.worker.stderr"
    with log_file.open("wb") as out, stderr_file.open("wb") as err:
        process = subprocess.Popen(command, cwd=tree, env=env, stdout=out, stderr=err)
    return WorkerProcess(worker, process, log_file, stderr_file)


def wait_for(what: str, condition: Callable[[], bool], deadline_seconds: float) -> None:
    """Poll `condition` until it holds; WorkersFailed naming `what` after the deadline."""
    deadline = time.monotonic() + deadline_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise WorkersFailed(f"{what}: not seen within {deadline_seconds:.0f} s")
        time.sleep(POLL_SECONDS)  # polling interval, not synchronisation


@dataclass(frozen=True)
class FlowReport:
    sent: int
    handled: int
    poison_in_dlq_seconds: float
    seconds: float

    def describe(self) -> str:
        return (
            f"producer sent {self.sent}, consumer handled {self.handled}; the poison message "
            f"was in the DLQ after {self.poison_in_dlq_seconds:.0f} s; {self.seconds:.0f} s in all"
        )


def check_message_flow(
    consumer: WorkerProcess,
    start_producer: Callable[[], WorkerProcess],
    sqs: Any,
    queue_url: str,
    dead_letter_queue_url: str,
) -> FlowReport:
    """The producer's messages are handled by the consumer; a poison message reaches the DLQ;
    both stop cleanly on SIGTERM and the queue is left empty."""
    started = time.monotonic()
    _wait_for_event(consumer, "consumer started")
    sqs.send_message(QueueUrl=queue_url, MessageBody=POISON_BODY)
    producer = start_producer()
    try:
        sent = _wait_for_sends(producer)
    finally:
        code = producer.stop()
    if code != 0:
        raise WorkersFailed(f"producer: exit code {code} on SIGTERM: {producer.last_error()}")
    handled = _wait_for_handled(consumer, sent)
    wait_for(
        "consumer: the poison message in the dead-letter queue",
        lambda: _holds_body(sqs, dead_letter_queue_url, POISON_BODY),
        MESSAGES_DEADLINE_SECONDS,
    )
    poison_seconds = time.monotonic() - started
    wait_for("the queue empty", lambda: _queue_depth(sqs, queue_url) == 0, STOP_DEADLINE_SECONDS)
    code = consumer.stop()
    if code != 0:
        raise WorkersFailed(f"consumer: exit code {code} on SIGTERM: {consumer.last_error()}")
    return FlowReport(len(sent), len(handled), poison_seconds, time.monotonic() - started)


def _wait_for_event(worker: WorkerProcess, event: str) -> None:
    def seen() -> bool:
        worker.fail_if_exited()
        return any(record.get("event") == event for record in _all_records(worker))

    wait_for(f"{worker.worker.service}: '{event}'", seen, START_DEADLINE_SECONDS)


def _wait_for_sends(producer: WorkerProcess) -> set[str]:
    sent: set[str] = set()

    def enough() -> bool:
        producer.fail_if_exited()
        sent.update(
            str(record["sqs_message_id"])
            for record in _all_records(producer)
            if record.get("event") == "message sent" and "sqs_message_id" in record
        )
        return len(sent) >= MESSAGES_TO_SEND

    wait_for(f"producer: {MESSAGES_TO_SEND} messages sent", enough, MESSAGES_DEADLINE_SECONDS)
    return sent


def _wait_for_handled(consumer: WorkerProcess, sent: set[str]) -> set[str]:
    """Each sent message id logged by the consumer's handler at info level."""
    handled: set[str] = set()

    def all_handled() -> bool:
        consumer.fail_if_exited()
        handled.update(
            str(record["message_id"])
            for record in _all_records(consumer)
            if record.get("level") == "info" and record.get("message_id") in sent
        )
        return handled >= sent

    wait_for(
        f"consumer: the {len(sent)} messages the producer sent handled",
        all_handled,
        MESSAGES_DEADLINE_SECONDS,
    )
    return handled


def _all_records(worker: WorkerProcess) -> Iterator[dict[str, Any]]:
    worker.new_records()
    return iter(worker.records)


def _holds_body(sqs: Any, queue_url: str, body: str) -> bool:
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=0
    ).get("Messages", [])
    return any(message["Body"] == body for message in messages)


def _queue_depth(sqs: Any, queue_url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)
