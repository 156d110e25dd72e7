"""`make local`: the producer and the consumer against an embedded SQS, with live progress.

Starts moto_server on 127.0.0.1, creates the consumer's queue and dead-letter queue
exactly as its service.yaml declares them, runs the producer and the consumer as processes
(`python -m workers.runtime`, as their images do, with the kind and handler their task
definitions name) with short intervals, and prints one progress line a second until Ctrl-C or
SIGTERM (or `--seconds N`). `--consumer NAME` runs that consumer instead of the first
producer's, fed by the producer that sends to it (or, locally, by the first producer). Then the
workers get SIGTERM (the consumer finishes what it holds), moto_server stops, and the exit
code is 0 unless a worker failed. Full worker logs go to .local/<service>.log.

`--jobs` runs the first job family (`kind: job`) instead: the same dispatcher and reaper
against moto_server (SQS and DynamoDB), each job's task a local process; it sends a few
jobs and prints their states until all are final (devtools/local_jobs.py).

An ingest API that feeds the consumer (`kind: ingest`) is served too, on
http://127.0.0.1:8080/v1 (`--ingest-port`; `--no-ingest` to skip): the same routes, status codes
and JSON as in AWS, in front of the same queue (devtools/ingest_server.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import boto3

from devtools.ingest_server import (
    DEFAULT_PORT,
    IngestContract,
    IngestServer,
    json_lines,
    serving,
    sqs_sender,
)
from devtools.local_jobs import add_arguments as add_job_arguments
from devtools.local_jobs import run_family
from devtools.moto_server import running_moto_server
from modules.config import ConsumerSpec, IngestSpec, PlatformConfig, ProducerSpec, load_config
from modules.naming import resource_name
from workers.runtime.limits import READ_TIMEOUT_MARGIN_SECONDS
from workers.runtime.producer_settings import ProducerSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from mypy_boto3_sqs import SQSClient

    from devtools.moto_server import MotoServer

REPO_ROOT = Path(__file__).resolve().parent.parent
# What every worker image runs (workers/Dockerfile); the kind and handler come from the env.
WORKER_MODULE = "workers.runtime"
LOG_DIR = REPO_ROOT / ".local"
DAY_SECONDS = 24 * 60 * 60
PROGRESS_INTERVAL_SECONDS = 1.0
LOCAL_RECEIVE_WAIT_SECONDS = 2
# A worker's own stop timeout is the consumer's handler time plus a margin; locally the
# handler sleeps HANDLER_SLEEP_SECONDS, so this is plenty before falling back to SIGKILL.
WORKER_STOP_SECONDS = 30

# Log events (the `event` field of the workers' JSON lines) that progress counts.
COUNTED_EVENTS = {
    ("producer", "message sent"): "sent",
    ("producer", "message not sent"): "lost",
    ("consumer", "handled"): "done",
    ("consumer", "failed"): "failed",
}


@dataclass(frozen=True)
class Queues:
    url: str
    dlq_url: str


@dataclass
class Tally:
    """Counters fed by the worker log readers (threads), read by the progress loop."""

    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str) -> None:
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1

    def get(self, name: str) -> int:
        with self.lock:
            return self.counts.get(name, 0)


class Worker:
    """One worker process in its own session (so Ctrl-C reaches only this script, which then
    stops the workers in order); its stdout goes to a log file and through `on_line`.

    `role` is "producer" or "consumer"; `service` is the worker's folder name."""

    def __init__(
        self,
        role: str,
        service: str,
        env: Mapping[str, str],
        log_dir: Path,
        on_line: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self.role = role
        self.service = service
        self.log_path = log_dir / f"{service}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE],
            cwd=REPO_ROOT,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        self._on_line = on_line
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[bytes]) -> None:
        with self.log_path.open("w", encoding="utf-8") as log_file:
            for raw in stream:
                text = raw.decode("utf-8", "replace").rstrip("\n")
                log_file.write(text + "\n")
                log_file.flush()
                self._on_line(self.role, _parse_line(text))

    def stop(self) -> int:
        """SIGTERM, wait for a clean exit, SIGKILL if it overruns; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            print(f"{self.service} did not stop within {WORKER_STOP_SECONDS} s: killed", flush=True)
            self.process.kill()
            code = self.process.wait()
        self._reader.join(timeout=5)
        return code


def _parse_line(text: str) -> dict[str, Any]:
    try:
        entry = json.loads(text)
    except ValueError:
        return {"level": "info", "event": text}
    return entry if isinstance(entry, dict) else {"level": "info", "event": text}


def sqs_client(server: MotoServer) -> SQSClient:
    env = server.env()
    session = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    return session.client("sqs", endpoint_url=server.endpoint_url)


def create_queues(client: SQSClient, project: str, consumer: ConsumerSpec) -> Queues:
    """The queue and DLQ with the attributes the consumer stack gives them in AWS."""
    spec = consumer.queue
    name = resource_name(project, consumer.name)
    dlq_url = client.create_queue(
        QueueName=f"{name}-dlq",
        Attributes={"MessageRetentionPeriod": str(spec.dead_letter_retention_days * DAY_SECONDS)},
    )["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.max_receive_count}
    url = client.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(spec.visibility_timeout),
            "MessageRetentionPeriod": str(spec.message_retention_days * DAY_SECONDS),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    return Queues(url, dlq_url)


def worker_envs(
    server: MotoServer,
    config: PlatformConfig,
    producer: ProducerSpec,
    consumer: ConsumerSpec,
    queues: Queues,
    args: argparse.Namespace,
) -> dict[str, dict[str, str]]:
    """Each worker's environment as its task definition sets it, with local intervals."""
    region = config.project.region
    producer_settings = ProducerSettings(
        queue_url=queues.url, min_interval=args.min_interval, max_interval=args.max_interval
    )
    # A stopping consumer waits for its receive in flight (it may bring messages to release): a
    # short long poll keeps Ctrl-C quick here; production waits as long as SQS allows.
    consumer_settings = replace(
        consumer.runtime_settings(queues.url),
        receive_wait=LOCAL_RECEIVE_WAIT_SECONDS,
        read_timeout=LOCAL_RECEIVE_WAIT_SECONDS + READ_TIMEOUT_MARGIN_SECONDS,
    )
    return {
        "producer": {
            **server.env(region),
            **producer.containers[0].environment,
            **producer.task_settings(region).to_env(),
            **producer_settings.to_env(),
            # The example producer's own knob (workers/producer/handler.py).
            "BATCH_SIZE": str(args.batch_size),
        },
        "consumer": {
            **server.env(region),
            **consumer.containers[0].environment,
            **consumer.task_settings(region).to_env(),
            **consumer_settings.to_env(),
            # The example consumer's own knob (workers/consumer/handler.py).
            "HANDLER_SLEEP_SECONDS": str(args.handler_sleep),
        },
    }


def queue_depths(client: SQSClient, queues: Queues) -> tuple[int, int, int]:
    """(visible, in flight, in the DLQ), as SQS approximates them."""
    names: list[Any] = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    main = client.get_queue_attributes(QueueUrl=queues.url, AttributeNames=names)["Attributes"]
    dlq = client.get_queue_attributes(QueueUrl=queues.dlq_url, AttributeNames=names[:1])[
        "Attributes"
    ]
    return (
        int(main["ApproximateNumberOfMessages"]),
        int(main["ApproximateNumberOfMessagesNotVisible"]),
        int(dlq["ApproximateNumberOfMessages"]),
    )


def progress_line(label: str, tally: Tally, depths: tuple[int, int, int]) -> str:
    visible, in_flight, dlq = depths
    return (
        f"{label} sent={tally.get('sent')} queued={visible} in_flight={in_flight} "
        f"done={tally.get('done')} failed={tally.get('failed')} dlq={dlq} "
        f"not_sent={tally.get('lost')}"
    )


def echo_problems(role: str, entry: dict[str, Any]) -> None:
    """Show a worker's warnings and errors on the console; the rest stays in its log file."""
    if entry.get("level") in ("warning", "error", "critical"):
        detail = {k: v for k, v in entry.items() if k not in ("time", "logger", "level", "event")}
        print(f"  {role} {entry['level']}: {entry.get('event')} {detail}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, help="stop by itself after this long")
    parser.add_argument(
        "--consumer", help="the consumer to run (default: the one the first producer feeds)"
    )
    parser.add_argument("--min-interval", type=float, default=0.5, help="Default: 0.5 s")
    parser.add_argument("--max-interval", type=float, default=2.0, help="Default: 2 s")
    parser.add_argument("--batch-size", type=int, default=1, help="Default: 1 message a send")
    parser.add_argument("--handler-sleep", type=float, default=1.0, help="Default: 1 s")
    parser.add_argument("--log-dir", type=Path, default=LOG_DIR, help="Default: .local/")
    add_job_arguments(parser)
    parser.add_argument(
        "--ingest-port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port of the first ingest API, the next ones above (0: any free). "
        f"Default: {DEFAULT_PORT}",
    )
    parser.add_argument("--no-ingest", action="store_true", help="serve no ingest API")
    return parser.parse_args(argv)


class LocalRunError(Exception):
    """What `make local` cannot run, in one line."""


def services(
    config: PlatformConfig, consumer_name: str | None = None
) -> tuple[ProducerSpec, ConsumerSpec]:
    """The consumer to run and a producer to feed it: by default the first producer and the
    consumer it sends to; with `consumer_name`, that consumer and the producer that sends to it,
    else the first producer (locally pointed at this consumer's queue)."""
    producers = config.of_kind(ProducerSpec)
    consumers = {spec.name: spec for spec in config.of_kind(ConsumerSpec)}
    if not producers:
        raise LocalRunError("no producer is declared (kind: producer) to feed a consumer")
    if consumer_name is None:
        consumer_name = producers[0].sends_to
    if consumer_name not in consumers:
        known = ", ".join(sorted(consumers)) or "none"
        raise LocalRunError(f"no consumer named '{consumer_name}'; consumers: {known}")
    feeding = [producer for producer in producers if producer.sends_to == consumer_name]
    return (feeding or producers)[0], consumers[consumer_name]


def serve_ingest_apis(
    config: PlatformConfig,
    consumer: ConsumerSpec,
    client: SQSClient,
    queues: Queues,
    args: argparse.Namespace,
    cleanup: contextlib.ExitStack,
) -> None:
    """Each ingest API that feeds `consumer`, on its own port, until `cleanup` closes."""
    apis = [api for api in config.of_kind(IngestSpec) if api.feeds == consumer.name]
    for offset, api in enumerate(apis):
        port = args.ingest_port + offset if args.ingest_port else 0
        contract, send = IngestContract.of(api), sqs_sender(client, queues.url)
        log = json_lines(args.log_dir / f"{api.name}.log")
        try:
            server = IngestServer(contract, send, port, log)
        except OSError as error:  # the port is taken: any free one serves as well locally
            print(f"port {port} for {api.name}: {error.strerror}; taking a free one", flush=True)
            server = IngestServer(contract, send, 0, log)
        cleanup.enter_context(serving(server))
        routes = ", ".join(api.routes)
        print(f"ingest API {api.name} on {server.url} ({routes})", flush=True)


def install_stop_signals(stop: threading.Event) -> None:
    def request_stop(signum: int, _frame: object) -> None:
        print(f"{signal.Signals(signum).name}: stopping", flush=True)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)


def watch(
    client: SQSClient,
    queues: Queues,
    tally: Tally,
    workers: list[Worker],
    stop: threading.Event,
    seconds: float | None,
) -> list[str]:
    """Print progress once a second until stopped; returns the workers that died on their own."""
    started = time.monotonic()
    deadline = None if seconds is None else started + seconds
    while not stop.wait(PROGRESS_INTERVAL_SECONDS):
        label = f"[{time.monotonic() - started:6.1f}s]"
        print(progress_line(label, tally, queue_depths(client, queues)), flush=True)
        dead = [w.service for w in workers if w.process.poll() is not None]
        if dead:
            return dead
        if deadline is not None and time.monotonic() >= deadline:
            break
    return []


def run(args: argparse.Namespace) -> int:
    config = load_config(REPO_ROOT)
    try:
        producer, consumer = services(config, args.consumer)
    except LocalRunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    log_dir: Path = args.log_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    install_stop_signals(stop)
    tally = Tally()

    def on_line(role: str, entry: dict[str, Any]) -> None:
        counted = COUNTED_EVENTS.get((role, entry.get("event", "")))
        if counted is not None:
            tally.add(counted)
        echo_problems(role, entry)

    with running_moto_server() as server:
        client = sqs_client(server)
        queues = create_queues(client, config.project.project, consumer)
        print(f"SQS on {server.endpoint_url}; queue {queues.url}; logs in {log_dir}", flush=True)
        envs = worker_envs(server, config, producer, consumer, queues, args)
        workers: list[Worker] = []
        with contextlib.ExitStack() as cleanup:
            for role, spec in (("consumer", consumer), ("producer", producer)):
                workers.append(Worker(role, spec.name, envs[role], log_dir, on_line))
                cleanup.callback(workers[-1].stop)  # stopped even when this script fails
            if not args.no_ingest:
                serve_ingest_apis(config, consumer, client, queues, args, cleanup)
            dead = watch(client, queues, tally, workers, stop, args.seconds)
            print("stopping the workers (SIGTERM; the consumer finishes what it holds)", flush=True)
            # Producer first, so the consumer is not handed new work while it drains.
            codes = {w.service: w.stop() for w in reversed(workers)}
        print(progress_line("final:", tally, queue_depths(client, queues)), flush=True)
    print(
        "stopped: " + ", ".join(f"{name} exit {code}" for name, code in codes.items()), flush=True
    )
    for name in dead:
        log_path = log_dir / f"{name}.log"
        tail = log_path.read_text(encoding="utf-8").splitlines()[-10:]
        print(f"error: {name} exited on its own; the end of {log_path}:", file=sys.stderr)
        print("\n".join(tail), file=sys.stderr)
    return 1 if dead or any(codes.values()) else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.jobs:
        return run_family(args, REPO_ROOT, args.log_dir)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
