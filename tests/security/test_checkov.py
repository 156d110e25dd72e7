"""checkov over every synthesized stack: no failed check beyond the reasoned skips in .checkov.yaml.

checkov runs once per session (about 3 to 10 s), from its own venv (pipeline/checkov.py), which
`make test` installs beforehand: tests themselves never reach the package index.
"""

from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING

import pytest
import yaml

from modules.config import load_config
from pipeline.checkov import (
    CONFIG_FILE,
    RESOURCE_SKIPS_FILE,
    CheckovReport,
    Finding,
    ResourceSkip,
    apply_resource_skips,
    installed_checkov,
    load_resource_skips,
    scan,
)
from pipeline.errors import PipelineError
from tests.conftest import REPO_ROOT
from tests.infra.synth_output import repository_stack_names, synth_into

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow

CONFIG = REPO_ROOT / CONFIG_FILE
RESOURCE_SKIPS = REPO_ROOT / RESOURCE_SKIPS_FILE
# Checks that flag "*" resources and unscoped write or permission actions in IAM documents: they
# must keep running on every policy document but the KMS key policy.
IAM_WILDCARD_CHECKS = {"CKV_AWS_109", "CKV_AWS_111", "CKV_AWS_356"}
_SKIP_LINE = re.compile(r"^\s*-\s*(?P<check>CKV\w+)\s*(#\s*(?P<reason>.*))?$")


@pytest.fixture(scope="session")
def report(security_outdir: Path) -> CheckovReport:
    checkov = installed_checkov(REPO_ROOT / "pyproject.toml")
    if checkov is None:
        pytest.fail("checkov is not installed in its venv: run `make test`, which installs it")
    return scan(checkov, security_outdir / "stacks", CONFIG)


def test_every_skip_says_why() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    lines = [match for line in CONFIG.read_text().splitlines() if (match := _SKIP_LINE.match(line))]

    assert sorted(m["check"] for m in lines) == sorted(config["skip-check"])
    assert [m["check"] for m in lines if len((m["reason"] or "").strip()) < 20] == [], (
        "each skip-check entry needs its one-line reason after '#'"
    )


def test_checkov_scanned_every_stack(report: CheckovReport) -> None:
    assert report.parsing_errors == 0
    assert {f"/{stack}/cdk.tf.json" for stack in repository_stack_names()} <= report.files


def test_no_failed_check_beyond_the_skips(report: CheckovReport) -> None:
    assert report.failed == (), "\n".join(finding.line() for finding in report.failed)


def test_every_resource_skip_still_skips_something(report: CheckovReport) -> None:
    skips = load_resource_skips(RESOURCE_SKIPS)

    assert skips, "no resource skips read: the file moved?"
    assert [skip for skip in skips if not any(map(skip.matches, report.skipped_on_resource))] == []


def test_iam_wildcard_checks_run_everywhere_and_are_skipped_on_the_key_policy_only(
    report: CheckovReport,
) -> None:
    global_skips = set(yaml.safe_load(CONFIG.read_text())["skip-check"])
    skipped = {
        (finding.check_id, finding.stack, finding.resource.rsplit("_", 1)[0])
        for finding in report.skipped_on_resource
        if finding.check_id in IAM_WILDCARD_CHECKS
    }

    assert IAM_WILDCARD_CHECKS.isdisjoint(global_skips)
    assert skipped == {(check, "logs", "data.alerts_key_policy") for check in IAM_WILDCARD_CHECKS}


def finding(check_id: str, stack: str, resource: str) -> Finding:
    return Finding(check_id, "a check", f"/{stack}/cdk.tf.json", resource)


def test_a_resource_skip_takes_only_its_checks_on_its_resources() -> None:
    # Given a skip of two checks on the key policy of the logs stack
    skip = ResourceSkip(
        frozenset({"CKV_AWS_109", "CKV_AWS_356"}), "logs", "data.alerts_key_policy_*", "why " * 6
    )
    on_key = finding("CKV_AWS_109", "logs", "data.alerts_key_policy_B7D27873")
    other_check = finding("CKV_AWS_111", "logs", "data.alerts_key_policy_B7D27873")
    other_document = finding("CKV_AWS_109", "logs", "data.chatbot_role_permissions_1A2B3C4D")
    other_stack = finding("CKV_AWS_356", "consumer", "data.alerts_key_policy_B7D27873")
    report = CheckovReport(10, (on_key, other_check, other_document, other_stack), 1, 0)

    # When it is applied
    result = apply_resource_skips(report, (skip,))

    # Then only the matching finding moves from failed to skipped
    assert result.failed == (other_check, other_document, other_stack)
    assert result.skipped_on_resource == (on_key,)
    assert result.skipped == 2


def test_a_resource_skip_without_a_reason_is_refused(tmp_path: Path) -> None:
    path = tmp_path / RESOURCE_SKIPS_FILE
    path.write_text(yaml.safe_dump([{"checks": ["CKV_AWS_1"], "stack": "s", "resource": "r"}]))

    with pytest.raises(PipelineError, match="entry 1 lacks 'reason'"):
        load_resource_skips(path)

    path.write_text(
        yaml.safe_dump([{"checks": ["CKV_AWS_1"], "stack": "s", "resource": "r", "reason": "ok"}])
    )
    with pytest.raises(PipelineError, match="entry 1 needs checks and a reason"):
        load_resource_skips(path)


def test_the_nat_network_passes_checkov(tmp_path: Path) -> None:
    # `network.egress: nat` is opt-in: its resources appear in no default stack.
    checkov = installed_checkov(REPO_ROOT / "pyproject.toml")
    if checkov is None:
        pytest.fail("checkov is not installed in its venv: run `make test`, which installs it")
    config = load_config(REPO_ROOT)
    network = config.project.network.model_copy(update={"egress": "nat"})
    project = config.project.model_copy(update={"network": network})
    outdir = synth_into(config.model_copy(update={"project": project}), tmp_path)
    cluster_only = tmp_path / "cluster-only"
    (cluster_only / "cluster").mkdir(parents=True)
    shutil.copy2(outdir / "stacks/cluster/cdk.tf.json", cluster_only / "cluster/cdk.tf.json")

    report = scan(checkov, cluster_only, CONFIG)

    assert report.failed == (), "\n".join(report.lines())
