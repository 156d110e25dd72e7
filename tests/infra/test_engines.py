"""Both engines write the same stacks: CDKTF (the default) and CDK Terrain (`engine: cdktn`).

The default configuration is synthesized by `python main.py` twice, from two copies that differ
only in platform.yaml's `engine:` line; for cdktn, main.py runs again in the engine's own venv
(installed on first use, about a minute). The outputs are then compared as Terraform reads them
(parsed JSON: cdktn writes an empty list as `[]` where cdktf wrote `[\\n]`), resource by
resource: the same stacks, the same addresses in each, the same attributes at each address, and
the same bytes in every other file (the Lambda bundles). The differences there are, and why, are
EXPECTED_DIFFERENCES; any other difference, or a listed one that is gone, fails the test.

None of the differences is in a resource: no attribute the newer provider schema (6.69.1) added
or changed is written, so the cdktn output also passes `terraform validate` against the offline
mirror's AWS provider 5.100.0 (an argument 5.100.0 does not know would be an error there).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from modules import engine
from modules.config import PROJECT_FILE, WORKERS_DIR, ConfigError, ProjectConfig, load_config
from tests.conftest import REPO_ROOT
from tests.helpers.toolchains import offline_validator
from tests.infra.synth_output import MANIFEST, repository_stack_names

if TYPE_CHECKING:
    from pathlib import Path

    from devtools.terraform_offline import OfflineValidator

SYNTH_TIMEOUT_SECONDS = 600  # the first cdktn synth on a machine installs its venv
STACK_FILE = "cdk.tf.json"
# Blocks whose entries are addressed by type and name (`aws_sqs_queue.work_queue_1A2B`).
TYPED_BLOCKS = ("resource", "data")


@dataclass(frozen=True)
class Difference:
    """One attribute whose value differs between the engines' output of a stack."""

    address: str  # e.g. `terraform`, `resource.aws_sqs_queue.queue_1A2B`
    attribute: str  # a dotted path below the address, list items by index
    cdktf: object
    cdktn: object


@dataclass(frozen=True)
class Expected:
    """A difference every stack shows, and why it is right."""

    difference: Difference
    why: str


EXPECTED_DIFFERENCES = (
    Expected(
        Difference("terraform", "required_providers.aws.version", "6.25.0", "6.69.1"),
        "The newer provider schema: each binding pins the AWS provider it was generated from "
        "(cdktf-cdktf-provider-aws 21.22.1: 6.25.0; cdktn-provider-aws 25.8.1: 6.69.1), so "
        "`terraform init` installs 6.69.1 with cdktn. No resource uses an argument 6.25 lacks.",
    ),
    Expected(
        Difference("terraform", "required_providers.aws.source", "aws", "hashicorp/aws"),
        "The same provider, spelled in full: Terraform reads a bare `aws` as "
        "registry.terraform.io/hashicorp/aws, which is what the state records either way.",
    ),
    Expected(
        Difference("//", "metadata.version", "0.21.0", "0.24.0"),
        "The engine's own version, in the metadata under `//`, which Terraform ignores.",
    ),
)
MANIFEST_DIFFERENCES = (
    Expected(
        Difference("manifest", "version", "0.21.0", "0.24.0"),
        "The engine's version; the CLIs read the stacks' paths from the manifest, which agree.",
    ),
)


# --- synthesizing with each engine ----------------------------------------------------------


def config_copy(root: Path, engine_line: str | None) -> Path:
    """platform.yaml and workers/ of the repository in `root`, with `engine_line` appended."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO_ROOT / WORKERS_DIR, root / WORKERS_DIR, ignore=ignore)
    project = (REPO_ROOT / PROJECT_FILE).read_text()
    if engine_line is not None:
        project += f"{engine_line}\n"
    (root / PROJECT_FILE).write_text(project)
    return root


def synth_main(root: Path, outdir: Path) -> subprocess.CompletedProcess[str]:
    """`python main.py` of the repository on the configuration at `root`, as `make synth` runs
    it (the project's Python, no CDK_ENGINE)."""
    env = {key: value for key, value in os.environ.items() if key != engine.ENGINE_ENV}
    return subprocess.run(
        [sys.executable, "main.py", "--root", str(root), "--outdir", str(outdir)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
        check=False,
    )


@dataclass(frozen=True)
class Outputs:
    cdktf: Path
    cdktn: Path


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    engine.ensure_installed(engine.CDKTN)  # here, not inside a timed synth
    work = tmp_path_factory.mktemp("engines")
    found = {}
    for name, line in (("cdktf", None), ("cdktn", "engine: cdktn")):
        root = config_copy(work / f"{name}-config", line)
        outdir = work / f"{name}.out"
        completed = synth_main(root, outdir)
        assert completed.returncode == 0, f"{name}: {completed.stderr}"
        found[name] = outdir
    return Outputs(**found)


def stack(outdir: Path, name: str) -> dict[str, Any]:
    return json.loads((outdir / "stacks" / name / STACK_FILE).read_text())


# --- normalizing and comparing --------------------------------------------------------------


def addressed(module: dict[str, Any]) -> dict[str, Any]:
    """A module's blocks by Terraform address: `resource.<type>.<name>`, `data.<type>.<name>`,
    `output.<name>`, and the rest (`terraform`, `provider`, `//`) by their key."""
    found: dict[str, Any] = {}
    for block, body in module.items():
        if block in TYPED_BLOCKS:
            for kind, items in body.items():
                found.update({f"{block}.{kind}.{name}": item for name, item in items.items()})
        elif block == "output":
            found.update({f"output.{name}": item for name, item in body.items()})
        else:
            found[block] = body
    return found


def differences(address: str, cdktf: Any, cdktn: Any, path: str = "") -> list[Difference]:
    """Every attribute below `address` whose value differs, deepest first."""
    if isinstance(cdktf, dict) and isinstance(cdktn, dict):
        return [
            found
            for key in sorted(cdktf.keys() | cdktn.keys())
            for found in differences(
                address, cdktf.get(key), cdktn.get(key), f"{path}.{key}" if path else key
            )
        ]
    if isinstance(cdktf, list) and isinstance(cdktn, list) and len(cdktf) == len(cdktn):
        return [
            found
            for index, (left, right) in enumerate(zip(cdktf, cdktn, strict=True))
            for found in differences(address, left, right, f"{path}[{index}]")
        ]
    return [] if cdktf == cdktn else [Difference(address, path, cdktf, cdktn)]


def stack_differences(cdktf: dict[str, Any], cdktn: dict[str, Any]) -> list[Difference]:
    left, right = addressed(cdktf), addressed(cdktn)
    assert sorted(left) == sorted(right), "the engines put different blocks at the addresses"
    return [
        found for address in left for found in differences(address, left[address], right[address])
    ]


def other_files(outdir: Path) -> dict[str, bytes]:
    """Every file of the output but the modules and the manifest (the Lambda bundles)."""
    return {
        path.relative_to(outdir).as_posix(): path.read_bytes()
        for path in sorted(outdir.rglob("*"))
        if path.is_file() and path.name not in (STACK_FILE, MANIFEST)
    }


# --- the comparison -------------------------------------------------------------------------


def test_both_engines_write_the_same_stacks_and_the_same_other_files(outputs: Outputs) -> None:
    # Given the default configuration synthesized by each engine
    # Then the same stacks are written, and every file besides the modules is byte-identical
    written = {
        name: sorted(path.parent.name for path in outdir.glob(f"stacks/*/{STACK_FILE}"))
        for name, outdir in (("cdktf", outputs.cdktf), ("cdktn", outputs.cdktn))
    }
    assert written["cdktf"] == written["cdktn"] == sorted(repository_stack_names())
    assert other_files(outputs.cdktf) == other_files(outputs.cdktn)
    assert other_files(outputs.cdktf), "no Lambda bundle in the output: the comparison is empty"


@pytest.mark.parametrize("name", repository_stack_names())
def test_each_resource_has_the_same_address_in_both(outputs: Outputs, name: str) -> None:
    # Given one stack as each engine wrote it
    cdktf, cdktn = stack(outputs.cdktf, name), stack(outputs.cdktn, name)
    # Then every resource, data source and output has the same address: state moves nowhere
    assert sorted(addressed(cdktf)) == sorted(addressed(cdktn))
    assert any(address.startswith("resource.") for address in addressed(cdktf))


@pytest.mark.parametrize("name", repository_stack_names())
def test_attributes_differ_only_where_listed(outputs: Outputs, name: str) -> None:
    # Given one stack as each engine wrote it, compared attribute by attribute
    found = stack_differences(stack(outputs.cdktf, name), stack(outputs.cdktn, name))
    # Then the differences are exactly the listed ones: none in a resource, data source or output
    assert sorted(found, key=repr) == sorted(
        (expected.difference for expected in EXPECTED_DIFFERENCES), key=repr
    )


def test_the_manifests_differ_only_in_the_engine_version(outputs: Outputs) -> None:
    # Given the manifest each engine wrote (stack names, working directories, file paths)
    cdktf = json.loads((outputs.cdktf / MANIFEST).read_text())
    cdktn = json.loads((outputs.cdktn / MANIFEST).read_text())
    # Then only the version differs
    assert differences("manifest", cdktf, cdktn) == [
        expected.difference for expected in MANIFEST_DIFFERENCES
    ]


def test_every_listed_difference_says_why() -> None:
    for expected in (*EXPECTED_DIFFERENCES, *MANIFEST_DIFFERENCES):
        assert len(expected.why) >= 40, expected


# --- terraform validate of the cdktn output, offline ---------------------------------------


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> OfflineValidator:
    return offline_validator(tmp_path_factory.mktemp("terraform-validate-cdktn"))


@pytest.mark.slow
@pytest.mark.parametrize("name", repository_stack_names())
def test_cdktn_stack_passes_terraform_validate(
    outputs: Outputs, validator: OfflineValidator, name: str
) -> None:
    # Given a stack CDK Terrain wrote (for provider 6.69.1), pinned to the mirror's 5.100.0
    result = validator.validate(outputs.cdktn / "stacks" / name)
    # Then Terraform accepts it: no argument in it is one 5.100.0 does not know
    assert result.valid, f"terraform validate rejected the stack:\n{result.report()}"


# --- choosing the engine --------------------------------------------------------------------


def test_the_config_field_names_exactly_the_known_engines() -> None:
    field = ProjectConfig.model_fields["engine"]
    assert set(typing.get_args(field.annotation)) == set(engine.ENGINES)
    assert field.default == engine.DEFAULT.name


def test_an_unknown_engine_in_platform_yaml_is_a_config_error(tmp_path: Path) -> None:
    # Given platform.yaml naming an engine there is not
    root = config_copy(tmp_path / "config", "engine: terraform")
    # Then loading it says which engines there are, in the loader's words
    with pytest.raises(ConfigError) as raised:
        load_config(root)
    assert raised.value.problems == [
        "platform.yaml: engine: Input should be 'cdktf' or 'cdktn'; got 'terraform'"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("project: workers\n", "cdktf"),
        ("project: workers\nengine: cdktn\n", "cdktn"),
        ("engine: 'cdktn'   # the fork\nproject: workers\n", "cdktn"),
        ('engine: "cdktf"\n', "cdktf"),
        ("engine: terraform\n", "cdktf"),  # unknown: the loader rejects it, with its message
        ("tags:\n  engine: cdktn\n", "cdktf"),  # not the top-level field
        ("{project: workers, engine: cdktn}\n", "cdktf"),  # main.py corrects this one (below)
    ],
)
def test_main_py_reads_the_engine_line_before_the_configuration(
    tmp_path: Path, text: str, expected: str
) -> None:
    (tmp_path / PROJECT_FILE).write_text(text)
    assert engine.configured(tmp_path).name == expected


def test_tools_importing_the_classes_get_an_installed_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given CDK_ENGINE naming cdktn in the project's Python, which has cdktf only (the pipeline
    # runs here and imports modules/constructs to read image tags; main.py switches by itself)
    monkeypatch.setenv(engine.ENGINE_ENV, engine.CDKTN.name)
    monkeypatch.setattr(engine, "_CHOSEN", [])  # as in a tool, where main.py chose nothing
    assert not engine.installed_here(engine.CDKTN)
    # Then the classes come from the engine installed here, without an error
    assert engine.active() is engine.CDKTF


def test_a_loaded_engine_other_than_the_line_said_runs_main_py_again() -> None:
    # Given main.py chose cdktf from the line, and the loaded configuration says cdktn
    assert engine.confirm(engine.CDKTF, "cdktn") is engine.CDKTN
    # Then it runs again with cdktn; when they agree, it goes on
    assert engine.confirm(engine.CDKTN, "cdktn") is None


def test_the_engine_venv_holds_the_group_and_the_projects_own_pins() -> None:
    # Given pyproject.toml's `cdktn` group and the project's pins
    wanted = engine.requirements(engine.CDKTN)
    # Then the venv gets the engine's pins, and the project's exact pins of what a synth imports
    assert wanted[:2] == ["cdktn==0.24.0", "cdktn-provider-aws==25.8.1"]
    pinned = [item for item in wanted if "==" in item]
    assert pinned == wanted
    names = [item.split("==")[0] for item in wanted]
    assert set(engine.SYNTH_DEPENDENCIES) <= set(names)
    assert "cdktf" not in names and "boto3" not in names  # nothing a synth does not need


@pytest.mark.slow
def test_main_py_corrects_an_engine_the_line_did_not_show(tmp_path: Path) -> None:
    # Given platform.yaml in flow style, naming cdktn where main.py's first look cannot see it
    root = config_copy(tmp_path / "config", None)
    (root / PROJECT_FILE).write_text(
        "{project: workers, region: eu-west-1, tags: {owner: platform-team}, engine: cdktn}\n"
    )
    outdir = tmp_path / "cdktf.out"
    # When main.py synthesizes it
    completed = synth_main(root, outdir)
    # Then cdktn wrote the stacks (main.py ran again in its venv, after stopping its kernel)
    assert completed.returncode == 0, completed.stderr
    assert json.loads((outdir / MANIFEST).read_text())["version"] == "0.24.0"


def test_an_unknown_engine_in_the_environment_is_one_line(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "main.py", "--outdir", str(tmp_path / "out")],
        cwd=REPO_ROOT,
        env={**os.environ, engine.ENGINE_ENV: "pulumi"},
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr.splitlines() == ["error: unknown engine 'pulumi'; known: cdktf, cdktn"]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_configured_engines_cli_synthesizes(tmp_path: Path) -> None:
    # Given CDK Terrain as the engine, and `make deploy`'s way of running the engine's CLI
    # (cdktn-cli 0.24.0 and the Node.js 22 it needs, installed beside the engine on first use)
    outdir = tmp_path / "cdktf.out"
    completed = subprocess.run(
        [sys.executable, "-m", "modules.engine", "cli", "synth", "--output", str(outdir)],
        cwd=REPO_ROOT,
        env={**os.environ, engine.ENGINE_ENV: engine.CDKTN.name, "CHECKPOINT_DISABLE": "1"},
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
        check=False,
    )
    # When it synthesizes (the CLI runs cdktf.json's app, main.py, which switches to cdktn)
    # Then every stack is written, by cdktn
    assert completed.returncode == 0, completed.stdout + completed.stderr
    written = sorted(path.parent.name for path in outdir.glob(f"stacks/*/{STACK_FILE}"))
    assert written == sorted(repository_stack_names())
    assert json.loads((outdir / MANIFEST).read_text())["version"] == "0.24.0"
