"""What a synth says (modules/synth_report.py): one line per stack with its resources and whether
it is new, changed, unchanged or removed since the last synth, then the time taken; and, on a
machine's first synth, that jsii's package cache is being filled."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from modules import synth_report
from modules.synth_report import StackChange, report_lines, resource_count, stack_changes

if TYPE_CHECKING:
    from pathlib import Path


def write_stack(stacks: Path, name: str, resources: dict[str, dict[str, object]]) -> None:
    folder = stacks / name
    folder.mkdir(parents=True, exist_ok=True)
    document = {"resource": resources, "data": {"aws_partition": {"partition": {}}}}
    (folder / "cdk.tf.json").write_text(json.dumps(document))


def test_each_stack_is_new_changed_unchanged_or_removed(tmp_path: Path) -> None:
    # Given the last synth's stacks and this one's
    before, after = tmp_path / "before", tmp_path / "after"
    queue = {"aws_sqs_queue": {"queue": {"name": "q"}, "dlq": {"name": "q-dlq"}}}
    write_stack(before, "kept", queue)
    write_stack(after, "kept", queue)
    write_stack(before, "edited", queue)
    write_stack(after, "edited", {"aws_sqs_queue": {"queue": {"name": "renamed"}}})
    write_stack(before, "gone", queue)
    write_stack(after, "added", {})

    # When comparing them
    changes = stack_changes(after, before)

    # Then every stack of both says what happened to it; data sources are not resources
    assert changes == [
        StackChange("added", 0, "new"),
        StackChange("edited", 1, "changed"),
        StackChange("kept", 2, "unchanged"),
        StackChange("gone", 0, "removed"),
    ]


def test_a_first_synth_has_nothing_to_compare_with(tmp_path: Path) -> None:
    write_stack(tmp_path / "after", "cluster", {"aws_vpc": {"vpc": {}}})

    assert stack_changes(tmp_path / "after", tmp_path / "never-written") == [
        StackChange("cluster", 1, "new")
    ]


def test_the_report_is_a_line_per_stack_then_the_summary() -> None:
    changes = [
        StackChange("cluster", 25, "unchanged"),
        StackChange("thumbnails", 21, "new"),
        StackChange("old", 0, "removed"),
    ]

    lines = report_lines(changes, "cdktf.out/stacks", 3.04)

    assert lines == [
        "cluster       25 resources  unchanged",
        "thumbnails    21 resources  new",
        "old                         removed",
        "wrote 2 stacks to cdktf.out/stacks in 3.0 s (1 new, 1 unchanged, 1 removed)",
    ]


def test_resources_are_counted_across_types() -> None:
    content = json.dumps({"resource": {"a": {"x": {}, "y": {}}, "b": {"z": {}}}}).encode()

    assert resource_count(content) == 3


@pytest.fixture
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synth_report, "_first_fill", [])
    monkeypatch.delenv(synth_report.CACHE_SWITCH_VARIABLE, raising=False)


@pytest.mark.usefixtures("fresh_state")
def test_an_empty_jsii_cache_is_announced_once_the_config_is_valid(tmp_path: Path) -> None:
    # Given no AWS provider in the cache when the synth starts
    synth_report.note_jsii_cache(tmp_path / "cache")
    out = io.StringIO()

    # When the synth announces it
    synth_report.announce_jsii_cache(out)

    # Then it says where and what it costs
    [line] = out.getvalue().splitlines()
    assert line.startswith(f"first synth on this machine: filling the jsii cache in {tmp_path}")
    assert synth_report.FIRST_FILL in line


@pytest.mark.usefixtures("fresh_state")
def test_a_filled_or_disabled_cache_is_not_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filled = tmp_path / "cache"
    (filled / "@cdktf" / "provider-aws" / "0123abcd").mkdir(parents=True)
    out = io.StringIO()

    synth_report.note_jsii_cache(filled)
    monkeypatch.setenv(synth_report.CACHE_SWITCH_VARIABLE, "disabled")
    synth_report.note_jsii_cache(tmp_path / "empty")
    synth_report.announce_jsii_cache(out)

    assert out.getvalue() == ""


def test_the_cache_is_where_jsii_puts_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(synth_report.CACHE_ROOT_VARIABLE, str(tmp_path))
    assert synth_report.jsii_cache_root() == tmp_path

    monkeypatch.delenv(synth_report.CACHE_ROOT_VARIABLE)
    monkeypatch.setattr(synth_report.sys, "platform", "linux")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert synth_report.jsii_cache_root() == tmp_path / ".cache" / "aws" / "jsii" / "package-cache"


@pytest.mark.slow
def test_main_py_reports_every_stack_new_then_unchanged(tmp_path: Path) -> None:
    from tests.conftest import REPO_ROOT
    from tests.infra.synth_output import repository_stack_names

    outdir = tmp_path / "cdktf.out"

    def synth() -> list[str]:
        completed = subprocess.run(
            [sys.executable, "main.py", "--outdir", str(outdir)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return completed.stdout.splitlines()

    first, second = synth(), synth()

    stacks = sorted(repository_stack_names())
    assert [line.split()[0] for line in first[:-1]] == stacks
    assert all(line.endswith(" new") for line in first[:-1])
    assert all(line.endswith(" unchanged") for line in second[:-1])
    assert re.fullmatch(
        rf"wrote {len(stacks)} stacks to {outdir}/stacks in \d+\.\d s \({len(stacks)} unchanged\)",
        second[-1],
    )
