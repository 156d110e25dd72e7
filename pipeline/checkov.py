"""checkov over the synthesized stacks, from its own virtual environment.

checkov 3.3.30 pins boto3==1.35.49, which cannot share a resolver with the project's runtime
boto3 pin, so it is not a dev extra: pyproject.toml lists it as the dependency group `checkov`,
and `ensure_checkov` installs that group into `<venv>/tools/checkov` on first use (about a
minute), reinstalling only when the pinned requirement changes.

Skips live in `.checkov.yaml` (JSON has no inline suppressions), each with its one-line reason.
A check that is right everywhere but on one resource is skipped there only, in
`.checkov-resource-skips.yaml`: checkov has no per-resource skip for Terraform JSON (its baseline
file matches resources in any file and drops passed checks from the report), so `scan` applies
those after checkov ran.
"""

from __future__ import annotations

import json
import shutil
import sys
import tomllib
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from pipeline.commands import run
from pipeline.errors import PipelineError

DEPENDENCY_GROUP = "checkov"
CONFIG_FILE = ".checkov.yaml"
RESOURCE_SKIPS_FILE = ".checkov-resource-skips.yaml"  # beside CONFIG_FILE
# A reason shorter than this says nothing (the same bar as .checkov.yaml's skip lines).
MIN_REASON_CHARS = 20
INSTALL_TIMEOUT_SECONDS = 900.0
SCAN_TIMEOUT_SECONDS = 600.0
# checkov's exit status: 0 nothing failed, 1 some check failed; anything else is checkov failing.
CHECKS_FAILED_EXIT = 1


def default_tools_dir() -> Path:
    """`<venv>/tools/checkov`: beside the project's venv, and gone with it."""
    return Path(sys.prefix) / "tools" / DEPENDENCY_GROUP


def pinned_requirements(pyproject: Path) -> list[str]:
    """The `checkov` dependency group of pyproject.toml, e.g. ["checkov==3.3.30"]."""
    try:
        data = tomllib.loads(pyproject.read_text())
        requirements = data["dependency-groups"][DEPENDENCY_GROUP]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as error:
        raise PipelineError(
            f"{pyproject}: no [dependency-groups] {DEPENDENCY_GROUP} ({error})"
        ) from None
    return [str(requirement) for requirement in requirements]


def installed_checkov(pyproject: Path, tools_dir: Path | None = None) -> Path | None:
    """The checkov executable if the pinned version is installed in its venv, else None."""
    tools_dir = tools_dir if tools_dir is not None else default_tools_dir()
    wanted = "\n".join(pinned_requirements(pyproject)) + "\n"
    executable, stamp = tools_dir / "bin" / "checkov", tools_dir / "requirements.txt"
    if executable.is_file() and stamp.is_file() and stamp.read_text() == wanted:
        return executable
    return None


def ensure_checkov(pyproject: Path, tools_dir: Path | None = None) -> Path:
    """The checkov executable, installed into its own venv first if it is missing or outdated."""
    tools_dir = tools_dir if tools_dir is not None else default_tools_dir()
    installed = installed_checkov(pyproject, tools_dir)
    if installed is not None:
        return installed
    requirements = pinned_requirements(pyproject)
    executable = tools_dir / "bin" / "checkov"
    stamp = tools_dir / "requirements.txt"
    wanted = "\n".join(requirements) + "\n"
    shutil.rmtree(tools_dir, ignore_errors=True)
    tools_dir.parent.mkdir(parents=True, exist_ok=True)
    here = tools_dir.parent
    run(
        [sys.executable, "-m", "venv", str(tools_dir)],
        cwd=here,
        timeout=INSTALL_TIMEOUT_SECONDS,
        what="creating checkov's venv",
    )
    run(
        [
            str(tools_dir / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *requirements,
        ],
        cwd=here,
        timeout=INSTALL_TIMEOUT_SECONDS,
        what=f"pip install {' '.join(requirements)}",
    )
    stamp.write_text(wanted)  # last: an interrupted install is redone next time
    return executable


@dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    file: str  # relative to the scanned folder, e.g. /logs/cdk.tf.json
    resource: str  # e.g. resource.consumer_log_group or data.alerts_key_policy_B7D27873

    @property
    def stack(self) -> str:
        return Path(self.file).parent.name

    def line(self) -> str:
        return f"{self.check_id} {self.stack}: {self.resource} ({self.check_name})"


@dataclass(frozen=True)
class CheckovReport:
    passed: int
    failed: tuple[Finding, ...]
    skipped: int
    parsing_errors: int
    files: frozenset[str] = frozenset()  # every file a check ran on, e.g. /logs/cdk.tf.json
    # Failed findings a ResourceSkip took out of `failed` (and counted in `skipped`).
    skipped_on_resource: tuple[Finding, ...] = ()

    @classmethod
    def from_json(cls, output: Any) -> CheckovReport:
        # One framework gives one report object; checkov gives a list for several, and a bare
        # summary when it found nothing to scan.
        reports = output if isinstance(output, list) else [output]
        passed = skipped = parsing_errors = 0
        failed: list[Finding] = []
        files: set[str] = set()
        for report in reports:
            summary = report.get("summary", {})
            passed += int(summary.get("passed", 0))
            skipped += int(summary.get("skipped", 0))
            parsing_errors += int(summary.get("parsing_errors", 0))
            results = report.get("results", {})
            files |= {
                str(item["file_path"])
                for kind in ("passed_checks", "failed_checks", "skipped_checks")
                for item in results.get(kind, [])
            }
            for item in report.get("results", {}).get("failed_checks", []):
                failed.append(
                    Finding(
                        check_id=item["check_id"],
                        check_name=item.get("check_name", ""),
                        file=item["file_path"],
                        resource=item["resource"],
                    )
                )
        return cls(
            passed,
            tuple(sorted(failed, key=Finding.line)),
            skipped,
            parsing_errors,
            frozenset(files),
        )

    def lines(self) -> list[str]:
        return [
            f"checkov: {self.passed} passed, {len(self.failed)} failed, {self.skipped} skipped, "
            f"{self.parsing_errors} parsing errors",
            *(f"  FAILED {finding.line()}" for finding in self.failed),
        ]


@dataclass(frozen=True)
class ResourceSkip:
    """Checks skipped on one kind of resource only, with the reason.

    stack and resource are shell-style patterns over a Finding's: a cdktf logical id ends in a
    hash of its construct path (`data.alerts_key_policy_*`), and a job family's stack is named
    after the job (`*`).
    """

    checks: frozenset[str]
    stack: str
    resource: str
    reason: str

    def matches(self, finding: Finding) -> bool:
        return (
            finding.check_id in self.checks
            and fnmatchcase(finding.stack, self.stack)
            and fnmatchcase(finding.resource, self.resource)
        )


def load_resource_skips(path: Path) -> tuple[ResourceSkip, ...]:
    """The entries of a resource skips file (none if it does not exist); PipelineError names
    the first entry that lacks a field or a reason."""
    if not path.is_file():
        return ()
    entries = yaml.safe_load(path.read_text()) or []
    skips = []
    for index, entry in enumerate(entries if isinstance(entries, list) else [entries]):
        try:
            skip = ResourceSkip(
                checks=frozenset(str(check) for check in entry["checks"]),
                stack=str(entry["stack"]),
                resource=str(entry["resource"]),
                reason=" ".join(str(entry["reason"]).split()),
            )
        except (KeyError, TypeError) as error:
            raise PipelineError(f"{path}: entry {index + 1} lacks {error}") from None
        if not skip.checks or len(skip.reason) < MIN_REASON_CHARS:
            raise PipelineError(f"{path}: entry {index + 1} needs checks and a reason")
        skips.append(skip)
    return tuple(skips)


def apply_resource_skips(report: CheckovReport, skips: tuple[ResourceSkip, ...]) -> CheckovReport:
    """`report` with the failed findings some skip matches moved to the skipped ones."""
    skipped = tuple(f for f in report.failed if any(skip.matches(f) for skip in skips))
    return replace(
        report,
        failed=tuple(f for f in report.failed if f not in skipped),
        skipped=report.skipped + len(skipped),
        skipped_on_resource=report.skipped_on_resource + skipped,
    )


def scan(checkov: Path, stacks_dir: Path, config: Path) -> CheckovReport:
    """One checkov run over every `cdk.tf.json` under `stacks_dir` (terraform_json framework),
    with the resource skips beside `config` applied."""
    command = [
        str(checkov),
        "--config-file", str(config),
        "--framework", "terraform_json",
        "--skip-download",
        "--output", "json",
        "--directory", str(stacks_dir),
    ]  # fmt: skip
    completed = run(
        command,
        cwd=stacks_dir,
        timeout=SCAN_TIMEOUT_SECONDS,
        what="checkov",
        success=(0, CHECKS_FAILED_EXIT),  # 1 only says that checks failed: the report is whole
    )
    try:
        report = CheckovReport.from_json(json.loads(completed.stdout))
    except (ValueError, KeyError, TypeError) as error:
        raise PipelineError(f"checkov printed no readable JSON report: {error}") from None
    return apply_resource_skips(report, load_resource_skips(config.with_name(RESOURCE_SKIPS_FILE)))
