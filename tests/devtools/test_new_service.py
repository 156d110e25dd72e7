"""`make new-service NAME=<name> KIND=<kind>` (devtools/new_service): the few files a service owns,
a spec that is the kind's reference, and refusals that write nothing. The slow test runs it with
make, for every kind that runs containers, in a fresh copy of the repository, then `make synth`
and the new services' own tests, as the README's quick path says."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from typing import TYPE_CHECKING

import pytest
import yaml

from devtools.new_service import MODELS, Refused, plan, write
from devtools.new_service.__main__ import main
from modules.config import SERVICE_FILE, ServiceBase, load_config
from modules.config.limits import NAME_LIMITS, NameLimit
from tests.conftest import REPO_ROOT
from tests.infra.conftest import repo_copy
from workers.runtime.kinds import KINDS

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

__all__ = ["repo_copy"]  # the infrastructure tests' fixture, used here too

OWN_FILES = ["__init__.py", "handler.py", "requirements.txt", SERVICE_FILE, "test_handler.py"]
MAKE_TIMEOUT_SECONDS = 300
# What a caller's make must not hand down to the make run in the copy.
LEAKING = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CDKTF_OUTDIR"}


def folder_files(root: Path) -> dict[str, bytes]:
    workers = root / "workers"
    return {
        path.relative_to(workers).as_posix(): path.read_bytes()
        for path in workers.rglob("*")
        if path.is_file()
    }


def test_every_kind_that_runs_containers_has_a_template() -> None:
    assert sorted(MODELS) == sorted(KINDS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_new_service_is_its_own_files_and_loads_with_every_default(
    kind: str, repo_copy: Callable[[], Path]
) -> None:
    # Given a copy of the repository
    root = repo_copy()

    # When a new service of the kind is written
    folder = write(root, plan(load_config(root), "thumbnails", kind, None))

    # Then it holds the files it owns, none names it, and its spec loads, checked code included
    assert sorted(path.name for path in folder.iterdir()) == OWN_FILES
    assert not any(b"thumbnails" in path.read_bytes() for path in folder.iterdir())
    spec = load_config(root, check_code=True).service("thumbnails")
    assert isinstance(spec, MODELS[kind])
    # every optional field is commented with its default: uncommenting them all changes nothing
    uncommented = "\n".join(
        line.removeprefix("# ") if _is_commented_field(line) else line
        for line in (folder / SERVICE_FILE).read_text().splitlines()
    )
    data = yaml.safe_load(uncommented)
    assert data["handler"] == f"handler:{KINDS[kind].function}"
    (folder / SERVICE_FILE).write_text(uncommented)
    again = load_config(root, check_code=True).service("thumbnails")
    assert again.model_dump(exclude={"handler"}) == spec.model_dump(exclude={"handler"})
    assert isinstance(again, ServiceBase)
    settings = again.task_settings(region="")
    assert (settings.kind, settings.handler) == (
        kind,
        f"workers.thumbnails.handler:{KINDS[kind].function}",
    )


def _is_commented_field(line: str) -> bool:
    """`# name: value` or its indented continuation, not a description comment."""
    text = line.removeprefix("# ")
    return line.startswith("# ") and (
        text.startswith("  ") or (":" in text and text.split(":")[0].isidentifier())
    )


def test_a_producer_sends_to_the_only_consumer_or_the_one_named(
    repo_copy: Callable[[], Path],
) -> None:
    root = repo_copy()
    config = load_config(root)

    default = yaml.safe_load(plan(config, "feeder", "producer", None).files[SERVICE_FILE])
    named = yaml.safe_load(plan(config, "feeder", "producer", "consumer").files[SERVICE_FILE])

    assert default["sends_to"] == named["sends_to"] == "consumer"


@pytest.mark.parametrize(
    ("name", "kind", "sends_to", "said"),
    [
        ("", "consumer", None, "NAME is required: make new-service NAME=<name> KIND="),
        ("Thumbnails", "consumer", None, "NAME 'Thumbnails' is not valid: it must be lowercase"),
        ("a" * 21, "consumer", None, "is not valid: it must be lowercase letters, digits and '-'"),
        ("9lives", "consumer", None, "is not valid"),
        ("../up", "consumer", None, "is not valid"),
        ("cluster", "consumer", None, "NAME 'cluster' is taken by the platform"),
        ("runtime", "job", None, "NAME 'runtime' is taken by the platform"),
        ("consumer", "consumer", None, "workers/consumer already exists; choose another NAME"),
        ("thumbnails", "", None, "KIND is required"),
        ("thumbnails", "worker", None, "KIND 'worker' is not valid: it must be one of consumer, "),
        ("thumbnails", "ingest", None, "KIND 'ingest' runs no code of its own"),
        ("thumbnails", "producer", "nobody", "SENDS_TO 'nobody' is not a consumer; consumers: "),
        ("thumbnails", "job", "consumer", "SENDS_TO is for a producer"),
    ],
)
def test_a_bad_request_is_refused_in_one_line_and_writes_nothing(
    repo_copy: Callable[[], Path],
    capsys: pytest.CaptureFixture[str],
    name: str,
    kind: str,
    sends_to: str | None,
    said: str,
) -> None:
    root = repo_copy()
    before = folder_files(root)

    code = main([name, kind, "--root", str(root), *(["--sends-to", sends_to] if sends_to else [])])

    assert code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ") and said in line and line.endswith("nothing was written.")
    assert folder_files(root) == before  # scratch folders included


def test_a_name_too_long_with_the_project_prefix_is_refused(
    repo_copy: Callable[[], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a limit that the project and a new name exceed together (no real one can: the name
    # patterns keep every name within AWS's limits; a stricter table stands in)
    strict = NameLimit("IAM role name", 25, lambda project, service: f"{project}-{service}-task")
    monkeypatch.setitem(NAME_LIMITS, "aws_iam_role.name", strict)

    with pytest.raises(Refused, match=r"IAM role name would be 26 characters .* at most 25"):
        plan(load_config(repo_copy()), "thumbnails-xx", "consumer", None)


def test_a_producer_without_any_consumer_is_refused(repo_copy: Callable[[], Path]) -> None:
    root = repo_copy()
    for name in ("consumer", "producer", "reporter", "ingest"):
        shutil.rmtree(root / "workers" / name)

    with pytest.raises(Refused, match="none is declared: make one first"):
        plan(load_config(root), "feeder", "producer", None)


def test_a_folder_that_appears_while_writing_is_not_overwritten(
    repo_copy: Callable[[], Path],
) -> None:
    root = repo_copy()
    service = plan(load_config(root), "thumbnails", "consumer", None)
    (root / "workers" / "thumbnails").mkdir()
    (root / "workers" / "thumbnails" / "mine.txt").write_text("someone's")

    with pytest.raises(Refused, match="already exists"):
        write(root, service)

    assert [path.name for path in (root / "workers" / "thumbnails").iterdir()] == ["mine.txt"]


def run_make(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in LEAKING}
    return subprocess.run(
        ["make", *args],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=MAKE_TIMEOUT_SECONDS,
        check=False,
    )


@pytest.mark.slow
def test_make_new_service_then_synth_then_its_tests_for_every_kind(fresh_copy: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("GNU make is not on PATH")
    # Given a fresh copy of the repository, when a service of every kind is made with make
    for kind in ("consumer", "job", "producer", "scheduled"):
        # the producer, made after a second consumer, names the one it sends to
        sends_to = ["SENDS_TO=new-consumer"] if kind == "producer" else []
        made = run_make(fresh_copy, "new-service", f"NAME=new-{kind}", f"KIND={kind}", *sends_to)
        assert made.returncode == 0, made.stdout + made.stderr
        assert made.stdout.startswith(f"wrote workers/new-{kind}/: ")

    # Then `make synth` writes a new stack for each, and says so
    synth = run_make(fresh_copy, "synth")
    assert synth.returncode == 0, synth.stdout + synth.stderr
    for kind in KINDS:
        assert (fresh_copy / "cdktf.out" / "stacks" / f"new-{kind}" / "cdk.tf.json").is_file()
        assert any(
            line.startswith(f"new-{kind} ") and line.endswith(" new")
            for line in synth.stdout.splitlines()
        ), synth.stdout

    # And each new service's own test passes, where `make test` looks for tests
    new_tests = [f"workers/new-{kind}" for kind in sorted(KINDS)]
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *new_tests],
        cwd=fresh_copy,
        capture_output=True,
        text=True,
        timeout=MAKE_TIMEOUT_SECONDS,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert f"{len(KINDS)} passed" in tests.stdout.splitlines()[-1]


def test_make_test_collects_the_services_own_tests() -> None:
    settings = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert "workers" in settings["tool"]["pytest"]["ini_options"]["testpaths"]
