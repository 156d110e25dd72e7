"""Fingerprints: cdktf metadata and key order do not count; output and image files do."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from pipeline.fingerprint import image_services, stack_fingerprint, strip_metadata
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from pathlib import Path

BUILD = "workers/build_and_push.sh consumer ${aws_ecr_repository.r.repository_url} abc eu-west-1"


def stack(retention: int = 30, path: str = "logs/log_group") -> dict:
    return {
        "//": {"metadata": {"stackName": "logs", "version": "0.21.0"}},
        "resource": {
            "aws_cloudwatch_log_group": {
                "group": {
                    "//": {"metadata": {"path": path, "uniqueId": "group"}},
                    "name": "/workers/consumer",
                    "retention_in_days": retention,
                }
            },
            "terraform_data": {
                "build": {"provisioner": [{"local-exec": {"command": BUILD}}]},
            },
        },
    }


def workers_copy(tmp_path: Path) -> Path:
    target = tmp_path / "workers"
    shutil.copytree(
        REPO_ROOT / "workers", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return target


def test_metadata_is_removed_at_every_depth() -> None:
    stripped = strip_metadata(stack())

    assert "//" not in stripped
    assert "//" not in stripped["resource"]["aws_cloudwatch_log_group"]["group"]


def test_only_metadata_or_key_order_changed_keeps_the_fingerprint(tmp_path: Path) -> None:
    workers = workers_copy(tmp_path)
    reordered = dict(reversed(list(stack(path="logs/moved/log_group").items())))

    assert stack_fingerprint(reordered, workers) == stack_fingerprint(stack(), workers)


def test_a_changed_value_changes_the_fingerprint(tmp_path: Path) -> None:
    workers = workers_copy(tmp_path)

    assert stack_fingerprint(stack(retention=60), workers) != stack_fingerprint(stack(), workers)


def test_the_built_image_is_read_from_the_build_command() -> None:
    assert image_services(stack()) == ["consumer"]


def test_an_edit_to_a_file_of_the_image_changes_the_fingerprint(tmp_path: Path) -> None:
    workers = workers_copy(tmp_path)
    before = stack_fingerprint(stack(), workers)

    (workers / "consumer" / "handler.py").write_text("# edited\n", encoding="utf-8")

    assert stack_fingerprint(stack(), workers) != before


def test_files_outside_the_image_do_not_change_the_fingerprint(tmp_path: Path) -> None:
    workers = workers_copy(tmp_path)
    before = stack_fingerprint(stack(), workers)

    (workers / "producer" / "handler.py").write_text("# another image\n", encoding="utf-8")
    (workers / "consumer" / "service.yaml").write_text("# read at synth\n", encoding="utf-8")

    assert stack_fingerprint(stack(), workers) == before
