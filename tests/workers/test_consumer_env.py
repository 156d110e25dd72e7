"""A consumer (`python -m workers.runtime`, WORKER_KIND=consumer) with a bad environment: one
clear line, exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.workers.consumer_testing import EXAMPLE_HANDLER
from tests.workers.processes import REPO_ROOT, WORKER_MODULE
from workers.runtime.consumer_settings import ConsumerSettings

VALID = {
    "QUEUE_URL": "http://127.0.0.1:9/123456789012/q",
    "AWS_REGION": "eu-west-1",
    "WORKER_KIND": "consumer",
    "WORKER_HANDLER": EXAMPLE_HANDLER,
}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"QUEUE_URL": ""}, "QUEUE_URL is required"),
        ({"WORKER_CONCURRENCY": "ten"}, "WORKER_CONCURRENCY='ten' is not valid"),
        ({"WORKER_CONCURRENCY": "0"}, "must be a whole number from 1 to 100"),
        (
            {"WORKER_PREFETCH": "11"},
            "WORKER_PREFETCH='11' is not valid: must be a whole number from 0 to 10",
        ),
        ({"WORKER_PREFETCH": "-1"}, "WORKER_PREFETCH='-1' is not valid"),
        ({"WORKER_PREFETCH": "2.5"}, "WORKER_PREFETCH='2.5' is not valid"),
        ({"WORKER_PREFETCH": "some"}, "WORKER_PREFETCH='some' is not valid"),
        ({"STOP_TIMEOUT_SECONDS": "121"}, "STOP_TIMEOUT_SECONDS='121' is not valid"),
        ({"VISIBILITY_TIMEOUT_SECONDS": "25"}, "must be longer than the SQS read timeout"),
        ({"HANDLER_SLEEP_SECONDS": "soon"}, "HANDLER_SLEEP_SECONDS='soon' is not valid"),
        ({"WORKER_HANDLER": "workers.consumer.handler"}, "must be 'package.module:function'"),
        ({"WORKER_HANDLER": "no.such.module:handle"}, "cannot import no.such.module"),
        ({"WORKER_HANDLER": "workers.consumer.handler:nope"}, "has no function 'nope'"),
        ({"WORKER_HANDLER": ""}, "WORKER_HANDLER is required but not set"),
        ({"WORKER_KIND": ""}, "WORKER_KIND is required but not set"),
        (
            {"WORKER_KIND": "cron"},
            "WORKER_KIND='cron' is not valid: must be one of consumer, producer, scheduled, job",
        ),
    ],
)
def test_a_bad_variable_is_one_line_and_exit_code_2(
    overrides: dict[str, str], message: str
) -> None:
    environ = {"PATH": os.environ.get("PATH", ""), **VALID, **overrides}
    result = subprocess.run(
        [sys.executable, "-m", WORKER_MODULE],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]


def test_defaults_follow_the_handler_timeout() -> None:
    settings = ConsumerSettings.from_env({**VALID, "HANDLER_TIMEOUT_SECONDS": "90"})
    assert settings.visibility_timeout == 120  # handler timeout + 30
    assert (settings.receive_wait, settings.read_timeout) == (20, 30)
    assert (settings.concurrency, settings.stop_timeout) == (4, 30)
    assert settings.prefetch == 0  # the strict rule unless a service asks for prefetch


@pytest.mark.parametrize(("raw", "prefetch"), [("0", 0), ("10", 10), (" 3 ", 3), ("", 0)])
def test_worker_prefetch_is_read_as_a_whole_number(raw: str, prefetch: int) -> None:
    assert ConsumerSettings.from_env({**VALID, "WORKER_PREFETCH": raw}).prefetch == prefetch


def test_the_config_and_the_consumer_draw_the_visibility_line_at_the_same_second() -> None:
    """The shortest visibility timeout service.yaml may give starts a consumer; one less is
    refused by both."""
    from pydantic import ValidationError

    from modules.config import CONSUMER_READ_TIMEOUT_SECONDS, QueueSpec
    from workers.runtime.env import EnvError

    def consumer_env(visibility: int) -> dict[str, str]:
        return {
            **VALID,
            "HANDLER_TIMEOUT_SECONDS": "1",
            "VISIBILITY_TIMEOUT_SECONDS": str(visibility),
        }

    shortest = CONSUMER_READ_TIMEOUT_SECONDS + 1
    QueueSpec(handler_timeout_seconds=1, visibility_timeout_seconds=shortest)
    assert ConsumerSettings.from_env(consumer_env(shortest)).visibility_timeout == shortest
    with pytest.raises(ValidationError):
        QueueSpec(handler_timeout_seconds=1, visibility_timeout_seconds=shortest - 1)
    with pytest.raises(EnvError):
        ConsumerSettings.from_env(consumer_env(shortest - 1))
