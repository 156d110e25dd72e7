"""`make e2e` given what it cannot work with: one clear line, a non-zero exit, nothing left running.

Most cases stop before anything starts. One applies for real until a stack fails (the image push
of the first service stacks), to show that a failed apply is reported by stack and that the local
AWS it started is stopped.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from devtools.e2e.schedule import reverse, run_in_order
from devtools.terraform_offline import Toolchain, ToolchainMissing
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from pathlib import Path

E2E = [sys.executable, "-m", "devtools.e2e"]
# Everything but a failing apply finishes before any stack is touched.
QUICK_TIMEOUT_SECONDS = 120
APPLY_TIMEOUT_SECONDS = 900


def run_e2e(
    *args: str, env: dict[str, str] | None = None, timeout: float = QUICK_TIMEOUT_SECONDS
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*E2E, *args],
        cwd=REPO_ROOT,
        env=env if env is not None else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_without_terraform_it_says_so_and_exits_2() -> None:
    # Given a PATH without terraform (python itself is called by its full path)
    env = {**os.environ, "PATH": "/nonexistent"}

    # When the round trip starts
    result = run_e2e(env=env)

    # Then one line says what is missing and what to install
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "error: terraform is not on PATH: install Terraform >= 1.10"
    ]
    assert "Traceback" not in result.stderr


def test_without_the_provider_mirror_it_says_where_it_looked(tmp_path: Path) -> None:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH")
    # Given a mirror setting that points at an empty folder
    env = {**os.environ, "TF_PROVIDER_MIRROR": str(tmp_path)}

    # When the round trip starts
    result = run_e2e(env=env)

    # Then it names the setting and what the folder lacks
    assert result.returncode == 2
    [line] = error_lines(result.stderr)
    assert line.startswith(f"error: no offline AWS provider: TF_PROVIDER_MIRROR={tmp_path} holds")


def test_a_real_account_needs_an_explicit_prefix_of_its_own() -> None:
    # When the round trip is pointed at a real account without a prefix, or with the configured one
    for args in (["--real-account"], ["--real-account", "--prefix", "workers"]):
        result = run_e2e(*args)

        # Then it refuses before touching anything
        assert result.returncode == 2, args
        [line] = error_lines(result.stderr)
        assert "needs a project prefix of its own" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prefix", "Bad_Prefix"], "is not a project prefix"),
        (["--parallel", "0"], "is not a number from 1 to 8"),
        (["--port", "80"], "is not a port from 1024 to 65535"),
    ],
)
def test_a_bad_argument_is_named(args: list[str], message: str) -> None:
    result = run_e2e(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_named() -> None:
    try:
        Toolchain.locate()
    except ToolchainMissing as missing:
        pytest.skip(missing.reason)
    # Given a port someone else listens on
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        # When the round trip is asked to start its local AWS there
        result = run_e2e("--port", str(port))

    # Then it says so
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        f"error: port {port} on 127.0.0.1 is in use: pick another, or leave the port out to "
        "use a free one"
    ]


@pytest.mark.slow
def test_a_failed_image_push_fails_the_apply_of_its_stack_and_stops_the_local_aws() -> None:
    try:
        Toolchain.locate()
    except ToolchainMissing as missing:
        pytest.skip(missing.reason)
    # Given a docker stand-in whose push fails
    env = {**os.environ, "FAKE_DOCKER_FAIL": "push"}

    # When the round trip applies
    result = run_e2e("--parallel", "2", env=env, timeout=APPLY_TIMEOUT_SECONDS)

    # Then it fails, naming a service stack's apply and the push
    assert result.returncode == 1, result.stderr[-2000:]
    assert re.search(r"^error: (consumer|crunch): apply failed", result.stderr, re.MULTILINE)
    assert "push" in result.stderr
    # And the local AWS it started is gone
    port = int(re.search(r"moto_server at http://127.0.0.1:(\d+)", result.stdout).group(1))
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_stacks_start_after_what_they_read_and_a_failure_stops_new_starts() -> None:
    # Given b and c read a, and d reads c
    upstream = {
        "a": frozenset(),
        "b": frozenset({"a"}),
        "c": frozenset({"a"}),
        "d": frozenset({"c"}),
    }
    started: list[str] = []

    def step(stack: str) -> None:
        started.append(stack)
        if stack == "c":
            raise RuntimeError("c failed")

    # When they run in order, one at a time
    failures = run_in_order(upstream, upstream, step, parallel=1)

    # Then a runs first, c's failure is reported and d, which reads c, never starts
    assert started[0] == "a"
    assert "d" not in started
    assert [(stack, str(error)) for stack, error in failures] == [("c", "c failed")]


def test_destroying_waits_for_every_reader() -> None:
    upstream = {"cluster": frozenset(), "consumer": frozenset({"cluster"})}
    order: list[str] = []
    assert run_in_order(upstream, reverse(upstream), order.append, parallel=2) == []
    assert order == ["consumer", "cluster"]
