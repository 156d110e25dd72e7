"""`python -m pipeline`: answers on stdout, exit statuses, and one-line errors without tracebacks.

`plan` runs against a stand-in `terraform` on PATH that replays the real plan fixture, so the
orchestration (init, plan -out, show -json, show) is tested without a cloud.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pipeline.reviewed import digest
from tests.conftest import REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures"
CLI_TIMEOUT = 60

FAKE_TERRAFORM = """#!/bin/sh
# Records each call; `show -json` replays the fixture, `show` its text, `plan -out=F` writes F.
echo "$*" >> "$TERRAFORM_CALLS"
case "$1" in
  show) if [ "$2" = "-json" ]; then cat "$PLAN_JSON"; else cat "$PLAN_TEXT"; fi ;;
  plan) for arg in "$@"; do case "$arg" in -out=*) echo plan > "${arg#-out=}" ;; esac; done
        echo "Plan: 2 to add, 1 to change, 2 to destroy." ;;
esac
"""


def pipeline(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def assert_one_line_error(completed: subprocess.CompletedProcess[str], message: str) -> None:
    assert completed.returncode == 2
    assert completed.stderr.splitlines()[0] == f"error: {message}"
    assert "Traceback" not in completed.stderr


def test_an_unknown_base_is_a_one_line_error(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=CLI_TIMEOUT)

    completed = pipeline("--repo", str(tmp_path), "changed", "--base", "no-such-ref")

    assert_one_line_error(
        completed, f"'no-such-ref' is not a commit in {tmp_path} (fetch it first?)"
    )


def test_an_unknown_stack_is_a_one_line_error_naming_the_stacks(tmp_path: Path) -> None:
    (tmp_path / "cdktf.out" / "stacks" / "logs").mkdir(parents=True)
    (tmp_path / "cdktf.out" / "stacks" / "logs" / "cdk.tf.json").write_text("{}")

    completed = pipeline("--repo", str(tmp_path), "plan", "lgos", "--no-synth")

    assert_one_line_error(completed, f"no stack 'lgos' in {tmp_path}/cdktf.out (stacks: logs)")


def write_digest(path: Path, plan: dict) -> Path:
    path.write_text(json.dumps(digest("logs", plan).to_json()))
    return path


def test_compare_exits_0_for_the_reviewed_plan_and_1_otherwise(tmp_path: Path) -> None:
    plan = json.loads((FIXTURES / "logs_plan.json").read_text())
    reviewed = write_digest(tmp_path / "reviewed.json", plan)
    same = write_digest(tmp_path / "same.json", plan)
    plan["resource_changes"] = plan["resource_changes"][:1]
    other = write_digest(tmp_path / "other.json", plan)

    assert pipeline("compare", str(same), "--reviewed", str(reviewed)).returncode == 0
    differs = pipeline("compare", str(other), "--reviewed", str(reviewed))
    assert differs.returncode == 1
    assert "approval needed" in differs.stdout
    missing = pipeline("compare", str(same), "--reviewed", str(tmp_path / "absent.json"))
    assert missing.returncode == 1
    assert "no reviewed plan" in missing.stdout


def test_plan_inits_plans_and_summarizes_without_printing_the_json(tmp_path: Path) -> None:
    stack_dir = tmp_path / "cdktf.out" / "stacks" / "logs"
    stack_dir.mkdir(parents=True)
    (stack_dir / "cdk.tf.json").write_text("{}")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "terraform").write_text(FAKE_TERRAFORM)
    (bin_dir / "terraform").chmod(0o755)
    calls = tmp_path / "calls.txt"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "TERRAFORM_CALLS": str(calls),
        "PLAN_JSON": str(FIXTURES / "logs_plan.json"),
        "PLAN_TEXT": str(FIXTURES / "logs_plan.txt"),
    }
    out = tmp_path / "out"

    completed = pipeline(
        "--repo", str(tmp_path), "plan", "logs", "--no-synth", "--no-lock",
        "--summary-json", str(out / "summary.json"),
        "--digest", str(out / "digest.json"),
        "--plan-text", str(out / "plan.txt"),
        env=env,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    assert calls.read_text().splitlines() == [
        "init -input=false -no-color",
        "plan -input=false -no-color -lock=false -out=logs.tfplan",
        "show -json logs.tfplan",
        "show -no-color logs.tfplan",
    ]
    assert "logs: Plan: 1 to add, 1 to change, 1 to destroy, 1 to replace." in completed.stdout
    assert "  replace aws_cloudwatch_log_group.producer_log_group (forced by name)" in (
        completed.stdout
    )
    assert "resource_changes" not in completed.stdout + completed.stderr
    assert json.loads((out / "summary.json").read_text())["replaces"] == 1
    assert (out / "plan.txt").read_text() == (FIXTURES / "logs_plan.txt").read_text()
    assert json.loads((out / "digest.json").read_text())["stack"] == "logs"
