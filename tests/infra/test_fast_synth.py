"""Fast synth: the fast path is really taken, and nothing else changes.

A new provider binding or jsii release must not slip back to the slow path unnoticed: the
fast-path tests fail when Python imports more than a handful of provider submodules, when the
node preload did not replace the provider's index or fell back to the original code, when the
kernel was not the one started early (a direct child of Python, no relay), or when its
assemblies were not loaded from the start-up requests. The plain-import build
(CDK_PLAIN_IMPORTS=1, ~12 s) runs once, in a subprocess, for the byte comparison and its error.
The subprocess tests run once per engine (modules/engine.py), each with its own Python.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from modules import engine, fast_synth
from tests.conftest import REPO_ROOT
from tests.infra.synth_output import output_files, repository_stack_names

if TYPE_CHECKING:
    from collections.abc import Callable
    from subprocess import CompletedProcess

    from modules.engine import Engine
    from tests.infra.conftest import Stack

PROBE = Path(__file__).with_name("synth_probe.py")
SUBPROCESS_TIMEOUT_SECONDS = 300
# A synth of this app uses about a hundred of the binding's ~2,200 submodules (108 with the
# ingest API's API Gateway and WAF types).
MAX_SUBMODULES_LOADED = 150
MIN_SUBMODULES_AVAILABLE = 1000
# The zip library each engine's core loads only to zip a directory; the preload defers it.
DEFERRED_ZIP_LIBRARY = {"cdktf": "archiver", "cdktn": "fflate"}
FAILING_STACK = "probe-unprovided"  # tests/infra/synth_probe.py adds it in its second phase
MISSING_PROVIDER_MESSAGE = "Found resources without a matching provider construct"
PROVIDER_CLASS_IN_CODE = re.compile(r"\baws\.([a-z0-9_]+)\.([A-Z][A-Za-z0-9]*)\b")


@dataclass(frozen=True)
class ProbeRun:
    """One interpreter: a good synth into `outdir`, then a synth that fails into `failed_outdir`."""

    returncode: int
    stderr: str
    outdir: Path
    failed_outdir: Path
    python: dict[str, Any]  # tests/infra/synth_probe.py's report
    node: dict[str, Any] | None  # modules/fast_synth_preload.js's report; None: preload not run


def kernel_index(chosen: Engine) -> re.Pattern[str]:
    """Where the engine's provider index is inside the jsii kernel's temporary folder."""
    scope, name = chosen.provider_assembly.split("/")
    return re.compile(
        rf"[\\/]jsii-kernel-[^\\/]+[\\/]node_modules[\\/]{re.escape(scope)}[\\/]{name}"
        r"[\\/]lib[\\/]index\.js$"
    )


def run_probe(workdir: Path, *, plain: bool, chosen: Engine) -> ProbeRun:
    """The probe run by the engine's Python (CDK Terrain's venv is installed on first use)."""
    workdir.mkdir(parents=True)
    env = fast_synth.environment(plain=plain)
    env[engine.ENGINE_ENV] = chosen.name
    env["SYNTH_PROBE_REPORT"] = str(workdir / "python.json")
    env[fast_synth.REPORT_ENV] = str(workdir / "node.json")
    env["XDG_CACHE_HOME"] = str(workdir / "cache")  # an empty version-check cache
    outdir, failed_outdir = workdir / "cdktf.out", workdir / "failed.out"
    completed = subprocess.run(
        [
            str(engine.ensure_installed(chosen)),
            str(PROBE),
            "--root",
            str(REPO_ROOT),
            "--outdir",
            str(outdir),
            "--then-fail",
            str(failed_outdir),
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=False,
    )
    node_report = workdir / "node.json"
    return ProbeRun(
        returncode=completed.returncode,
        stderr=completed.stderr,
        outdir=outdir,
        failed_outdir=failed_outdir,
        python=json.loads((workdir / "python.json").read_text()),
        node=json.loads(node_report.read_text()) if node_report.exists() else None,
    )


@pytest.fixture(scope="module", params=list(engine.ENGINES.values()), ids=list(engine.ENGINES))
def synth_engine(request: pytest.FixtureRequest) -> Engine:
    return request.param


@pytest.fixture(scope="module")
def fast_run(synth_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> ProbeRun:
    workdir = tmp_path_factory.mktemp(f"fast-synth-{synth_engine.name}") / "run"
    return run_probe(workdir, plain=False, chosen=synth_engine)


@pytest.fixture(scope="module")
def plain_run(synth_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> ProbeRun:
    workdir = tmp_path_factory.mktemp(f"plain-synth-{synth_engine.name}") / "run"
    return run_probe(workdir, plain=True, chosen=synth_engine)


# --- the fast path is really taken ----------------------------------------------------------


def test_python_imports_only_the_provider_submodules_the_app_uses(
    fast_run: ProbeRun, synth_engine: Engine
) -> None:
    # Given a synth of the repository's app in a fresh interpreter of the engine
    # Then the provider package is the lazy one, and only a handful of its submodules loaded
    assert fast_run.python["main_status"] == 0
    assert fast_run.python["engine"] == synth_engine.name
    assert fast_run.python["package"] == fast_synth.LazyPackage.__name__
    assert fast_run.python["available"] >= MIN_SUBMODULES_AVAILABLE
    assert 0 < len(fast_run.python["submodules"]) <= MAX_SUBMODULES_LOADED


def test_node_answers_the_provider_index_with_lazy_getters(
    fast_run: ProbeRun, synth_engine: Engine
) -> None:
    # Given the same synth, Then the preload replaced the provider's index in the kernel's folder
    node = fast_run.node
    assert node is not None, "the preload wrote no report: it was not loaded into the kernel"
    assert node["fallback"] is None, f"the preload kept the eager index: {node['fallback']}"
    assert kernel_index(synth_engine).search(node["index"]), node["index"]
    # one getter per submodule, of which only the used ones ran
    assert node["exports"] == fast_run.python["available"]
    assert 0 < len(node["resolved"]) <= MAX_SUBMODULES_LOADED


def test_node_warmed_every_submodule_the_synth_used_and_loaded_no_others(
    fast_run: ProbeRun,
) -> None:
    # Given the submodules Python used and the ones node required (warm-up or on demand)
    assert fast_run.node is not None
    python_side = {fast_synth.jsii_name(name) for name in fast_run.python["submodules"]}
    warmed = set(fast_run.node["warmed"])
    # Then node had required every used one before the build needed it (the code names them all)
    assert python_side <= warmed
    # And it loaded nothing the code does not name
    named = {fast_synth.jsii_name(name) for name in fast_synth.provider_submodules_in_code()}
    assert set(fast_run.node["resolved"]) <= named
    assert warmed <= named


def test_the_kernel_was_started_early_and_without_jsii_s_relay(
    fast_run: ProbeRun, synth_engine: Engine
) -> None:
    # Given the kernel's own report and Python's
    assert fast_run.node is not None
    # Then the kernel is Python's own child (jsii's relay would be a node process in between)
    assert fast_run.node["ppid"] == fast_run.python["pid"]
    # And the engine's zip library was never loaded, only stood in for; tokens kept no stacks
    assert fast_run.node["deferred"] == [DEFERRED_ZIP_LIBRARY[synth_engine.name]]
    assert fast_run.node["tokenStacks"] == "skipped"
    # And all three assemblies were answered from the requests queued at start
    assert fast_run.python["assemblies_answered_at_start"] == [
        "constructs",
        synth_engine.core_package,
        synth_engine.provider_assembly,
    ]


def test_terraform_version_check_runs_at_most_once_per_synth(fast_run: ProbeRun) -> None:
    # Given cdktf's `terraform version` check on every DataResource (one per service)
    assert fast_run.node is not None
    checks = fast_run.node["versionChecks"]
    assert checks is not None, "cdktf's ValidateBinaryVersion was not patched"
    # Then the binary ran at most once per command, across both synths of the probe
    for command, counts in checks.items():
        assert counts["runs"] + counts["cached"] <= 1, (command, counts)


def test_in_process_synth_takes_the_fast_path(stacks: dict[str, Stack]) -> None:
    # Given the session's in-process synth (tests/infra/conftest.py)
    if fast_synth.plain_imports():
        pytest.skip(f"{fast_synth.PLAIN_IMPORTS_ENV} is set for this session")
    from modules.cdk import aws

    # Then the test session did not pay the full import cost either
    assert isinstance(aws, fast_synth.LazyPackage)
    package = engine.active().provider_package
    loaded = [name for name in sys.modules if name.startswith(f"{package}.")]
    assert 0 < len(loaded) <= MAX_SUBMODULES_LOADED


def test_every_submodule_jsii_name_matches_the_binding() -> None:
    # Given every provider submodule's generated code, which names its jsii namespace
    from modules.cdk import aws

    assembly = re.escape(engine.active().provider_assembly)
    jsii_type = re.compile(rf'jsii_type="{assembly}\.([A-Za-z0-9_]+)\.'.encode())
    mismatches = {}
    for name in aws.__all__:
        source = Path(aws.__path__[0], name, "__init__.py").read_bytes()
        found = jsii_type.search(source)
        actual = found.group(1).decode() if found else None
        if actual != fast_synth.jsii_name(name):
            mismatches[name] = actual
    # Then jsii can import any of them on demand through _submodule_fqn_map
    assert len(aws.__all__) >= MIN_SUBMODULES_AVAILABLE
    assert mismatches == {}


# --- every provider class the app uses resolves ---------------------------------------------


def provider_types_in_output(stacks: dict[str, Stack]) -> set[tuple[str, str]]:
    """(Terraform type, provider submodule) of every AWS provider, resource and data source."""
    found = set()
    for stack in stacks.values():
        found.update(("aws", "provider") for name in stack.get("provider", {}) if name == "aws")
        found.update(
            (tf_type, tf_type.removeprefix("aws_"))
            for tf_type in stack.get("resource", {})
            if tf_type.startswith("aws_")
        )
        found.update(
            (tf_type, f"data_{tf_type}")
            for tf_type in stack.get("data", {})
            if tf_type.startswith("aws_")
        )
    return found


def test_every_provider_type_in_the_output_resolves_to_its_class(stacks: dict[str, Stack]) -> None:
    # Given every AWS type the synthesized stacks hold
    from modules.cdk import aws

    wanted = provider_types_in_output(stacks)
    assert ("aws", "provider") in wanted
    # Then its submodule resolves and holds exactly one class of that Terraform type
    classes = {
        tf_type: [
            value
            for value in vars(getattr(aws, submodule)).values()
            if getattr(value, "TF_RESOURCE_TYPE", None) == tf_type
        ]
        for tf_type, submodule in wanted
    }
    assert sorted(tf_type for tf_type, found in classes.items() if len(found) != 1) == []


def test_every_provider_class_named_in_the_code_resolves() -> None:
    # Given every `aws.<submodule>.<Class>` written under modules/ (also in paths the default
    # configuration does not take, e.g. an existing network or S3 state)
    from modules.cdk import aws

    named = {
        match.groups()
        for path in (REPO_ROOT / "modules").rglob("*.py")
        for match in PROVIDER_CLASS_IN_CODE.finditer(path.read_text())
    }
    assert named, "no aws.<submodule>.<Class> found under modules/"
    missing = sorted(
        f"aws.{sub}.{cls}" for sub, cls in named if not hasattr(getattr(aws, sub, None), cls)
    )
    assert missing == []


# --- same output, same failures -------------------------------------------------------------


@pytest.mark.slow
def test_fast_and_plain_imports_write_the_same_bytes(
    fast_run: ProbeRun, plain_run: ProbeRun
) -> None:
    # Given the repository's app synthesized with the fast path and with plain imports
    # Then every file of cdktf.out/stacks and the manifest are byte-identical
    assert plain_run.python["main_status"] == 0
    assert output_files(fast_run.outdir) == output_files(plain_run.outdir)


@pytest.mark.slow
def test_plain_switch_really_takes_the_slow_path(plain_run: ProbeRun, synth_engine: Engine) -> None:
    # The comparison above means something only if CDK_PLAIN_IMPORTS takes the bindings as they
    # are: the package's own module, and no preload in node
    assert plain_run.python["package"] == "module"
    assert plain_run.node is None
    # cdktf's binding then imports every submodule; cdktn's imports on first use by itself
    if synth_engine is engine.CDKTF:
        assert len(plain_run.python["submodules"]) >= MIN_SUBMODULES_AVAILABLE


@pytest.mark.parametrize("variant", ["fast", pytest.param("plain", marks=pytest.mark.slow)])
def test_exception_during_synth_exits_nonzero_with_its_message(
    variant: str, synth_engine: Engine, request: pytest.FixtureRequest
) -> None:
    # Given a synth whose app fails cdktf's validation inside the node kernel (synth_probe.py)
    run: ProbeRun = request.getfixturevalue(f"{variant}_run")
    # Then main.py exits non-zero, prints the error, and leaves no output behind
    assert run.returncode == 1
    assert MISSING_PROVIDER_MESSAGE in run.stderr
    assert FAILING_STACK in run.stderr
    assert not run.failed_outdir.exists()


def run_main(tmp_path: Path, *args: str, plain: bool = False, **env: str) -> CompletedProcess:
    """`python main.py ARGS` with an empty TMPDIR of its own (tmp_path/tmp): what does it leave?"""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=REPO_ROOT,
        env={**fast_synth.environment(plain=plain), "TMPDIR": str(temporary), **env},
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=False,
    )


@pytest.mark.parametrize("plain", [False, True], ids=["fast", "plain"])
def test_bad_config_exits_2_with_its_message(
    plain: bool, repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    # Given a project file with an impossible region
    root = repo_copy()
    project = yaml.safe_load((root / "platform.yaml").read_text())
    project["region"] = "nowhere"
    (root / "platform.yaml").write_text(yaml.safe_dump(project))
    # When main.py runs on it (the fast path has started the kernel before reading the config)
    outdir = tmp_path / "cdktf.out"
    completed = run_main(tmp_path, "--root", str(root), "--outdir", str(outdir), plain=plain)
    # Then it exits 2 with just the problem and the summary, writes nothing, leaves nothing
    assert completed.returncode == 2
    assert completed.stderr.splitlines() == [
        "error: platform.yaml: region: must be an AWS region such as eu-west-1; got 'nowhere'",
        "1 problem(s); nothing was written.",
    ]
    assert not outdir.exists()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_main_py_without_node_says_what_to_install(tmp_path: Path) -> None:
    # Given JSII_NODE naming a program that does not exist
    node, outdir = tmp_path / "no-node", tmp_path / "cdktf.out"
    completed = run_main(tmp_path, "--outdir", str(outdir), JSII_NODE=str(node))
    # Then one line says what is missing and what to do, not a traceback; nothing is left
    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [
        f"error: cannot start the jsii kernel with '{node}': No such file or directory. "
        "It needs Node.js: install it, or set JSII_NODE to its path."
    ]
    assert not outdir.exists()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_main_py_exits_0_and_cleans_up_after_a_good_synth(tmp_path: Path) -> None:
    # Given `python main.py`, which ends with os._exit after its exit handlers
    outdir = tmp_path / "cdktf.out"
    completed = run_main(tmp_path, "--outdir", str(outdir))
    # Then it exits 0 with every stack written, and jsii's temporary files are gone (the
    # kernel's jsii-kernel-* folder and our copy of the kernel's scripts, jsii-runtime-*)
    assert completed.returncode == 0, completed.stderr
    assert sorted(path.name for path in (outdir / "stacks").iterdir()) == sorted(
        repository_stack_names()
    )
    assert list((tmp_path / "tmp").iterdir()) == []
