"""The fast synth path's guard: every private part it relies on is where it expects it, the
versions it was written for are the installed ones, and any other version makes main.py take the
plain path with one warning line and the same output.

Each engine has its own jsii, constructs and bindings, so each check runs in the engine's Python
(tests/infra/fast_synth_internals.py), once per engine.
"""

from __future__ import annotations

import functools
import json
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from modules import engine, fast_synth
from tests.conftest import REPO_ROOT
from tests.infra.fast_synth_internals import CHECKS
from tests.infra.synth_output import output_files

if TYPE_CHECKING:
    from pathlib import Path

    from modules.engine import Engine

CHECKER = REPO_ROOT / "tests" / "infra" / "fast_synth_internals.py"
SUBPROCESS_TIMEOUT_SECONDS = 300
# A version no release has: what the fallback test pretends the fast path was written for.
OTHER_VERSION = "0.0.0-other"

# main.py as `python main.py ARGS` runs it, after the table of versions says that the fast path
# was written for another jsii: how a version bump looks to it.
MAIN_WRITTEN_FOR_OTHER_JSII = f"""
import runpy, sys
sys.path.insert(0, {str(REPO_ROOT)!r})
from modules import engine, fast_synth
fast_synth.WRITTEN_FOR[engine.active().name]["jsii"] = {OTHER_VERSION!r}
sys.argv = ["main.py", *sys.argv[1:]]
runpy.run_path({str(REPO_ROOT / "main.py")!r}, run_name="__main__")
"""


def run_in_engine(chosen: Engine, arguments: list[str], **env: str) -> subprocess.CompletedProcess:
    """The engine's Python (its venv installed on first use) with `arguments`, told its engine."""
    return subprocess.run(
        [str(engine.ensure_installed(chosen)), *arguments],
        cwd=REPO_ROOT,
        env={**fast_synth.environment(plain=False), engine.ENGINE_ENV: chosen.name, **env},
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=False,
    )


@functools.cache
def checked(engine_name: str) -> dict[str, Any]:
    """tests/infra/fast_synth_internals.py's findings in the engine's Python."""
    completed = run_in_engine(engine.named(engine_name), [str(CHECKER)])
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_every_internal_has_a_check_and_every_check_an_internal() -> None:
    assert sorted(CHECKS) == sorted(internal.name for internal in fast_synth.INTERNALS)


def test_every_internal_names_a_component_of_written_for() -> None:
    components = {
        component for versions in fast_synth.WRITTEN_FOR.values() for component in versions
    }
    assert {internal.component for internal in fast_synth.INTERNALS} <= components
    assert set(fast_synth.WRITTEN_FOR) == set(engine.ENGINES)


@pytest.mark.parametrize("engine_name", list(engine.ENGINES))
def test_the_installed_versions_are_the_ones_the_fast_path_was_written_for(
    engine_name: str,
) -> None:
    # Given the engine's interpreter, its packages and node
    mismatches = checked(engine_name)["mismatches"]
    # Then the fast path runs there; otherwise every synth takes the plain path
    assert mismatches == [], (
        f"fast synth is off with {engine_name}: {'; '.join(mismatches)}. Check each of "
        "fast_synth.INTERNALS with these versions (this file's other tests), then update "
        "fast_synth.WRITTEN_FOR."
    )


@pytest.mark.parametrize(
    ("engine_name", "internal"),
    [
        pytest.param(name, internal, id=f"{name}-{internal.name}")
        for name in engine.ENGINES
        for internal in fast_synth.INTERNALS
        if name in internal.engines
    ],
)
def test_each_internal_is_where_the_fast_path_needs_it(
    engine_name: str, internal: fast_synth.Internal
) -> None:
    # Given the engine's own jsii, bindings and node
    chosen = engine.named(engine_name)
    component = fast_synth.component_name(internal.component, chosen)
    version = fast_synth.WRITTEN_FOR[engine_name][internal.component]
    # Then the private part is there, as the fast path uses it
    problem = checked(engine_name)["problems"][internal.name]
    assert problem is None, (
        f"{internal.name} ({component} {version}) is no longer as the fast path uses it: "
        f"{problem}. The fast path needs it: {internal.needed_for}."
    )


@pytest.mark.slow
@pytest.mark.parametrize("engine_name", list(engine.ENGINES))
def test_another_version_takes_the_plain_path_with_one_warning_and_the_same_output(
    engine_name: str, tmp_path: Path
) -> None:
    # Given main.py, fast, and main.py when the fast path was written for another jsii
    chosen = engine.named(engine_name)
    fast_outdir, plain_outdir = tmp_path / "fast", tmp_path / "fallback"
    fast = run_in_engine(chosen, ["main.py", "--outdir", str(fast_outdir)])
    node_report = tmp_path / "node.json"
    fallback = run_in_engine(
        chosen,
        ["-c", MAIN_WRITTEN_FOR_OTHER_JSII, "--outdir", str(plain_outdir)],
        **{fast_synth.REPORT_ENV: str(node_report)},
    )
    # Then the fast one says nothing on stderr, and the other says one line: what differs
    assert (fast.returncode, fast.stderr) == (0, "")
    installed_jsii = fast_synth.WRITTEN_FOR[engine_name]["jsii"]
    assert fallback.stderr.splitlines() == [
        "warning: fast synth is off, so this synth is slower (same output): it was written for "
        f"other versions than these: jsii {installed_jsii} (written for {OTHER_VERSION})"
    ]
    # And the synth succeeds plainly (the node preload never ran), writing the same bytes
    assert fallback.returncode == 0
    assert not node_report.exists()
    assert output_files(plain_outdir) == output_files(fast_outdir)


FAKE_NODE = """#!/bin/sh
echo asked >> "$(dirname "$0")/asked"
echo v{major}.1.2
"""


def test_nodes_version_is_asked_once_per_binary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a node binary, and an empty cache
    node = tmp_path / "node"
    node.write_text(FAKE_NODE.format(major=99))
    node.chmod(0o755)
    monkeypatch.setenv("JSII_NODE", str(node))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # When the versions are read twice, Then node was asked once
    assert fast_synth.installed_versions(engine.active())["node"] == "99"
    assert fast_synth.installed_versions(engine.active())["node"] == "99"
    assert (tmp_path / "asked").read_text().splitlines() == ["asked"]
    # And a replaced binary is asked again
    node.write_text(FAKE_NODE.format(major=100))
    assert fast_synth.installed_versions(engine.active())["node"] == "100"
    assert (tmp_path / "asked").read_text().splitlines() == ["asked", "asked"]
