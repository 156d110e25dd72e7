"""Each worker kind's settings class is its runtime contract: `to_env` writes what `from_env`
reads back, and the stacks write exactly what the class says."""

from __future__ import annotations

import random

import pytest

from workers.runtime.backoff import Backoff
from workers.runtime.consumer_settings import MAX_PREFETCH, ConsumerSettings
from workers.runtime.fatal import MAX_GRACE_SECONDS
from workers.runtime.protection import MAX_EXPIRES_MINUTES

ROUND_TRIPS = 300


def _some_float(rng: random.Random, low: float, high: float) -> float:
    """A whole number or a fraction within [low, high]: the stack writes both kinds."""
    value = rng.uniform(low, high)
    return float(max(low, min(high, round(value)))) if rng.random() < 0.5 else value


def _consumer_settings(rng: random.Random) -> ConsumerSettings:
    receive_wait = rng.randint(1, 20)
    read_timeout = _some_float(rng, receive_wait + 0.01, 300)
    sqs_backoff_cap = _some_float(rng, 0.1, 300)
    retry_base = rng.randint(1, 43_200)
    return ConsumerSettings(
        queue_url=rng.choice(["${aws_sqs_queue.queue.url}", "http://127.0.0.1:9/1/q"]),
        concurrency=rng.randint(1, 100),
        prefetch=rng.randint(0, MAX_PREFETCH),
        handler_timeout=_some_float(rng, 0.1, 43_000),
        visibility_timeout=rng.randint(int(read_timeout) + 1, 43_200),
        stop_timeout=_some_float(rng, 1, 120),
        receive_wait=receive_wait,
        read_timeout=read_timeout,
        sqs_max_attempts=rng.randint(1, 10),
        retry_backoff=Backoff(retry_base, rng.randint(retry_base, 43_200)),
        sqs_backoff=Backoff(min(0.5, sqs_backoff_cap), sqs_backoff_cap),
        protection_minutes=rng.randint(1, MAX_EXPIRES_MINUTES),
        protection_timeout=_some_float(rng, 0.1, 30),
        service_name=rng.choice(["", "orders", "billing-worker"]),
        fatal_grace=_some_float(rng, 0, MAX_GRACE_SECONDS),
    )


def test_consumer_settings_read_back_what_they_write() -> None:
    rng = random.Random(20)
    for _ in range(ROUND_TRIPS):
        settings = _consumer_settings(rng)
        assert ConsumerSettings.from_env(settings.to_env()) == settings, settings.to_env()


def test_consumer_defaults_read_back_from_the_stacks_variables_alone() -> None:
    settings = ConsumerSettings(queue_url="http://127.0.0.1:9/1/q")
    assert ConsumerSettings.from_env(settings.to_env()) == settings


def test_consumer_settings_write_the_stacks_variables_as_the_task_definition_has_them() -> None:
    settings = ConsumerSettings(
        queue_url="${aws_sqs_queue.work_queue_queue_1A2B.url}",
        service_name="orders",
        concurrency=8,
        prefetch=2,
        handler_timeout=60,
        visibility_timeout=90,
        stop_timeout=70,
    )
    assert settings.to_env() == {
        "QUEUE_URL": "${aws_sqs_queue.work_queue_queue_1A2B.url}",
        "WORKER_CONCURRENCY": "8",
        "WORKER_PREFETCH": "2",
        "HANDLER_TIMEOUT_SECONDS": "60",
        "VISIBILITY_TIMEOUT_SECONDS": "90",
        "SERVICE_NAME": "orders",
        "STOP_TIMEOUT_SECONDS": "70",
    }


@pytest.mark.parametrize(
    ("knob", "variable", "text"),
    [
        ({"receive_wait": 2, "read_timeout": 12}, "RECEIVE_WAIT_SECONDS", "2"),
        ({"receive_wait": 2, "read_timeout": 5.5}, "SQS_READ_TIMEOUT_SECONDS", "5.5"),
        ({"retry_backoff": Backoff(1, 4)}, "RETRY_BACKOFF_MAX_SECONDS", "4"),
        ({"sqs_backoff": Backoff(0.1, 0.2)}, "SQS_BACKOFF_MAX_SECONDS", "0.2"),
        ({"fatal_grace": 0.5}, "FATAL_ERROR_GRACE_SECONDS", "0.5"),
    ],
)
def test_a_local_knob_is_written_only_when_it_differs_from_its_default(
    knob: dict[str, object], variable: str, text: str
) -> None:
    plain = ConsumerSettings(queue_url="q").to_env()
    changed = ConsumerSettings(queue_url="q", **knob).to_env()  # type: ignore[arg-type]
    assert variable not in plain
    assert changed[variable] == text
