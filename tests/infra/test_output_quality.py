"""What every synthesized stack owes its reader, whatever resources it holds.

Same inputs give the same bytes; nothing of the machine that ran the synth leaks into the output;
each stack directory is a complete Terraform root module with its own explicit backend and
a provider that tags everything with the project and the stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from modules.config import load_config
from tests.conftest import REPO_ROOT
from tests.infra.synth_output import (
    output_files,
    repository_stack_names,
    stack_names,
    synth_into,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from modules.config import PlatformConfig

STACKS = repository_stack_names()
# Terraform's built-in provider (terraform_data, terraform_remote_state): no plugin to require.
BUILTIN_PROVIDER = "terraform"
SYNTH_TIMEOUT_SECONDS = 300


@pytest.fixture(scope="module")
def outdir(default_config: PlatformConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_into(default_config, tmp_path_factory.mktemp("quality-synth"))


def read_stack(outdir: Path, stack: str) -> dict[str, Any]:
    return json.loads((outdir / "stacks" / stack / "cdk.tf.json").read_text())


def used_providers(stack: dict[str, Any]) -> set[str]:
    """Local names of the providers a stack's resources, data sources and provider blocks use."""
    used = set(stack.get("provider", {}))
    for block in ("resource", "data"):
        for resource_type, instances in stack.get(block, {}).items():
            for instance in instances.values():
                explicit = instance.get("provider")
                used.add(explicit.split(".")[0] if explicit else resource_type.split("_")[0])
    return used - {BUILTIN_PROVIDER}


def test_output_holds_the_platform_stacks_and_one_stack_per_service(outdir: Path) -> None:
    written = sorted(path.name for path in (outdir / "stacks").iterdir())
    manifest = json.loads((outdir / "manifest.json").read_text())

    assert written == sorted(STACKS)
    assert sorted(manifest["stacks"]) == sorted(STACKS)


def test_synth_in_another_process_writes_the_same_bytes(outdir: Path, tmp_path: Path) -> None:
    # Given a second synth of the same tree by `main.py`, in a fresh interpreter whose string
    # hashing differs from this one's (set iteration order would leak into unsorted output).
    other = tmp_path / "cdktf.out"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("CDKTF_OUTDIR", None)

    completed = subprocess.run(
        [sys.executable, "main.py", "--outdir", str(other)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    first, second = output_files(outdir), output_files(other)
    assert sorted(second) == sorted(first)
    differing = sorted(name for name in first if first[name] != second[name])
    assert differing == []


def host_paths(outdir: Path) -> dict[str, str]:
    """Paths of the machine that ran the synth, by what they are: none may appear in the output."""
    candidates = {
        "current directory": Path.cwd(),
        "repository": REPO_ROOT,
        "output directory": outdir,
        "python environment": Path(sys.prefix),
        # Inside these, only what is below them is a leak: `/tmp` alone is a fine container path.
        "temporary directory": Path(tempfile.gettempdir()),
        "home directory": Path.home(),
    }
    found = {}
    for label, path in candidates.items():
        for form in {str(path), str(path.resolve())}:
            if form != "/":
                found[f"{form}/"] = label
    found[str(REPO_ROOT)] = "repository"
    return found


def test_output_holds_no_path_of_the_machine_that_ran_the_synth(outdir: Path) -> None:
    leaks = [
        f"{name}: {label} {marker!r}"
        for name, content in output_files(outdir).items()
        for marker, label in host_paths(outdir).items()
        # Bytes, not text: a job stack's Lambda zip is among the files (paths would show as is).
        if marker.encode() in content
    ]

    assert leaks == []


@pytest.mark.parametrize("stack", STACKS)
def test_stack_declares_its_local_backend_with_a_relative_state_path(
    stack: str, outdir: Path
) -> None:
    backend = read_stack(outdir, stack)["terraform"].get("backend")

    assert backend == {"local": {"path": f"../../../terraform-state/{stack}.tfstate"}}


def test_s3_state_gives_every_stack_an_s3_backend_with_its_own_key(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    root = repo_copy()
    project_file = root / "platform.yaml"
    project = yaml.safe_load(project_file.read_text())
    project["state"] = {
        "backend": "s3",
        "bucket": "acme-terraform-state",
        "key_prefix": "platform/",
    }
    project_file.write_text(yaml.safe_dump(project))
    config = load_config(root)

    outdir = synth_into(config, tmp_path / "s3")

    names = stack_names(config)
    backends = {name: read_stack(outdir, name)["terraform"].get("backend") for name in names}
    expected = {
        name: {
            "s3": {
                "bucket": "acme-terraform-state",
                "key": f"platform/workers/{name}.tfstate",
                "region": "eu-west-1",
                "encrypt": True,
                "use_lockfile": True,
            }
        }
        for name in names
    }
    assert backends == expected


@pytest.mark.parametrize("stack", STACKS)
def test_provider_default_tags_name_the_project_and_the_stack(
    stack: str, outdir: Path, default_config: PlatformConfig
) -> None:
    providers = read_stack(outdir, stack)["provider"]["aws"]

    tagged = [
        {key: config["default_tags"][0]["tags"].get(key) for key in ("Project", "Service")}
        for config in providers
    ]
    expected = {"Project": default_config.project.project, "Service": stack}
    assert tagged == [expected] * len(providers)


@pytest.mark.parametrize("stack", STACKS)
def test_no_resource_overrides_the_project_or_service_tag(stack: str, outdir: Path) -> None:
    resources = read_stack(outdir, stack).get("resource", {})

    overriding = [
        f"{resource_type}.{name}"
        for resource_type, instances in resources.items()
        for name, instance in instances.items()
        for field in ("tags", "tags_all")
        if isinstance(instance.get(field), dict) and {"Project", "Service"} & set(instance[field])
    ]
    assert overriding == []


@pytest.mark.parametrize("stack", STACKS)
def test_stack_is_a_complete_root_module(
    stack: str, outdir: Path, default_config: PlatformConfig
) -> None:
    module = read_stack(outdir, stack)
    terraform = module["terraform"]

    assert len(terraform.get("backend", {})) == 1
    regions = {config.get("region") for config in module["provider"]["aws"]}
    assert regions == {default_config.project.region}
    required = terraform["required_providers"]
    assert sorted(required) == sorted(used_providers(module))
    incomplete = [
        name for name, entry in required.items() if not {"source", "version"} <= set(entry)
    ]
    assert incomplete == []
