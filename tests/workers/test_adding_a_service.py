"""The README's "Adding a service", followed to the letter in a fresh copy of the repository: the
hand-copy steps run as written (the editor is a script making a developer's edit), then the new
consumer runs against the local SQS exactly as its synthesized task definition and its image say:
the image's entry point, the task definition's environment, its own handler."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from devtools import fake_docker
from tests.conftest import REPO_ROOT
from tests.infra.stack_json import TASK_DEFINITION
from tests.workers.processes import WORKER_MODULE, WorkerProcess
from tests.workers.sqs_testing import client_for, new_queue

if TYPE_CHECKING:
    from pathlib import Path

    from devtools.moto_server import MotoServer


SECTION = "## Adding a service"
STEP_TIMEOUT_SECONDS = 300
WORKER_DEADLINE_SECONDS = 60
# The edit the "editor" makes: a handler of the new service's own, and its description.
NEW_HANDLER = '''"""Thumbnails: one per message."""

import logging

log = logging.getLogger(__name__)


def handle(message):
    log.info("thumbnail made", extra={"source": message.body})
'''
EDITOR = f"""#!{sys.executable}
import pathlib, sys
for name in sys.argv[1:]:
    path = pathlib.Path(name)
    if path.name == "handler.py":
        path.write_text({NEW_HANDLER!r})
    elif path.name == "service.yaml":
        text = path.read_text()
        start = text.index("description:")
        end = text.index("\\n", start)
        path.write_text(text[:start] + "description: Makes thumbnails." + text[end:])
"""


def readme_blocks() -> list[list[str]]:
    """The lines of each fenced shell block of the README's "Adding a service"."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split(f"\n{SECTION}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    return [block.splitlines() for block in blocks]


def test_the_readme_shows_both_ways_make_new_service_first() -> None:
    new_service, by_hand = readme_blocks()

    assert [line.split("#")[0].strip() for line in new_service] == [
        "make new-service NAME=thumbnails KIND=consumer",
        "make synth",
        "make test",
    ]
    assert by_hand[0] == "cp -R workers/consumer workers/thumbnails"
    assert by_hand[-1] == "make synth"


def run_step(copy: Path, line: str, editor: Path) -> subprocess.CompletedProcess[str]:
    leaking = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CDKTF_OUTDIR"}
    env = {key: value for key, value in os.environ.items() if key not in leaking}
    return subprocess.run(
        ["bash", "-c", line],
        cwd=copy,
        env={**env, "EDITOR": str(editor)},
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_SECONDS,
        check=False,
    )


def task_environment(copy: Path, service: str) -> dict[str, str]:
    """The first container's environment in the synthesized task definition of `service`."""
    stack = json.loads((copy / "cdktf.out" / "stacks" / service / "cdk.tf.json").read_text())
    [definition] = stack["resource"][TASK_DEFINITION].values()
    [container, *_] = json.loads(definition["container_definitions"])
    return {item["name"]: item["value"] for item in container["environment"]}


@pytest.mark.slow
def test_a_consumer_copied_by_hand_as_the_readme_says_runs_its_own_handler(
    fresh_copy: Path, moto_server: MotoServer, tmp_path: Path
) -> None:
    if shutil.which("make") is None:
        pytest.skip("GNU make is not on PATH")
    editor = tmp_path / "editor"
    editor.write_text(EDITOR)
    editor.chmod(0o755)

    # Given the README's hand-copy steps, run as written in a fresh copy
    [_, by_hand] = readme_blocks()
    for line in by_hand:
        step = run_step(fresh_copy, line, editor)
        assert step.returncode == 0, f"{line}\n{step.stdout}{step.stderr}"
    assert "thumbnails" in step.stdout  # make synth's report names the new stack

    # When the new consumer runs as Fargate would run it: the image's entry point and the task
    # definition's environment (its queue is a Terraform reference: a local queue stands in)
    workers = fresh_copy / "workers"
    image = fake_docker.build(workers / "Dockerfile", workers, {"SERVICE": "thumbnails"})
    assert image.config.entrypoint == ("python", "-m", WORKER_MODULE)
    environment = task_environment(fresh_copy, "thumbnails")
    assert environment["WORKER_HANDLER"] == "workers.thumbnails.handler:handle"
    client = client_for(moto_server)
    queue_url = new_queue(client, "thumbnails")
    local = {"QUEUE_URL": queue_url, "RECEIVE_WAIT_SECONDS": "1"}
    worker = WorkerProcess(WORKER_MODULE, {**moto_server.env(), **environment, **local}, fresh_copy)
    try:
        client.send_message(QueueUrl=queue_url, MessageBody="cat.jpg")

        # Then its own handler handles the message, and it stops cleanly on SIGTERM
        [made] = worker.wait_for_events("thumbnail made", 1, WORKER_DEADLINE_SECONDS)
        worker.wait_for_events("handled", 1, WORKER_DEADLINE_SECONDS)
        worker.signal(signal.SIGTERM)
        assert worker.wait_exit(WORKER_DEADLINE_SECONDS) == 0, worker.tail()
    finally:
        worker.stop()
    assert made["source"] == "cat.jpg"
    assert made["logger"] == "workers.thumbnails.handler"
    assert visible_and_in_flight(client, queue_url) == (0, 0)


def visible_and_in_flight(client: Any, queue_url: str) -> tuple[int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)
    return tuple(int(attributes["Attributes"][name]) for name in names)  # type: ignore[return-value]
