"""CI workflows: actionlint clean, actions pinned by commit, least privilege, ordered applies."""

from __future__ import annotations

import re
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.helpers.toolchains import actionlint

if TYPE_CHECKING:
    from pathlib import Path

GITHUB = REPO_ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
ACTIONLINT_TIMEOUT = 120
# `owner/repo@<40 hex>  # v1.2.3`: a tag can be moved, a commit cannot; the comment says which
# release it is, for people and for update tools.
PINNED = re.compile(r"^\s*-?\s*uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*\s*$")


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in document:
        document["on"] = document.pop(True)
    return document


def workflow(name: str) -> dict[str, Any]:
    return load(GITHUB / "workflows" / name)


def test_actionlint_finds_nothing() -> None:
    completed = subprocess.run(
        [actionlint(), "-no-color", *(str(path) for path in WORKFLOWS)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=ACTIONLINT_TIMEOUT,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda path: path.name)
def test_every_third_party_action_is_pinned_by_commit(path: Path) -> None:
    uses = [line for line in path.read_text().splitlines() if re.match(r"^\s*-?\s*uses:", line)]
    unpinned = [line.strip() for line in uses if "./" not in line and not PINNED.match(line)]

    assert uses
    assert unpinned == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_no_default_permissions_and_every_job_says_what_it_needs(path: Path) -> None:
    document = load(path)

    assert document["permissions"] == {}
    assert [name for name, job in document["jobs"].items() if "permissions" not in job] == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_the_json_plan_is_never_printed(path: Path) -> None:
    # pipeline plan reads `terraform show -json` itself; a workflow showing it would leak
    # sensitive values into the log.
    assert "show -json" not in path.read_text()


def test_pull_request_detection_has_no_cloud_credentials() -> None:
    detect = workflow("pull-request.yml")["jobs"]["detect"]

    assert detect["permissions"] == {"contents": "read"}
    assert not any("configure-aws-credentials" in step.get("uses", "") for step in detect["steps"])


def test_pull_request_plans_each_changed_stack_with_its_own_read_only_role() -> None:
    plan = workflow("pull-request.yml")["jobs"]["plan"]
    credentials = next(s for s in plan["steps"] if "configure-aws-credentials" in s.get("uses", ""))

    assert plan["strategy"]["matrix"] == "${{ fromJSON(needs.detect.outputs.matrix) }}"
    assert credentials["with"]["role-to-assume"] == "${{ vars[matrix.plan_role_variable] }}"
    assert plan["permissions"] == {"contents": "read", "id-token": "write"}


def test_pull_request_runs_the_other_gates() -> None:
    jobs = workflow("pull-request.yml")["jobs"]

    assert {"comment", "checkov", "hadolint", "test"} <= jobs.keys()
    assert any(step.get("run") == "make test" for step in jobs["test"]["steps"])


def test_applies_run_one_stack_at_a_time_in_order_and_stop_at_the_first_failure() -> None:
    apply = workflow("apply.yml")["jobs"]["apply"]

    assert apply["strategy"]["max-parallel"] == 1
    assert apply["strategy"]["fail-fast"] is True
    assert apply["concurrency"] == {"group": "tf-${{ matrix.stack }}", "cancel-in-progress": False}
    assert apply["uses"] == "./.github/workflows/apply-stack.yml"


def test_each_apply_is_behind_its_stack_environment_after_the_reviewed_plan_check() -> None:
    jobs = workflow("apply-stack.yml")["jobs"]

    assert jobs["apply"]["environment"] == "${{ inputs.stack }}"
    assert jobs["approve"]["environment"] == "${{ inputs.stack }}-approval"
    assert jobs["approve"]["if"] == "needs.verify.outputs.matches != 'true'"
    assert jobs["apply"]["needs"] == ["verify", "approve"]
    runs = [step.get("run", "") for step in jobs["apply"]["steps"]]
    compare = next(i for i, run in enumerate(runs) if "pipeline compare" in run)
    applied = next(i for i, run in enumerate(runs) if " apply " in run)
    assert compare < applied
