"""`make local` (python -m devtools.local) as a person runs it: progress, then a clean stop."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from devtools.local import LocalRunError, create_queues, services, sqs_client
from modules.config import load_config
from tests.devtools.local_run import PROGRESS, LocalRun, done

if TYPE_CHECKING:
    from devtools.moto_server import MotoServer

REPO_ROOT = Path(__file__).resolve().parents[2]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


def refuses_connections(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_runs_until_a_signal_then_stops_everything_cleanly(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    # given `make local` running until it has handled a message end to end
    run = LocalRun(log_dir=tmp_path)
    run.wait_for_done(1)

    # when Ctrl-C (SIGINT) or SIGTERM arrives
    run.process.send_signal(stop_signal)

    # then both workers stopped cleanly, moto_server is gone, and the exit code is 0
    assert run.finish() == 0, "\n".join(run.lines)
    assert "stopped: producer exit 0, consumer exit 0" in run.lines
    [final] = [line for line in run.lines if line.startswith("final:")]
    assert done(final) >= 1 and PROGRESS.search(final).group(6) == "0"  # type: ignore[union-attr]
    assert refuses_connections(run.moto_port())
    assert (tmp_path / "producer.log").read_text().count('"message sent"') >= 1


@pytest.mark.slow
def test_stops_by_itself_after_the_given_seconds(tmp_path: Path) -> None:
    run = LocalRun("--seconds", "2", log_dir=tmp_path)

    assert run.finish() == 0, "\n".join(run.lines)
    assert any(PROGRESS.search(line) for line in run.lines if line.startswith("["))
    assert "stopped: producer exit 0, consumer exit 0" in run.lines


def test_queues_are_created_as_the_consumer_service_yaml_declares(moto_server: MotoServer) -> None:
    # given the repository's own configuration
    config = load_config(REPO_ROOT)
    _, consumer = services(config)
    client = sqs_client(moto_server)

    # when make local creates the queues
    queues = create_queues(client, f"local-{uuid.uuid4().hex[:8]}", consumer)

    # then visibility, retention and redrive are the declared ones
    spec = consumer.queue
    attributes = client.get_queue_attributes(QueueUrl=queues.url, AttributeNames=["All"])[
        "Attributes"
    ]
    dlq = client.get_queue_attributes(QueueUrl=queues.dlq_url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(attributes["VisibilityTimeout"]) == spec.visibility_timeout
    assert int(attributes["MessageRetentionPeriod"]) == spec.message_retention_days * 86_400
    assert int(redrive["maxReceiveCount"]) == spec.max_receive_count
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(dlq["MessageRetentionPeriod"]) == spec.dead_letter_retention_days * 86_400


def test_by_default_the_first_producer_and_the_consumer_it_feeds_run() -> None:
    producer, consumer = services(load_config(REPO_ROOT))

    assert (producer.name, consumer.name) == ("producer", "consumer")


def test_another_consumer_runs_fed_by_the_first_producer_when_none_sends_to_it(
    tmp_path: Path,
) -> None:
    # Given a second consumer, copied from the first, that no producer sends to
    root = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "workers", root / "workers", ignore=IGNORED)
    shutil.copy2(REPO_ROOT / "platform.yaml", root / "platform.yaml")
    shutil.copytree(root / "workers" / "consumer", root / "workers" / "thumbnails")

    producer, consumer = services(load_config(root), "thumbnails")

    # Then it runs, with its own handler, and the example producer feeds its queue locally
    assert (producer.name, consumer.name) == ("producer", "thumbnails")
    assert consumer.task_settings(region="").handler == "workers.thumbnails.handler:handle"


def test_a_consumer_that_does_not_exist_is_one_line() -> None:
    with pytest.raises(LocalRunError, match="no consumer named 'nope'; consumers: consumer"):
        services(load_config(REPO_ROOT), "nope")
