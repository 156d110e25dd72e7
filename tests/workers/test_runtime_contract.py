"""Each worker kind's settings class is its runtime contract: `to_env` writes what `from_env`
reads back, and every variable a settings class reads is named in one module only, so a stack,
`make local` or the simulator can only write it through the class."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from workers.runtime.backoff import Backoff
from workers.runtime.consumer_settings import MAX_PREFETCH, ConsumerSettings
from workers.runtime.fatal import MAX_GRACE_SECONDS
from workers.runtime.jobs.launcher import LaunchRequest
from workers.runtime.jobs.settings import (
    LaunchSettings,
    PlatformSettings,
    QueueType,
    RunnerSettings,
)
from workers.runtime.kinds import TaskSettings
from workers.runtime.producer_settings import ProducerSettings
from workers.runtime.protection import MAX_EXPIRES_MINUTES
from workers.runtime.scheduled_settings import ScheduledSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

REPO_ROOT = Path(__file__).resolve().parents[2]
# Where the platform's Python lives: the infrastructure, the runtime, the dev tools, the simulator.
SEARCHED = ("modules", "workers/runtime", "devtools", "simulator")
# The modules that may name a variable: the settings classes' and the constants they share.
SETTINGS_MODULES = {
    "workers/runtime/kinds/__init__.py",
    "workers/runtime/consumer_settings.py",
    "workers/runtime/producer_settings.py",
    "workers/runtime/scheduled_settings.py",
    "workers/runtime/jobs/settings.py",
    "workers/runtime/fatal.py",
}
# boto3's own variable: the dev tools set it for AWS clients that are not workers, too.
SDK_VARIABLES = {"AWS_REGION"}
# ECS's propagateTags value, not LaunchSettings' variable of the same name.
NOT_A_VARIABLE = re.compile(r"""propagate_?[tT]ags=["']TASK_DEFINITION["']""")
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


class RecordingEnv(dict[str, str]):
    """An environment that remembers every name a settings class asks it for."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.asked: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.append(key)
        return super().get(key, default)


def _task_settings() -> TaskSettings:
    return TaskSettings(
        region="eu-west-1",
        service_name="orders",
        kind="consumer",
        handler="workers.orders.handler:handle",
    )


def _platform_settings() -> PlatformSettings:
    return PlatformSettings(
        table="jobs",
        queue_url="http://127.0.0.1:9/1/jobs.fifo",
        dead_letter_queue_url="http://127.0.0.1:9/1/jobs-dlq.fifo",
        queue_type=QueueType.FIFO,
        max_parallel_jobs=5,
        max_attempts=3,
        retry_delay_seconds=60,
        status_retention_days=30,
        wait_base_seconds=1,
        wait_cap_seconds=8,
    )


def _launch_settings() -> LaunchSettings:
    return LaunchSettings(
        cluster="workers",
        task_definition="workers-crunch:3",
        subnets=("subnet-1", "subnet-2"),
        security_groups=("sg-1",),
        container="worker",
    )


def _runner_env() -> dict[str, str]:
    """The job runner's task definition variables and the ones RunTask adds per attempt."""
    return {
        **RunnerSettings.task_definition_env("jobs", 3600, 30),
        **LaunchRequest("job-1", 2).environment(),
    }


# Each settings class with an environment holding every variable it reads (knobs changed from
# their defaults, so that to_env writes them too).
CONTRACTS: dict[str, tuple[Callable[[Mapping[str, str]], object], dict[str, str]]] = {
    "TaskSettings": (TaskSettings.from_env, _task_settings().to_env()),
    "ConsumerSettings": (
        ConsumerSettings.from_env,
        ConsumerSettings(
            queue_url="http://127.0.0.1:9/1/q",
            receive_wait=5,
            read_timeout=20,
            sqs_max_attempts=4,
            retry_backoff=Backoff(2, 20),
            sqs_backoff=Backoff(0.5, 10),
            protection_minutes=20,
            protection_timeout=1,
            fatal_grace=5,
        ).to_env(),
    ),
    "ProducerSettings": (
        ProducerSettings.from_env,
        ProducerSettings("http://127.0.0.1:9/1/q", min_interval=1, max_interval=2).to_env(),
    ),
    "ScheduledSettings": (
        ScheduledSettings.from_env,
        ScheduledSettings(watched_queue="http://127.0.0.1:9/1/q").to_env(),
    ),
    "PlatformSettings": (PlatformSettings.from_env, _platform_settings().to_env()),
    "LaunchSettings": (LaunchSettings.from_env, _launch_settings().to_env()),
    "RunnerSettings": (RunnerSettings.from_env, _runner_env()),
}


def _variables_read(read: Callable[[Mapping[str, str]], object], values: dict[str, str]) -> set:
    recording = RecordingEnv(values)
    read(recording)
    return set(recording.asked)


def _all_variables() -> dict[str, list[str]]:
    """Every variable a settings class reads, with the classes that read it."""
    readers: dict[str, list[str]] = {}
    for owner, (read, values) in CONTRACTS.items():
        for name in _variables_read(read, values):
            readers.setdefault(name, []).append(owner)
    return readers


def _python_files() -> dict[str, str]:
    return {
        str(path.relative_to(REPO_ROOT)): path.read_text(encoding="utf-8")
        for folder in SEARCHED
        for path in sorted((REPO_ROOT / folder).rglob("*.py"))
    }


def _naming_modules(name: str, files: Mapping[str, str]) -> set[str]:
    quoted = re.compile(rf"""["']{re.escape(name)}["']""")
    return {path for path, text in files.items() if quoted.search(NOT_A_VARIABLE.sub("", text))}


@pytest.mark.parametrize(("owner", "contract"), CONTRACTS.items(), ids=list(CONTRACTS))
def test_each_class_reads_every_variable_it_writes(owner: str, contract: tuple) -> None:
    read, values = contract
    assert set(values) <= _variables_read(read, values), owner


def test_each_variable_is_named_in_one_settings_module_only() -> None:
    files = _python_files()
    misplaced = {}
    for name, owners in sorted(_all_variables().items()):
        if name in SDK_VARIABLES:
            continue
        modules = _naming_modules(name, files)
        if len(modules) != 1 or not modules <= SETTINGS_MODULES:
            misplaced[f"{name} ({', '.join(owners)})"] = sorted(modules)
    assert not misplaced, f"write these through the settings classes: {misplaced}"


def test_a_stack_writing_a_variable_by_hand_is_found() -> None:
    files = _python_files()
    stack = "modules/stacks/producer.py"
    files[stack] += '\nENVIRONMENT = {"QUEUE_URL": "http://127.0.0.1:9/1/q"}\n'
    assert _naming_modules("QUEUE_URL", files) == {"workers/runtime/kinds/__init__.py", stack}


@pytest.mark.parametrize(
    ("read", "settings"),
    [
        (TaskSettings.from_env, _task_settings()),
        (TaskSettings.from_env, TaskSettings(region="", service_name="", kind="job", handler="")),
        (ProducerSettings.from_env, ProducerSettings("q")),
        (ProducerSettings.from_env, ProducerSettings("q", min_interval=0.25, max_interval=0.25)),
        (ProducerSettings.from_env, ProducerSettings("q", min_interval=30, max_interval=86_400)),
        (ScheduledSettings.from_env, ScheduledSettings()),
        (ScheduledSettings.from_env, ScheduledSettings(watched_queue="${data.x.outputs.url}")),
        (PlatformSettings.from_env, _platform_settings()),
        (LaunchSettings.from_env, _launch_settings()),
    ],
)
def test_settings_read_back_what_they_write(
    read: Callable[[Mapping[str, str]], Any], settings: Any
) -> None:
    assert read(settings.to_env()) == settings


def test_the_job_runner_reads_back_its_task_definition_and_its_attempt() -> None:
    assert RunnerSettings.from_env(_runner_env()) == RunnerSettings(
        table="jobs", job_id="job-1", attempt=2, timeout_seconds=3600, status_retention_days=30
    )


def test_the_settings_the_synth_imports_load_no_aws_sdk() -> None:
    # modules/ writes task definitions through these classes, so the synth imports them; the
    # cdktn engine's Python has no botocore, and loading it would slow every synth.
    probe = (
        "import sys, modules.config, modules.app\n"
        "sdk = ('boto3', 'botocore')\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in sdk)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"importing the synth's modules loads the AWS SDK: {loaded}"
