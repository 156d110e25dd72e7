"""`make changed` on a throwaway git repository: a copy of this repository's committed files.

The base is synthesized once for the module, through a temporary worktree of the copy's commit
(as `make changed` does); each test edits the copy's working tree, synthesizes it, compares, and
the copy is reset afterwards. Synths run `main.py` in a subprocess, as `make changed` does.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from pipeline.changed import (
    Change,
    ChangedStack,
    Snapshot,
    compare,
    snapshot_of_ref,
    snapshot_of_tree,
)
from pipeline.errors import PipelineError
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.slow

GIT_TIMEOUT = 60
CLI_TIMEOUT = 600


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=GIT_TIMEOUT
    ).stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding this repository's committed files in one commit."""
    repo = tmp_path_factory.mktemp("changed") / "project"
    repo.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
        timeout=GIT_TIMEOUT,
    ).stdout
    subprocess.run(["tar", "-x"], cwd=repo, input=archive, check=True, timeout=GIT_TIMEOUT)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "--all")
    git(repo, "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-qm", "base")
    return repo


@pytest.fixture(scope="module")
def base(project: Path) -> Snapshot:
    return snapshot_of_ref(project, "HEAD")


@pytest.fixture
def repo(project: Path) -> Iterator[Path]:
    """The project, to edit; put back as committed afterwards."""
    yield project
    git(project, "checkout", "--quiet", "--", ".")
    git(project, "clean", "-fdxq", "--exclude=cdktf.out")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} no longer holds {old!r}: update this test"
    path.write_text(text.replace(old, new, 1))


def changed(changes: list[ChangedStack]) -> list[str]:
    return [change.stack for change in changes if not change.provisional]


def provisional(changes: list[ChangedStack]) -> list[str]:
    return [change.stack for change in changes if change.provisional]


def readers(base: Snapshot, stack: str) -> list[str]:
    """Stacks reading `stack`'s outputs, directly or not, in apply order (services get added)."""
    downstream = base.graph.downstream({stack})
    return [name for name in base.graph.apply_order() if name in downstream]


def test_no_change_lists_nothing_through_the_cli(repo: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "--repo",
            str(repo),
            "changed",
            "--base",
            "HEAD",
            "--json",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == []
    assert git(repo, "worktree", "list").count("\n") == 1, "the base's worktree was left behind"


def test_a_producer_code_change_changes_only_the_producer(repo: Path, base: Snapshot) -> None:
    with (repo / "workers" / "producer" / "handler.py").open("a") as source:
        source.write("\n# a change to the producer's code\n")

    changes = compare(base, snapshot_of_tree(repo))

    assert [(c.stack, c.change) for c in changes] == [("producer", Change.MODIFIED)]


def test_a_consumer_scaling_change_changes_the_consumer(repo: Path, base: Snapshot) -> None:
    edit(repo / "workers" / "consumer" / "service.yaml", "max_tasks: 10", "max_tasks: 12")

    changes = compare(base, snapshot_of_tree(repo))

    assert changed(changes) == ["consumer"]
    # The producer reads the consumer's queue from its state: planned again after it, provisionally.
    assert "producer" in provisional(changes)
    assert provisional(changes) == readers(base, "consumer")


def test_a_project_tag_change_changes_every_stack(repo: Path, base: Snapshot) -> None:
    edit(repo / "platform.yaml", "owner: platform-team", "owner: another-team")

    changes = compare(base, snapshot_of_tree(repo))

    assert changed(changes) == base.graph.apply_order()
    assert changed(changes)[:2] == ["cluster", "logs"]
    assert provisional(changes) == []


def test_a_comment_only_change_in_modules_changes_nothing(repo: Path, base: Snapshot) -> None:
    edit(
        repo / "modules" / "naming.py",
        "def resource_name(",
        "# A comment changes no synthesized byte.\ndef resource_name(",
    )

    assert compare(base, snapshot_of_tree(repo)) == []


def test_a_cluster_output_change_makes_its_readers_provisional(repo: Path, base: Snapshot) -> None:
    cluster = repo / "modules" / "stacks" / "cluster.py"
    # The description (first string) of the cluster's first output.
    match = re.search(r'self\.output\([^"]*"([^"]+)"', cluster.read_text())
    assert match, f"{cluster} declares no output with a description: update this test"
    edit(cluster, f'"{match.group(1)}"', f'"{match.group(1)} (edited)"')

    changes = compare(base, snapshot_of_tree(repo))

    assert changed(changes) == ["cluster"]
    assert {"consumer", "producer"} <= set(provisional(changes))
    assert provisional(changes) == readers(base, "cluster")
    assert "logs" not in provisional(changes)  # reads nothing of the cluster's
    assert [change.order for change in changes] == list(range(1, len(changes) + 1))


def test_a_synth_that_fails_is_an_error_not_everything(repo: Path) -> None:
    edit(repo / "platform.yaml", "project: workers", "project: Not A Valid Name")

    with pytest.raises(PipelineError, match=r"synth of working tree failed \(exit \d+\)") as error:
        snapshot_of_tree(repo)

    assert "project" in error.value.detail
