"""The worker images: hadolint clean, and the facts that matter read from the parsed Dockerfile
instructions (no Docker engine here, so the image itself cannot be built in tests).

Every service is built from the shared workers/Dockerfile with `--build-arg SERVICE=<name>`,
unless its folder holds a Dockerfile of its own (then that one; see workers/README.md, "Images").
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

import pytest

from devtools import fake_docker
from modules.config import ServiceBase, load_config
from modules.dockerfile import json_list
from modules.dockerfile import parse as split_dockerfile
from tests.helpers.toolchains import hadolint

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKERS = REPO_ROOT / "workers"
SHARED_DOCKERFILE = WORKERS / "Dockerfile"
DOCKERFILES = [SHARED_DOCKERFILE, *sorted(WORKERS.glob("*/Dockerfile"))]
PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$")
WORKER_ENTRYPOINT = ["python", "-m", "workers.runtime"]
# A service that needs a system package brings its own Dockerfile: the shared one plus a RUN.
OWN_DOCKERFILE_ADDITION = (
    "RUN apt-get update && apt-get install --yes --no-install-recommends "
    "libjpeg62-turbo=1:2.1.5-2 && rm -rf /var/lib/apt/lists/*\n"
)


def container_services() -> list[str]:
    config = load_config(REPO_ROOT)
    # An ingest API declares no containers: API Gateway writes to the queue itself.
    return sorted(s.name for s in config.services if isinstance(s, ServiceBase))


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
    """Instructions grouped by build stage (global ARGs left out), split as docker splits them
    (modules.dockerfile, which the synth check and the docker stand-in read with too)."""
    stages: list[Stage] = []
    for split in split_dockerfile(dockerfile.read_text(encoding="utf-8")).instructions:
        instruction = Instruction(split.keyword, " ".join(split.arguments.split()))
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            alias = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], alias, []))
        elif stages:
            stages[-1].instructions.append(instruction)
        else:  # only a global ARG (a build argument every stage may declare) may come first
            assert instruction.keyword == "ARG", f"{dockerfile}:{split.line}: before the first FROM"
    return stages


def exec_form(instruction: Instruction) -> list[str] | None:
    """The JSON array of an exec-form ENTRYPOINT/CMD; None for the shell form."""
    return json_list(instruction.arguments)


def env_of(stage: Stage) -> dict[str, str]:
    values: dict[str, str] = {}
    for instruction in stage.all("ENV"):
        for pair in instruction.arguments.split():
            name, _, value = pair.partition("=")
            values[name] = value
    return values


def dockerfile_ids() -> list[str]:
    return [path.relative_to(WORKERS).as_posix() for path in DOCKERFILES]


def with_own_dockerfile(context: Path, service: str) -> Path:
    """`service` in the copy `context` of workers/, given a Dockerfile of its own: the shared one
    with a system package installed in the final stage."""
    text = (context / "Dockerfile").read_text()
    marker = "USER 10001:10001"
    own = text.replace(marker, OWN_DOCKERFILE_ADDITION + marker)
    assert own != text
    (context / service / "Dockerfile").write_text(own)
    return context / service / "Dockerfile"


def test_every_repository_service_is_built_from_the_shared_dockerfile() -> None:
    # One image definition, owned by the platform; a service folder holds none unless it needs one
    assert DOCKERFILES == [SHARED_DOCKERFILE]
    assert all(not (WORKERS / name / "Dockerfile").exists() for name in container_services())


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=dockerfile_ids())
def test_hadolint_is_clean(dockerfile: Path) -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_service_dockerfile_made_as_documented_is_hadolint_clean(tmp_path: Path) -> None:
    context = tmp_path / "workers"
    shutil.copytree(WORKERS, context)

    test_hadolint_is_clean(with_own_dockerfile(context, "consumer"))


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=dockerfile_ids())
def test_final_image_runs_the_platform_entry_point_as_non_root_in_exec_form(
    dockerfile: Path,
) -> None:
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

    # exec form, so SIGTERM reaches Python; the platform's entry point, which runs the kind and
    # handler the task definition names: the image itself names no service
    [entrypoint] = final.all("ENTRYPOINT")
    assert exec_form(entrypoint) == WORKER_ENTRYPOINT
    assert all(exec_form(cmd) is not None for cmd in final.all("CMD"))

    # nothing written at run time on the read-only root filesystem
    assert env_of(final).get("PYTHONDONTWRITEBYTECODE") == "1"


def test_the_shared_image_copies_only_the_runtime_and_the_folder_service_names() -> None:
    allowed = {
        "__init__.py",
        "runtime/",
        "runtime/requirements.txt",
        "${SERVICE}/",
        "${SERVICE}/requirements.txt",
    }
    for stage in parse(SHARED_DOCKERFILE):
        for copy in stage.all("COPY"):
            words = copy.arguments.split()
            if any(word.startswith("--from=") for word in words):
                continue
            sources = [word for word in words[:-1] if not word.startswith("--")]
            assert set(sources) <= allowed, f"copies {sources}"
        for run in stage.all("RUN"):
            if "pip install" in run.arguments:
                assert "--no-cache-dir" in run.arguments.split()


def developer_checkout(tmp_path: Path, service: str) -> Path:
    """A copy of workers/ with what a developer's checkout holds besides the sources: caches,
    bytecode, tests, a nested package."""
    context = tmp_path / "workers"
    shutil.copytree(WORKERS, context)
    for folder in (context / "runtime", context / service, context / service / "nested"):
        (folder / "__pycache__").mkdir(parents=True, exist_ok=True)
        (folder / "__pycache__" / "module.cpython-311.pyc").write_bytes(b"bytecode")
        (folder / "stray.pyc").write_bytes(b"bytecode")
    (context / service / "nested" / "helper.py").write_text("VALUE = 1\n")
    (context / service / "nested" / "test_helper.py").write_text("def test_it(): ...\n")
    (context / service / "conftest.py").write_text("")
    return context


def copied_into_image(context: Path, service: str) -> set[PurePosixPath]:
    """The files of `context` the service's build puts into its image, as the build script runs
    it (its Dockerfile, `--build-arg SERVICE=<service>`), past .dockerignore."""
    own = context / service / "Dockerfile"
    dockerfile = own if own.is_file() else context / "Dockerfile"
    copied = fake_docker.copied_context_files(dockerfile, context, {"SERVICE": service})
    return {PurePosixPath(path) for path in copied}


@pytest.mark.parametrize("service", container_services())
def test_the_image_gets_exactly_the_files_its_tag_is_hashed_from(
    service: str, tmp_path: Path
) -> None:
    # given a copy of workers/ as a developer's checkout holds it
    from modules.constructs.container_image import image_files, image_inputs

    context = developer_checkout(tmp_path, service)

    # when the build context is filtered and the Dockerfile's COPY instructions applied
    copied = copied_into_image(context, service)

    # then the image holds exactly the files the infrastructure hashes into its tag, its tests
    # and caches left out; the tag also covers the Dockerfile that builds it, the shared one
    assert copied == set(image_files(context, service))
    assert PurePosixPath(f"{service}/nested/helper.py") in copied
    assert not any(path.name.startswith("test_") or path.suffix == ".pyc" for path in copied)
    assert set(image_inputs(context, service)) == {*copied, PurePosixPath("Dockerfile")}


def test_a_service_with_its_own_dockerfile_is_hashed_from_it_and_not_the_shared_one(
    tmp_path: Path,
) -> None:
    from modules.constructs.container_image import image_files, image_inputs

    context = developer_checkout(tmp_path, "consumer")
    with_own_dockerfile(context, "consumer")

    copied = copied_into_image(context, "consumer")

    assert copied == set(image_files(context, "consumer"))
    assert PurePosixPath("consumer/Dockerfile") in copied
    assert set(image_inputs(context, "consumer")) == copied


def _dependencies(package: str) -> set[str]:
    """Names of what `package` needs at run time (extras left out)."""
    names = set()
    for requirement in metadata.requires(package) or []:
        if "extra ==" not in requirement:
            names.add(re.match(r"[A-Za-z0-9._-]+", requirement).group().lower())  # type: ignore[union-attr]
    return names


def pins(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("==") for line in lines if line.strip() and not line.startswith("#"))


def test_the_runtime_requirements_pin_exactly_what_the_venv_runs() -> None:
    runtime = pins(WORKERS / "runtime" / "requirements.txt")

    # the tested versions, and every run-time dependency pinned too (nothing floats)
    assert "boto3" in runtime
    assert runtime == {package: metadata.version(package) for package in runtime}
    for package in runtime:
        assert _dependencies(package) <= set(runtime), package


@pytest.mark.parametrize("service", container_services())
def test_a_services_own_requirements_never_repin_the_runtimes(service: str) -> None:
    runtime = pins(WORKERS / "runtime" / "requirements.txt")
    own = pins(WORKERS / service / "requirements.txt")

    assert {name: own[name] for name in own.keys() & runtime.keys()} == {
        name: runtime[name] for name in own.keys() & runtime.keys()
    }
