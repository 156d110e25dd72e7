"""Service images: ECR repository settings, the content-hash tag, and the build at apply time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import pytest

from modules.cdk import DataResource, aws
from modules.constructs.container_image import image_files, image_inputs, image_tag
from tests.conftest import REPO_ROOT
from tests.infra.stack_json import (
    REPOSITORY,
    TASK_DEFINITION,
    only_resource,
    reference,
    resources,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.infra.stack_json import Stack

LIFECYCLE = aws.ecr_lifecycle_policy.EcrLifecyclePolicy.TF_RESOURCE_TYPE
BUILD = DataResource.TF_RESOURCE_TYPE
SERVICES = ("consumer", "producer")


def repository_url(stack: Stack) -> str:
    return reference(REPOSITORY, next(iter(resources(stack, REPOSITORY))), "repository_url")


@pytest.mark.parametrize("service", SERVICES)
def test_repository_scans_keeps_tags_immutable_encrypts_and_goes_with_its_images(
    stacks: dict[str, Stack], service: str
) -> None:
    # Given a service stack
    # When reading its ECR repository
    repository = only_resource(stacks[service], REPOSITORY)

    # Then it is <project>/<service>, scanned on push, immutable, encrypted, and a destroy
    # deletes it with its images (ECR refuses to delete a repository that holds any)
    assert {key: value for key, value in repository.items() if key != "//"} == {
        "name": f"workers/{service}",
        "image_tag_mutability": "IMMUTABLE",
        "force_delete": True,
        "image_scanning_configuration": {"scan_on_push": True},
        "encryption_configuration": [{"encryption_type": "AES256"}],
    }


@pytest.mark.parametrize("service", SERVICES)
def test_lifecycle_expires_untagged_images_after_a_day_and_keeps_the_newest_20(
    stacks: dict[str, Stack], service: str
) -> None:
    # Given a service stack
    stack = stacks[service]

    # When reading its repository's lifecycle policy
    lifecycle = only_resource(stack, LIFECYCLE)

    # Then untagged images go first, and the "any" rule (evaluated last) keeps 20
    assert lifecycle["repository"] == reference(
        REPOSITORY, next(iter(resources(stack, REPOSITORY))), "name"
    )
    rules = json.loads(lifecycle["policy"])["rules"]
    assert [(rule["rulePriority"], rule["selection"], rule["action"]) for rule in rules] == [
        (
            1,
            {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 1,
            },
            {"type": "expire"},
        ),
        (
            2,
            {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 20},
            {"type": "expire"},
        ),
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_build_runs_the_build_script_from_the_repository_root_when_the_tag_changes(
    stacks: dict[str, Stack], service: str
) -> None:
    # Given a service stack and the content hash of its worker's files
    stack = stacks[service]
    tag = image_tag(REPO_ROOT / "workers", service)

    # When reading its build resource
    build = only_resource(stack, BUILD)

    # Then a new tag or repository replaces it, and its provisioner runs the build script with
    # (service, repository URL, tag, region) from the repository root, a relative path
    url = repository_url(stack)
    assert build["triggers_replace"] == {"repository_url": url, "tag": tag}
    assert build["provisioner"] == [
        {
            "local-exec": {
                "command": f"workers/build_and_push.sh {service} {url} {tag} eu-west-1",
                "working_dir": "../../..",
            }
        }
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_task_definition_runs_the_built_tag_after_the_build(
    stacks: dict[str, Stack], service: str
) -> None:
    # Given a service stack
    stack = stacks[service]

    # When reading its task definition
    task = only_resource(stack, TASK_DEFINITION)

    # Then every container runs <repository url>:<content hash>, and the task definition is
    # created only once the build pushed that tag
    images = {definition["image"] for definition in json.loads(task["container_definitions"])}
    assert images == {f"{repository_url(stack)}:{image_tag(REPO_ROOT / 'workers', service)}"}
    assert task["depends_on"] == [f"{BUILD}.{next(iter(resources(stack, BUILD)))}"]


# --- the content hash ---------------------------------------------------------------------------


@pytest.fixture
def workers(repo_copy: Callable[[], Path]) -> Path:
    """A modifiable copy of workers/, with bytecode and caches in it as a developer would have."""
    workers_dir = repo_copy() / "workers"
    for folder in ("runtime", "consumer"):
        cache = workers_dir / folder / "__pycache__"
        cache.mkdir(exist_ok=True)
        (cache / "module.cpython-311.pyc").write_bytes(b"bytecode")
    (workers_dir / "consumer" / "stray.pyc").write_bytes(b"bytecode")
    return workers_dir


def test_image_files_are_the_shared_runtime_and_the_services_folder_only(workers: Path) -> None:
    # Given workers/ with two services, caches, bytecode, tests and service.yaml files
    # When listing the consumer image's files
    files = image_files(workers, "consumer")

    # Then they are workers/__init__.py, runtime/** and consumer/**, without service.yaml,
    # tests, __pycache__ and *.pyc: what workers/.dockerignore lets COPY take
    expected = sorted(
        PurePosixPath(path.relative_to(workers).as_posix())
        for top in ("runtime", "consumer")
        for path in (workers / top).rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix != ".pyc"
        and path.name != "service.yaml"
        and not path.name.startswith("test_")
    )
    assert files == sorted([PurePosixPath("__init__.py"), *expected])
    assert PurePosixPath("consumer/handler.py") in files
    assert PurePosixPath("consumer/test_handler.py") not in files
    assert not any(path.parts[0] == "producer" for path in files)


def test_the_tag_covers_the_shared_dockerfile_unless_the_service_has_its_own(
    workers: Path,
) -> None:
    # Given the consumer built from the shared Dockerfile
    assert set(image_inputs(workers, "consumer")) == {
        *image_files(workers, "consumer"),
        PurePosixPath("Dockerfile"),
    }

    # When it gets a Dockerfile of its own
    (workers / "consumer" / "Dockerfile").write_text("FROM python:3.11.14-slim-bookworm\n")

    # Then its tag covers that one, among its files, and no longer the shared one
    inputs = image_inputs(workers, "consumer")
    assert PurePosixPath("consumer/Dockerfile") in inputs
    assert PurePosixPath("Dockerfile") not in inputs


def test_tag_is_16_hex_digits_and_the_same_for_the_same_files(
    workers: Path, tmp_path: Path
) -> None:
    # Given a copy of workers/ and a copy of that copy elsewhere
    elsewhere = tmp_path / "elsewhere" / "workers"
    shutil.copytree(workers, elsewhere)

    # When hashing the consumer's files in both
    tag, tag_elsewhere = image_tag(workers, "consumer"), image_tag(elsewhere, "consumer")

    # Then the tag depends on content only, not on where the repository is
    assert tag == tag_elsewhere
    assert len(tag) == 16
    assert int(tag, 16) >= 0


@pytest.mark.parametrize(
    ("edit", "consumer_changes", "producer_changes"),
    [
        ("consumer/handler.py", True, False),
        ("Dockerfile", True, True),
        ("runtime/__init__.py", True, True),
        ("__init__.py", True, True),
        ("producer/handler.py", False, True),
        ("consumer/test_handler.py", False, False),
        ("consumer/service.yaml", False, False),
        ("consumer/__pycache__/module.cpython-311.pyc", False, False),
    ],
)
def test_tag_changes_exactly_when_a_file_of_the_image_changes(
    workers: Path, edit: str, consumer_changes: bool, producer_changes: bool
) -> None:
    # Given the tags of both images
    before = {service: image_tag(workers, service) for service in ("consumer", "producer")}

    # When one file under workers/ changes
    path = workers / edit
    path.write_bytes(path.read_bytes() + b"\n# edited\n")

    # Then only the images that contain that file get a new tag
    after = {service: image_tag(workers, service) for service in ("consumer", "producer")}
    assert (after["consumer"] != before["consumer"], after["producer"] != before["producer"]) == (
        consumer_changes,
        producer_changes,
    )


def test_tag_changes_when_a_file_is_added_or_renamed(workers: Path) -> None:
    # Given the consumer's tag
    before = image_tag(workers, "consumer")

    # When a file is added, then renamed with the same content
    (workers / "consumer" / "helper.py").write_text("HELPER = 1\n")
    added = image_tag(workers, "consumer")
    (workers / "consumer" / "helper.py").rename(workers / "consumer" / "helpers.py")
    renamed = image_tag(workers, "consumer")

    # Then each gives a new tag
    assert len({before, added, renamed}) == 3
