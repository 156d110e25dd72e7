"""`terraform validate` a synthesized stack offline, against a local mirror of the AWS provider.

    python -m devtools.terraform_offline cdktf.out/stacks/<name> [more stack dirs...]

No network: the stack is copied to a scratch folder, an `override.tf.json` pins the AWS
provider to the version on disk (the binding targets 6.x; the mirror holds
5.100.0), and a CLI config file points Terraform at the mirror. Stacks that need the same
providers share one `terraform init`: an init hashes the 700 MB provider binary for the lock
file (3.4 s when the binary is not in the file cache yet, 0.75 s when it is); the stacks after
the first copy the initialized `.terraform` folder (a symlink into the mirror) and the lock file
instead, and pay only for `validate` itself, which loads the provider's schema (about 2.2 s on a
quiet 2-core machine).

Terraform or the mirror may be absent (a laptop, a slim CI image): `Toolchain.locate()` then
raises `ToolchainMissing` with a reason that says what is missing and how to provide it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "AWS_PROVIDER_VERSION",
    "DUMMY_CREDENTIALS",
    "LOCAL_AWS_PROVIDER_SETTINGS",
    "Diagnostic",
    "OfflineValidator",
    "Toolchain",
    "ToolchainMissing",
    "ValidationResult",
]

AWS_PROVIDER_VERSION = "5.100.0"
REGISTRY_HOST = "registry.terraform.io"
# Set to the folder that holds `registry.terraform.io/` to skip the search.
MIRROR_ENV = "TF_PROVIDER_MIRROR"
# Generous: a validate takes about 2.5 s, a first init about 3.5 s on a quiet machine.
COMMAND_TIMEOUT_SECONDS = 180.0
# Folders a search from / never needs to enter (virtual file systems, scratch space).
_SKIPPED_TOP_LEVEL = frozenset({"proc", "sys", "dev", "run", "tmp"})
# Terraform's own implied mirrors (CLI configuration docs: "Implied Local Mirror Directories").
_IMPLIED_MIRRORS = (
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)
# Types Terraform itself provides: they need no plugin and no `required_providers` entry.
_BUILTIN_PROVIDER = "terraform"


class ToolchainMissing(Exception):
    """Terraform or the provider mirror is absent; `reason` says which, and what to do."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def terraform_platform() -> str:
    """Terraform's name for this machine's platform, e.g. `linux_amd64`."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    system = {"win32": "windows"}.get(sys.platform, sys.platform)  # 'linux', 'darwin', ...
    return f"{system}_{arch}"


def _holds_aws_provider(mirror: Path) -> bool:
    package = (
        mirror / REGISTRY_HOST / "hashicorp" / "aws" / AWS_PROVIDER_VERSION / terraform_platform()
    )
    try:
        return package.is_dir()
    except OSError:
        return False


def _candidate_mirrors() -> list[Path]:
    """Terraform's implied mirrors, then each folder up to two levels below / (find -maxdepth 3)."""
    candidates = [Path(folder).expanduser() for folder in _IMPLIED_MIRRORS]
    try:
        top_level = sorted(Path("/").iterdir())
    except OSError:
        return candidates
    for top in top_level:
        if top.name in _SKIPPED_TOP_LEVEL or top.is_symlink() or not top.is_dir():
            continue
        candidates.append(top)
        try:
            candidates += sorted(child for child in top.iterdir() if child.is_dir())
        except OSError:
            continue
    return candidates


def find_mirror() -> Path:
    """The folder holding `registry.terraform.io/hashicorp/aws/<version>/<platform>`."""
    configured = os.environ.get(MIRROR_ENV)
    if configured:
        mirror = Path(configured)
        if not _holds_aws_provider(mirror):
            raise ToolchainMissing(
                f"{MIRROR_ENV}={configured} holds no {REGISTRY_HOST}/hashicorp/aws/"
                f"{AWS_PROVIDER_VERSION}/{terraform_platform()}"
            )
        return mirror
    for candidate in _candidate_mirrors():
        if _holds_aws_provider(candidate):
            return candidate
    raise ToolchainMissing(
        f"no filesystem mirror of hashicorp/aws {AWS_PROVIDER_VERSION} for {terraform_platform()} "
        f"found (looked in {', '.join(_IMPLIED_MIRRORS)} and two levels below /); set {MIRROR_ENV} "
        f"to the folder that holds {REGISTRY_HOST}/"
    )


@dataclass(frozen=True)
class Toolchain:
    """The Terraform binary and the provider mirror it installs from."""

    terraform: Path
    mirror: Path

    @classmethod
    def locate(cls) -> Toolchain:
        """Find both, or raise ToolchainMissing saying what is missing."""
        terraform = shutil.which("terraform")
        if terraform is None:
            raise ToolchainMissing(
                "terraform is not on PATH; install Terraform >= 1.10 to validate stacks"
            )
        return cls(terraform=Path(terraform), mirror=find_mirror())

    def cli_config(self) -> str:
        """A Terraform CLI configuration that installs every provider from the mirror only."""
        # json.dumps gives a double-quoted string with the escapes HCL expects.
        return (
            "provider_installation {\n"
            "  filesystem_mirror {\n"
            f"    path    = {json.dumps(str(self.mirror))}\n"
            f'    include = ["{REGISTRY_HOST}/*/*"]\n'
            "  }\n"
            "}\n"
        )


@dataclass(frozen=True)
class Diagnostic:
    """One error or warning from Terraform."""

    severity: str
    summary: str
    detail: str = ""
    location: str = ""  # `file:line` when Terraform gave one

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Diagnostic:
        where = item.get("range") or {}
        location = f"{where['filename']}:{where['start']['line']}" if where else ""
        return cls(
            severity=str(item.get("severity", "error")),
            summary=str(item.get("summary", "")),
            detail=str(item.get("detail", "")),
            location=location,
        )

    def __str__(self) -> str:
        where = f" ({self.location})" if self.location else ""
        detail = (
            f"\n    {self.detail.strip()}".replace("\n", "\n    ") if self.detail.strip() else ""
        )
        return f"{self.severity}: {self.summary}{where}{detail}"


@dataclass(frozen=True)
class ValidationResult:
    """What `terraform validate` said about one stack."""

    stack: str
    valid: bool
    diagnostics: tuple[Diagnostic, ...]
    seconds: float  # wall time of this stack's init (if it needed one) and validate

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(item for item in self.diagnostics if item.severity == "error")

    def report(self) -> str:
        verdict = "valid" if self.valid else "INVALID"
        lines = [f"{self.stack}: {verdict} ({self.seconds:.1f} s)"]
        lines += [f"  {diagnostic}".replace("\n", "\n  ") for diagnostic in self.diagnostics]
        return "\n".join(lines)


def _is_aws(requirement: Any) -> bool:
    source = requirement.get("source", "") if isinstance(requirement, dict) else ""
    return source in ("aws", "hashicorp/aws", f"{REGISTRY_HOST}/hashicorp/aws")


def pinned_requirements(module: dict[str, Any]) -> dict[str, Any]:
    """The module's `required_providers`, with every AWS entry pinned to the mirror's version."""
    required = module.get("terraform", {}).get("required_providers", {})
    return {
        name: {**requirement, "source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION}
        if _is_aws(requirement)
        else requirement
        for name, requirement in sorted(required.items())
    }


# Provider settings for a local AWS (moto_server, reached through AWS_ENDPOINT_URL, which the
# provider honours for every service our stacks use): no credential or metadata lookups, path-style
# S3, and few retries, since the default 25 turns a call moto lacks into a 10-minute hang. The
# account id is still requested: without it, references between security-group rules plan a
# change every time.
LOCAL_AWS_PROVIDER_SETTINGS: dict[str, Any] = {
    "skip_credentials_validation": True,
    "skip_metadata_api_check": True,
    "s3_use_path_style": True,
    "max_retries": 3,
}


# A local AWS accepts any credentials; these keep the caller's real ones out of every request.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# The caller's AWS setup, which must not reach a run against a local AWS.
CALLER_AWS_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_ROLE_ARN")
OVERRIDE_FILE = "override.tf.json"


def offline_override(module: dict[str, Any], local_aws: bool = False) -> dict[str, Any]:
    """An `override.tf.json` for a copy of `module`: the AWS provider pinned to the mirror's
    version and, with `local_aws`, set up for a local endpoint. The module itself is unchanged."""
    override: dict[str, Any] = {"terraform": {"required_providers": pinned_requirements(module)}}
    if local_aws:
        override["provider"] = {"aws": dict(LOCAL_AWS_PROVIDER_SETTINGS)}
    return override


def write_local_aws_override(stack_dir: Path) -> None:
    """Beside the stack's `cdk.tf.json` (left as synthesized): the override for a local AWS."""
    module = json.loads((stack_dir / "cdk.tf.json").read_text())
    override = offline_override(module, local_aws=True)
    (stack_dir / OVERRIDE_FILE).write_text(json.dumps(override, indent=2))


def local_aws_env(endpoint_url: str, region: str) -> dict[str, str]:
    """What reaches a local AWS: its endpoint (for every service), the region, dummy keys."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        **DUMMY_CREDENTIALS,
    }


def local_aws_terraform_env(cli_config: Path, endpoint_url: str, region: str) -> dict[str, str]:
    """Terraform's environment for a local AWS: providers from the mirror, requests to
    `endpoint_url`, and nothing of the caller's own AWS setup."""
    env = terraform_env(cli_config)
    for name in CALLER_AWS_VARIABLES:
        env.pop(name, None)
    env.update(local_aws_env(endpoint_url, region))
    return env


class OfflineValidator:
    """Validates stacks one after another in `workdir`, sharing one init per set of providers."""

    def __init__(
        self, toolchain: Toolchain, workdir: Path, timeout: float = COMMAND_TIMEOUT_SECONDS
    ) -> None:
        self.toolchain = toolchain
        self.workdir = workdir
        self.timeout = timeout
        workdir.mkdir(parents=True, exist_ok=True)
        cli_config = workdir / "terraform.tfrc"
        cli_config.write_text(toolchain.cli_config())
        self._env = terraform_env(cli_config)
        # providers key -> initialized folder holding `.terraform` and `.terraform.lock.hcl`
        self._inits: dict[str, Path] = {}

    def validate(self, stack_dir: Path) -> ValidationResult:
        """`terraform validate` a copy of `stack_dir` (a folder holding `cdk.tf.json`)."""
        started = time.monotonic()
        stack = stack_dir.name
        module = json.loads((stack_dir / "cdk.tf.json").read_text())
        copy = self.workdir / "stacks" / stack
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(
            stack_dir,
            copy,
            ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*"),
        )
        requirements = pinned_requirements(module)
        (copy / "override.tf.json").write_text(json.dumps(offline_override(module), indent=2))
        # Modules are installed per root module: a stack that calls one gets its own init.
        failure = self._init(copy) if "module" in module else self._reuse_init(requirements, copy)
        if failure is not None:
            return ValidationResult(stack, False, (failure,), time.monotonic() - started)
        return self._validate(stack, copy, started)

    def _reuse_init(self, requirements: dict[str, Any], copy: Path) -> Diagnostic | None:
        key = hashlib.sha256(json.dumps(requirements, sort_keys=True).encode()).hexdigest()[:16]
        initialized = self._inits.get(key)
        if initialized is None:
            initialized = self.workdir / "inits" / key
            initialized.mkdir(parents=True, exist_ok=True)
            (initialized / "main.tf.json").write_text(
                json.dumps({"terraform": {"required_providers": requirements}}, indent=2)
            )
            failure = self._init(initialized)
            if failure is not None:
                return failure
            self._inits[key] = initialized
        # `.terraform` holds only links into the mirror: copying it is cheap.
        shutil.copytree(initialized / ".terraform", copy / ".terraform", symlinks=True)
        shutil.copy2(initialized / ".terraform.lock.hcl", copy / ".terraform.lock.hcl")
        return None

    def _init(self, folder: Path) -> Diagnostic | None:
        completed = self._run(["init", "-backend=false", "-input=false", "-no-color"], folder)
        if isinstance(completed, Diagnostic):
            return completed
        if completed.returncode != 0:
            return Diagnostic(
                "error", "terraform init failed", completed.stderr or completed.stdout
            )
        return None

    def _validate(self, stack: str, copy: Path, started: float) -> ValidationResult:
        completed = self._run(["validate", "-json", "-no-color"], copy)
        if isinstance(completed, Diagnostic):
            return ValidationResult(stack, False, (completed,), time.monotonic() - started)
        try:
            report = json.loads(completed.stdout)
        except json.JSONDecodeError:
            failure = Diagnostic(
                "error",
                f"terraform validate exited {completed.returncode} without a JSON report",
                completed.stderr or completed.stdout,
            )
            return ValidationResult(stack, False, (failure,), time.monotonic() - started)
        diagnostics = tuple(Diagnostic.from_json(item) for item in report.get("diagnostics", []))
        valid = bool(report.get("valid")) and completed.returncode == 0
        return ValidationResult(stack, valid, diagnostics, time.monotonic() - started)

    def _run(self, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str] | Diagnostic:
        command = [str(self.toolchain.terraform), *args]
        try:
            return subprocess.run(
                command,
                cwd=cwd,
                env=self._env,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Diagnostic(
                "error", f"`{' '.join(command)}` did not finish within {self.timeout:.0f} s"
            )


def terraform_env(cli_config: Path | None) -> dict[str, str]:
    """This environment for Terraform, never asking; with `cli_config`, installing providers as
    that file says."""
    # Settings of the caller's own Terraform use that would change where things are read from
    # or what a command does (TF_CLI_ARGS and every TF_CLI_ARGS_<command>).
    ignored = {"TF_DATA_DIR", "TF_WORKSPACE", "TF_PLUGIN_CACHE_DIR"}
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ignored and not name.startswith("TF_CLI_ARGS")
    }
    if cli_config is not None:
        env["TF_CLI_CONFIG_FILE"] = str(cli_config)
    env.update(
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",  # no version check over the network
    )
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "stacks", nargs="+", type=Path, help="stack folders, e.g. cdktf.out/stacks/cluster"
    )
    args = parser.parse_args(argv)
    missing = [str(stack) for stack in args.stacks if not (stack / "cdk.tf.json").is_file()]
    if missing:
        print(
            f"error: no cdk.tf.json in {', '.join(missing)} (run `make synth` first)",
            file=sys.stderr,
        )
        return 2
    try:
        toolchain = Toolchain.locate()
    except ToolchainMissing as error:
        print(f"error: cannot validate offline: {error.reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="terraform-offline-") as workdir:
        validator = OfflineValidator(toolchain, Path(workdir))
        results = [validator.validate(stack) for stack in args.stacks]
    for result in results:
        print(result.report())
    return 0 if all(result.valid for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
