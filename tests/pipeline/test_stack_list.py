"""`make deploy` and `make plan` without STACK, or with one that does not exist: the stacks there
are, in the order a first apply takes them, from the configuration (no synth, no AWS)."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from modules.config import load_config
from pipeline.__main__ import main
from pipeline.stack_list import apply_order
from tests.conftest import REPO_ROOT
from tests.infra.conftest import repo_copy

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

__all__ = ["repo_copy"]

APPLY_ORDER = "cluster, logs, consumer, crunch, ingest, producer, reporter"


def test_platform_stacks_then_services_read_by_others_then_their_readers() -> None:
    assert ", ".join(apply_order(load_config(REPO_ROOT))) == APPLY_ORDER


def test_a_scheduled_job_that_watches_nothing_comes_with_the_consumers(
    repo_copy: Callable[[], Path],
) -> None:
    root = repo_copy()
    spec = root / "workers" / "reporter" / "service.yaml"
    spec.write_text(spec.read_text().replace("watches: consumer\n", ""))

    assert apply_order(load_config(root)) == [
        "cluster",
        "logs",
        "consumer",
        "crunch",
        "reporter",
        "ingest",
        "producer",
    ]


@pytest.mark.parametrize(
    ("stack", "said"),
    [
        ("", "error: STACK is required: make deploy STACK=<name>; stacks, in apply order: "),
        ("nope", "error: no stack 'nope' in this configuration; stacks, in apply order: "),
    ],
)
def test_a_missing_or_unknown_stack_lists_the_stacks(
    stack: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--repo", str(REPO_ROOT), "stacks", "--need", stack, "--for", "make deploy"])

    assert code == 2
    assert capsys.readouterr().err == f"{said}{APPLY_ORDER}\n"


def test_a_known_stack_passes_silently(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--repo", str(REPO_ROOT), "stacks", "--need", "producer"]) == 0
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(("target", "command"), [("deploy", "make deploy"), ("plan", "make plan")])
def test_make_without_stack_says_which_stacks_exist(target: str, command: str) -> None:
    if shutil.which("make") is None:
        pytest.skip("GNU make is not on PATH")
    leaking = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "STACK"}
    env = {key: value for key, value in os.environ.items() if key not in leaking}

    completed = subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode != 0
    assert (
        f"error: STACK is required: {command} STACK=<name>; stacks, in apply order: {APPLY_ORDER}"
        in completed.stderr.splitlines()
    )
