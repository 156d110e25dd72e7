"""Terraform in one stack directory, as a user runs it: init, apply, plan, destroy.

Every command's output goes to a log file of its own (`<logs>/<stack>.<command>.log`), so a
failure can quote its last lines and a person can read the whole of it afterwards.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devtools.terraform_offline import write_local_aws_override
from pipeline.commands import tail

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

# Generous bounds: an apply on moto spends about 25 s per SQS queue in the provider's waiter,
# and a stack on a real account can take much longer (an ECS service waiting to be stable).
INIT_TIMEOUT_SECONDS = 300.0
APPLY_TIMEOUT_SECONDS = 1800.0
PLAN_TIMEOUT_SECONDS = 600.0
# `terraform plan -detailed-exitcode`: 0 no changes, 2 changes, anything else an error.
PLAN_HAS_CHANGES = 2


class TerraformFailed(Exception):
    """A Terraform command failed; the message names the stack, the command and its last lines."""


@dataclass(frozen=True)
class PlannedChange:
    """One resource a plan would touch."""

    address: str
    resource_type: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class StackTerraform:
    """Terraform in `folder` (a synthesized stack), with `env`, logging into `logs`.

    `local_aws`: pin the provider to the offline mirror and set it up for a local endpoint
    through an override file beside `cdk.tf.json`, which itself stays as synthesized.
    """

    stack: str
    folder: Path
    env: Mapping[str, str]
    logs: Path
    local_aws: bool

    def init(self) -> None:
        """`terraform init` (again after a synth, which replaces the stack's folder)."""
        if self.local_aws:
            write_local_aws_override(self.folder)
        self._run("init", ["init", "-input=false", "-no-color"], INIT_TIMEOUT_SECONDS)

    def apply(self, plan_file: str | None = None) -> float:
        """`terraform apply` (of a saved plan, if given); returns its wall time."""
        started = time.monotonic()
        target = [plan_file] if plan_file else ["-auto-approve"]
        self._run("apply", ["apply", "-input=false", "-no-color", *target], APPLY_TIMEOUT_SECONDS)
        return time.monotonic() - started

    def destroy(self) -> float:
        started = time.monotonic()
        self._run(
            "destroy",
            ["destroy", "-auto-approve", "-input=false", "-no-color"],
            APPLY_TIMEOUT_SECONDS,
        )
        return time.monotonic() - started

    def pending_changes(self) -> list[str]:
        """What a fresh plan would change, as Terraform lists it (`# <address> will be ...`);
        empty when the applied stack matches its configuration."""
        completed = self._run(
            "plan",
            ["plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock=false"],
            PLAN_TIMEOUT_SECONDS,
            success=(0, PLAN_HAS_CHANGES),
        )
        if completed.returncode == 0:
            return []
        return [
            line.strip().removeprefix("# ")
            for line in completed.stdout.splitlines()
            if line.strip().startswith("# ") and (" will be " in line or " must be " in line)
        ]

    def plan_to_file(self, plan_file: str) -> list[PlannedChange]:
        """`terraform plan -out=<plan_file>`; returns every resource it would touch."""
        self._run(
            "plan", ["plan", "-input=false", "-no-color", f"-out={plan_file}"], PLAN_TIMEOUT_SECONDS
        )
        shown = self._run("show", ["show", "-json", plan_file], PLAN_TIMEOUT_SECONDS, log=False)
        return planned_changes(json.loads(shown.stdout))

    def outputs(self) -> dict[str, Any]:
        """The stack's outputs from its state (never logged: some may be sensitive)."""
        shown = self._run("output", ["output", "-json"], PLAN_TIMEOUT_SECONDS, log=False)
        return {name: item["value"] for name, item in json.loads(shown.stdout).items()}

    def managed_resources(self) -> list[str]:
        """Addresses of the resources in the stack's state (data sources left out)."""
        completed = self._run("state", ["state", "list"], PLAN_TIMEOUT_SECONDS, success=(0, 1))
        if completed.returncode != 0 and "No state file" not in completed.stderr:
            raise TerraformFailed(f"{self.stack}: terraform state list failed: {completed.stderr}")
        return [
            line
            for line in completed.stdout.splitlines()
            if line and not line.startswith("data.") and ".data." not in line
        ]

    def _run(
        self,
        name: str,
        args: list[str],
        timeout: float,
        *,
        success: tuple[int, ...] = (0,),
        log: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        log_file = self.logs / f"{self.stack}.{name}.log"
        try:
            completed = subprocess.run(
                ["terraform", *args],
                cwd=self.folder,
                env=dict(self.env),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise TerraformFailed(
                f"{self.stack}: terraform {name} did not finish within {timeout:.0f} s"
            ) from None
        if log:  # `show -json` holds every value in clear text: never written
            with log_file.open("a") as out:
                out.write(f"$ terraform {' '.join(args)}\n{completed.stdout}{completed.stderr}\n")
        if completed.returncode not in success:
            raise TerraformFailed(
                f"{self.stack}: terraform {name} failed (exit {completed.returncode}); "
                f"full output in {log_file}\n{tail(completed.stderr, completed.stdout)}"
            )
        return completed


def planned_changes(plan: dict[str, Any]) -> list[PlannedChange]:
    """The managed resources a `terraform show -json` plan would create, change or delete."""
    return [
        PlannedChange(
            address=change["address"],
            resource_type=change["type"],
            actions=tuple(change["change"]["actions"]),
        )
        for change in plan.get("resource_changes", [])
        if change.get("mode") == "managed" and change["change"]["actions"] != ["no-op"]
    ]
