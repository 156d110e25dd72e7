"""An edit changes the stacks it concerns and no other: a plan shows only what a change touches.

Each test synthesizes a copy of the repository, edits one thing, synthesizes again, and compares
the two outputs file by file (`cdktf.out/stacks/**` and the manifest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import yaml

from modules.config import ServiceBase, load_config
from tests.infra.synth_output import output_files, synth_into

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def changed_files(root: Path, edit: Callable[[Path], None], workdir: Path) -> list[str]:
    """Output files that differ between a synth of `root` before and after `edit(root)`."""
    before = output_files(synth_into(load_config(root), workdir / "before"))
    edit(root)
    after = output_files(synth_into(load_config(root), workdir / "after"))
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


def append_comment(relative: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        with (root / relative).open("a") as file:
            file.write("\n# an edit that changes the file's bytes and nothing else\n")

    return edit


def set_consumer_max_tasks(value: int) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        spec_path = root / "workers" / "consumer" / "service.yaml"
        spec = yaml.safe_load(spec_path.read_text())
        assert spec["scaling"]["max_tasks"] != value, "the edit must change the value"
        spec["scaling"]["max_tasks"] = value
        spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))

    return edit


def container_services(root: Path) -> list[str]:
    """Every service with an image (an ingest API has none), sorted."""
    return sorted(
        service.name for service in load_config(root).services if isinstance(service, ServiceBase)
    )


@pytest.mark.parametrize("service", ["consumer", "producer", "reporter", "crunch"])
def test_editing_one_services_handler_changes_only_that_services_stack(
    service: str, repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    root = repo_copy()

    changed = changed_files(root, append_comment(f"workers/{service}/handler.py"), tmp_path)

    assert changed == [f"stacks/{service}/cdk.tf.json"]


def test_editing_a_services_handler_test_changes_no_stack(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    root = repo_copy()

    changed = changed_files(root, append_comment("workers/consumer/test_handler.py"), tmp_path)

    assert changed == []


def test_editing_the_shared_image_definition_changes_every_service_stack_and_no_other(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    root = repo_copy()

    changed = changed_files(root, append_comment("workers/Dockerfile"), tmp_path)

    # every image is rebuilt from it; the job family's Lambda code does not contain it
    assert changed == [f"stacks/{service}/cdk.tf.json" for service in container_services(root)]


def test_editing_consumer_scaling_changes_only_the_consumer_stack(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    root = repo_copy()

    changed = changed_files(root, set_consumer_max_tasks(7), tmp_path)

    assert changed == ["stacks/consumer/cdk.tf.json"]


def test_editing_the_shared_runtime_changes_every_service_stack_and_no_platform_stack(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    root = repo_copy()
    services = container_services(root)

    changed = changed_files(root, append_comment("workers/runtime/__init__.py"), tmp_path)

    stacks = [name for name in changed if name.endswith("/cdk.tf.json")]
    assert stacks == [f"stacks/{service}/cdk.tf.json" for service in services]
    # A job family's Lambda zip holds the runtime too: its asset is replaced, in its own stack.
    assets = [name for name in changed if not name.endswith("/cdk.tf.json")]
    assert all(name.split("/")[1] in services and "/assets/" in name for name in assets)
