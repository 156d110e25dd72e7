"""The AWS limits the loader checks hold for what the stacks really generate.

The loader cannot see the stacks (it runs before cdktf is imported), so it keeps its own table of
the longest names and of what the platform adds to a task definition. These tests synthesize a
configuration at the edge (names of the longest allowed length) and check the table against it.
"""

from __future__ import annotations

import json
import re
import shutil
from typing import TYPE_CHECKING, Any

import pytest

from modules.config import ConfigError, ProjectConfig, load_config
from modules.config.limits import (
    NAME_LIMITS,
    PLATFORM_BYTES_PER_CONTAINER,
    PLATFORM_TAG_KEYS,
    RESOURCE_TAG_KEYS,
    NameLimit,
    _json_bytes,
    container_bytes,
    name_problems,
)
from modules.naming import tags
from tests.config.support import set_key
from tests.conftest import REPO_ROOT
from tests.infra.conftest import synth_stacks

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from modules.config import PlatformConfig
    from tests.infra.conftest import Stack

LONGEST_PROJECT = "p" * 20
# Each example service renamed to a name of the longest allowed length, its links too.
RENAMED = {
    "consumer": "consumer-" + "c" * 11,
    "producer": "producer-" + "p" * 11,
    "reporter": "reporter-" + "r" * 11,
    "ingest": "ingest-" + "i" * 13,
    "crunch": "crunch-" + "j" * 13,
}
# What a Terraform reference in a container definition becomes at apply time, at most (a queue
# URL or an image URI is about 150 characters).
REFERENCE = re.compile(r"\$\{[^}]*\}")
APPLIED_REFERENCE = "r" * 200


@pytest.fixture(scope="module")
def longest_names(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[PlatformConfig, dict[str, Stack]]:
    """The example configuration with the longest project and service names, and a FIFO job
    queue (whose names end in .fifo), synthesized."""
    root = tmp_path_factory.mktemp("longest") / "repo"
    shutil.copytree(
        REPO_ROOT / "workers", root / "workers", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy2(REPO_ROOT / "platform.yaml", root / "platform.yaml")
    set_key("platform.yaml", "project", LONGEST_PROJECT)(root)
    set_key("workers/crunch/service.yaml", "queue.type", "fifo")(root)
    for old, new in RENAMED.items():
        (root / "workers" / old).rename(root / "workers" / new)
    for spec in (root / "workers").glob("*/service.yaml"):
        text = spec.read_text()
        for field in ("sends_to", "feeds", "watches"):
            text = text.replace(f"{field}: consumer", f"{field}: {RENAMED['consumer']}")
        spec.write_text(text)
    config = load_config(root)
    return config, synth_stacks(config, tmp_path_factory.mktemp("synth") / "cdktf.out")


def named_resources(stacks: dict[str, Stack]) -> Iterator[tuple[str, str, str]]:
    """(table key, stack, name) of every resource whose name the table bounds."""
    for stack_name, stack in stacks.items():
        for resource_type, resources in stack.get("resource", {}).items():
            for body in resources.values():
                for attribute, value in body.items():
                    key = f"{resource_type}.{attribute}"
                    if key in NAME_LIMITS and isinstance(value, str) and "${" not in value:
                        yield key, stack_name, value


@pytest.mark.slow
def test_every_generated_name_fits_aws_and_the_loaders_table(
    longest_names: tuple[PlatformConfig, dict[str, Stack]],
) -> None:
    config, stacks = longest_names
    services = [service.name for service in config.services]
    too_long = []
    for key, stack, name in named_resources(stacks):
        limit = NAME_LIMITS[key].limit
        if stack in services:  # the loader's table bounds what a service's stack derives
            table = NAME_LIMITS[key].longest(LONGEST_PROJECT, stack)
            limit = min(limit, len(table))
        if len(name) > limit:
            too_long.append(f"{stack}: {key} {name!r} ({len(name)} > {limit})")

    assert too_long == []
    assert {key for key, _, _ in named_resources(stacks)} >= {
        "aws_sqs_queue.name",
        "aws_iam_role.name",
        "aws_lambda_function.function_name",
    }


def container_definitions(stack: Stack) -> Iterator[list[dict[str, Any]]]:
    for body in stack.get("resource", {}).get("aws_ecs_task_definition", {}).values():
        applied = REFERENCE.sub(APPLIED_REFERENCE, body["container_definitions"])
        yield json.loads(applied)


@pytest.mark.slow
def test_what_the_platform_adds_to_a_container_definition_fits_its_reserve(
    longest_names: tuple[PlatformConfig, dict[str, Stack]],
) -> None:
    config, stacks = longest_names
    measured = 0
    for service in config.services:
        for definitions in container_definitions(stacks[service.name]):
            containers = getattr(service, "containers", [])
            own = sum(container_bytes(container) for container in containers)
            platform = _json_bytes(definitions) - own
            measured += 1
            assert platform <= PLATFORM_BYTES_PER_CONTAINER * len(definitions), service.name

    assert measured >= 3  # consumer, producer, reporter and the job at least


def test_the_platforms_tag_keys_are_the_ones_naming_adds() -> None:
    project = ProjectConfig(project="workers", region="eu-west-1", tags={"owner": "me"})

    assert set(tags(project, "consumer")) - set(project.tags) == set(PLATFORM_TAG_KEYS)


@pytest.mark.slow
def test_a_resource_adds_no_tag_of_its_own_but_name(
    longest_names: tuple[PlatformConfig, dict[str, Stack]],
) -> None:
    _, stacks = longest_names
    own_keys = {
        key
        for stack in stacks.values()
        for resources in stack.get("resource", {}).values()
        for body in resources.values()
        for key in (body.get("tags") or {})
    }

    assert own_keys <= set(RESOURCE_TAG_KEYS)


def test_a_project_name_that_makes_names_too_long_is_refused() -> None:
    # The name patterns (at most 20 characters each) keep every name within AWS's limits
    # today; the check guards a longer pattern or a longer suffix.
    project, service = "p" * 40, "s" * 20

    problems = name_problems(project, service)

    assert problems == [
        f"with project '{project}', its {what} would be {length} characters ('{name}'); AWS "
        f"allows at most 64: shorten the folder name or the project"
        for what, length, name in (
            ("IAM role name", 76, f"{project}-{service}-task-execution"),
            ("Lambda function name", 72, f"{project}-{service}-dispatcher"),
            ("EventBridge rule name", 74, f"{project}-{service}-task-stopped"),
        )
    ]
    assert name_problems(LONGEST_PROJECT, service) == []


def test_the_loader_names_the_file_of_a_service_whose_names_are_too_long(
    repo_copy: Callable[[], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = repo_copy()
    # A stricter table stands in for a longer name pattern.
    strict = NameLimit("IAM role name", 20, lambda project, service: f"{project}-{service}-task")
    monkeypatch.setitem(NAME_LIMITS, "aws_iam_role.name", strict)

    with pytest.raises(ConfigError) as raised:
        load_config(root)

    assert (
        "workers/consumer/service.yaml: name: with project 'workers', its IAM role name would "
        "be 21 characters ('workers-consumer-task'); AWS allows at most 20: shorten the folder "
        "name or the project"
    ) in raised.value.problems
