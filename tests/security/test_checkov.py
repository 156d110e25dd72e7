"""checkov over every synthesized stack: no failed check beyond the reasoned skips in .checkov.yaml.

checkov runs once per session (about 3 to 10 s), from its own venv (pipeline/checkov.py), which
`make test` installs beforehand: tests themselves never reach the package index.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
import yaml

from pipeline.checkov import CONFIG_FILE, CheckovReport, installed_checkov, scan
from tests.conftest import REPO_ROOT
from tests.infra.synth_output import repository_stack_names

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow

CONFIG = REPO_ROOT / CONFIG_FILE
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
