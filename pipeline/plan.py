"""`make plan STACK=<name>`: synth, `terraform init` with the stack's own backend, `terraform plan
-out=<stack>.tfplan`, and a short summary read from `terraform show -json`.

The JSON plan holds every planned value, sensitive ones in clear text: it is parsed here and
never printed or written. What may be written is the summary (counts and addresses), the digest
(pipeline/reviewed.py) and `terraform show -no-color` of the plan, which redacts sensitive values.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pipeline.commands import run
from pipeline.errors import PipelineError
from pipeline.plan_summary import PlanSummary, summarize
from pipeline.reviewed import PlanDigest, digest
from pipeline.synth import OUTDIR, synth

if TYPE_CHECKING:
    from pathlib import Path

TERRAFORM = "terraform"
INIT_TIMEOUT_SECONDS = 600.0
PLAN_TIMEOUT_SECONDS = 1800.0
SHOW_TIMEOUT_SECONDS = 300.0
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOCAL_AWS_CLI_CONFIG = "local-aws.tfrc"


@dataclass(frozen=True)
class PlanResult:
    stack: str
    plan_file: Path
    summary: PlanSummary
    digest: PlanDigest


def stack_dir(outdir: Path, stack: str) -> Path:
    """The folder Terraform runs in for `stack`, or PipelineError naming the stacks there are."""
    folder = outdir / "stacks" / stack
    if not (folder / "cdk.tf.json").is_file():
        known = sorted(path.parent.name for path in (outdir / "stacks").glob("*/cdk.tf.json"))
        raise PipelineError(
            f"no stack '{stack}' in {outdir} (stacks: {', '.join(known) or 'none; synth first'})"
        )
    return folder


def terraform_env() -> dict[str, str]:
    # No prompts in any case: a missing variable or a lock must fail, not wait for input.
    return {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}


def local_aws_env(folder: Path, endpoint_url: str) -> dict[str, str]:
    """Set the stack in `folder` up for a local AWS at `endpoint_url` (an override file beside
    its `cdk.tf.json`, providers from the offline mirror); returns Terraform's environment."""
    from devtools.terraform_offline import (
        Toolchain,
        ToolchainMissing,
        local_aws_terraform_env,
        write_local_aws_override,
    )

    parsed = urlsplit(endpoint_url)
    if parsed.scheme != "http" or parsed.hostname not in LOOPBACK_HOSTS or parsed.port is None:
        raise PipelineError(
            f"--local-aws '{endpoint_url[:80]}' is not a local endpoint: "
            "expected http://127.0.0.1:PORT (or localhost)"
        )
    try:
        toolchain = Toolchain.locate()
    except ToolchainMissing as missing:
        raise PipelineError(f"cannot plan against a local AWS: {missing.reason}") from None
    write_local_aws_override(folder)
    cli_config = folder / LOCAL_AWS_CLI_CONFIG
    cli_config.write_text(toolchain.cli_config())
    region = json.loads((folder / "cdk.tf.json").read_text())["provider"]["aws"][0]["region"]
    return local_aws_terraform_env(cli_config, endpoint_url, region)


def plan_stack(
    repo: Path,
    stack: str,
    *,
    synthesize: bool = True,
    lock: bool = True,
    local_aws: str | None = None,
) -> PlanResult:
    """Plan `stack` of the tree at `repo`; the plan is saved as `<stack dir>/<stack>.tfplan`.

    `lock=False` plans without taking the state lock: a read-only role (pull requests) cannot
    write the lock file, and a plan that is never applied needs none.
    `local_aws`: the URL of a local AWS (moto_server) to plan against instead of AWS itself.
    """
    outdir = synth(repo, "working tree") if synthesize else repo / OUTDIR
    folder = stack_dir(outdir, stack)
    env = terraform_env() if local_aws is None else local_aws_env(folder, local_aws)
    run(
        [TERRAFORM, "init", "-input=false", "-no-color"],
        cwd=folder,
        env=env,
        timeout=INIT_TIMEOUT_SECONDS,
        what=f"terraform init ({stack})",
    )
    plan_file = folder / f"{stack}.tfplan"
    run(
        [
            TERRAFORM,
            "plan",
            "-input=false",
            "-no-color",
            f"-lock={'true' if lock else 'false'}",
            f"-out={plan_file.name}",
        ],
        cwd=folder,
        env=env,
        timeout=PLAN_TIMEOUT_SECONDS,
        what=f"terraform plan ({stack})",
        # The plan's own output (redacted by Terraform) is for the person or the CI log.
        capture=False,
    )
    plan = show_json(folder, plan_file)
    return PlanResult(stack, plan_file, summarize(plan), digest(stack, plan))


def show_json(folder: Path, plan_file: Path) -> dict[str, Any]:
    """`terraform show -json` of a saved plan, parsed. Never print or store what this returns."""
    completed = run(
        [TERRAFORM, "show", "-json", plan_file.name],
        cwd=folder,
        env=terraform_env(),
        timeout=SHOW_TIMEOUT_SECONDS,
        what=f"terraform show -json {plan_file.name}",
        quote_stdout=False,
    )
    try:
        return json.loads(completed.stdout)
    except ValueError:
        raise PipelineError(f"terraform show -json {plan_file.name} printed no JSON") from None


def show_text(folder: Path, plan_file: Path) -> str:
    """The plan as Terraform shows it to a person, sensitive values redacted."""
    return run(
        [TERRAFORM, "show", "-no-color", plan_file.name],
        cwd=folder,
        env=terraform_env(),
        timeout=SHOW_TIMEOUT_SECONDS,
        what=f"terraform show {plan_file.name}",
    ).stdout
