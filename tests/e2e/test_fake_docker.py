"""devtools/fake_docker.py, the stand-in for docker: workers/build_and_push.sh run unchanged
against a real moto_server with devtools/bin first on the PATH and the venv's aws CLI next (so
the image build of an apply fails when a login, a build or a push does), and the stand-in's
Dockerfile checks on their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest

from devtools import fake_docker
from devtools.fake_docker import FakeDockerError, ImageConfigError, build, image_config
from devtools.moto_server import MotoServer, running_moto_server
from tests.helpers.toolchains import shellcheck

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_ecr import ECRClient

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "workers" / "build_and_push.sh"
FAKE_DOCKER = REPO_ROOT / "devtools" / "bin" / "docker"
VENV_BIN = Path(sys.executable).parent  # the venv's aws CLI (awscli in the dev dependencies)
REGION = "eu-west-1"
TAG = "0123456789ab"
# Every worker image runs the platform's entry point; the task definition says which kind.
WORKER_ENTRYPOINT = ("python", "-m", "workers.runtime")


# --- A real moto_server and the build script ----------------------------------------------------


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    # A server of this module's own: the images pushed here stay out of other tests' ECR.
    with running_moto_server() as server:
        yield server


@pytest.fixture(scope="module")
def ecr(moto: MotoServer) -> ECRClient:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return session.client("ecr", endpoint_url=moto.endpoint_url)


def new_repository(ecr: ECRClient) -> tuple[str, str]:
    """(name, url) of a fresh repository configured like our stacks' (immutable tags)."""
    name = f"workers-consumer-{uuid.uuid4().hex[:8]}"
    repository = ecr.create_repository(
        repositoryName=name,
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
    )["repository"]
    return name, repository["repositoryUri"]


def tool_env(moto: MotoServer, state: Path, **extra: str) -> dict[str, str]:
    """moto's environment with the stand-in first on the PATH and the venv's aws next, and no
    AWS settings of the machine's (profiles, config files) in the way."""
    if not (VENV_BIN / "aws").exists():
        pytest.fail(f"no aws CLI in {VENV_BIN}: install the dev dependencies (awscli)")
    env = {
        **moto.env(REGION),
        "PATH": os.pathsep.join([str(FAKE_DOCKER.parent), str(VENV_BIN), os.environ["PATH"]]),
        "FAKE_DOCKER_STATE": str(state),
        "FAKE_DOCKER_PYTHON": sys.executable,
        "AWS_CONFIG_FILE": str(state.parent / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(state.parent / "no-aws-credentials"),
    }
    for name in ("FAKE_DOCKER_FAIL", "AWS_PROFILE"):
        env.pop(name, None)
    return {**env, **extra}


def run_script(
    moto: MotoServer, state: Path, repository_url: str, tag: str = TAG, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), "consumer", repository_url, tag, REGION],
        cwd=state.parent,  # not the repository: the script must find its own folder
        env=tool_env(moto, state, **extra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_fake_docker(
    moto: MotoServer, state: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FAKE_DOCKER), *args],
        input=stdin,
        env=tool_env(moto, state),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def image_tags(ecr: ECRClient, repository: str) -> list[str]:
    images = ecr.describe_images(repositoryName=repository)["imageDetails"]
    return [tag for image in images for tag in image.get("imageTags", [])]


@dataclass(frozen=True)
class Pushed:
    name: str
    url: str
    state: Path
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def pushed(moto: MotoServer, ecr: ECRClient, tmp_path_factory: pytest.TempPathFactory) -> Pushed:
    """The consumer's image built and pushed once by the script, into a fresh repository."""
    name, url = new_repository(ecr)
    state = tmp_path_factory.mktemp("pushed") / "docker"
    return Pushed(name, url, state, run_script(moto, state, url))


# --- The build script against moto_server ------------------------------------------------------


@pytest.mark.slow
def test_a_first_run_logs_in_builds_and_pushes(pushed: Pushed, ecr: ECRClient) -> None:
    assert pushed.result.returncode == 0, pushed.result.stderr
    assert f"{pushed.url}:{TAG} pushed" in pushed.result.stdout
    [detail] = ecr.describe_images(repositoryName=pushed.name, imageIds=[{"imageTag": TAG}])[
        "imageDetails"
    ]
    assert detail["imageManifestMediaType"] == "application/vnd.oci.image.manifest.v1+json"
    [push] = fake_docker.pushes(pushed.state)
    assert push["image"] == f"{pushed.url}:{TAG}"
    assert push["digest"] == detail["imageDigest"]
    registry = pushed.url.split("/")[0]
    assert fake_docker.logged_in(pushed.state, registry) == ("AWS", "123456789012-auth-token")


@pytest.mark.slow
def test_the_pushed_image_declares_how_to_run_the_worker(pushed: Pushed, ecr: ECRClient) -> None:
    config = image_config(ecr, pushed.name, TAG)

    assert config.entrypoint == WORKER_ENTRYPOINT
    assert config.cmd is None
    assert config.argv == list(WORKER_ENTRYPOINT)
    assert config.user == "10001:10001"
    assert config.workdir == "/app"
    assert config.env["HOME"] == "/tmp"
    assert config.env["PYTHONPATH"] == "/opt/dependencies"


@pytest.mark.slow
def test_a_second_run_finds_the_tag_and_pushes_nothing(
    pushed: Pushed, moto: MotoServer, ecr: ECRClient
) -> None:
    again = run_script(moto, pushed.state, pushed.url)

    assert again.returncode == 0, again.stderr
    assert "exists" in again.stdout
    assert "nothing to build" in again.stdout
    assert len(fake_docker.pushes(pushed.state)) == 1
    assert image_tags(ecr, pushed.name) == [TAG]


@pytest.mark.slow
def test_pushing_a_tag_again_into_an_immutable_repository_fails(
    pushed: Pushed, moto: MotoServer
) -> None:
    # What the script's describe-images guards against, done anyway: docker's refusal.
    result = run_fake_docker(moto, pushed.state, *build_args(f"{pushed.url}:{TAG}"))

    assert result.returncode == 1
    assert "tag invalid" in result.stderr
    assert "immutable" in result.stderr
    assert len(fake_docker.pushes(pushed.state)) == 1


@pytest.mark.slow
@pytest.mark.parametrize("step", ["login", "push"])
def test_a_failed_login_or_push_fails_the_build(
    step: str, moto: MotoServer, ecr: ECRClient, tmp_path: Path
) -> None:
    name, url = new_repository(ecr)
    state = tmp_path / "docker"

    result = run_script(moto, state, url, FAKE_DOCKER_FAIL=step)

    assert result.returncode != 0
    assert f"FAKE_DOCKER_FAIL={step}" in result.stderr
    assert "pushed" not in result.stdout
    assert image_tags(ecr, name) == []
    assert fake_docker.pushes(state) == []


@pytest.mark.slow
def test_a_missing_repository_fails_with_the_aws_error(moto: MotoServer, tmp_path: Path) -> None:
    url = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/workers-nowhere-{uuid.uuid4().hex[:8]}"
    state = tmp_path / "docker"

    result = run_script(moto, state, url)

    assert result.returncode == 1
    assert "RepositoryNotFoundException" in result.stderr
    assert fake_docker.pushes(state) == []


@pytest.mark.slow
def test_a_malformed_tag_is_a_usage_error(moto: MotoServer, tmp_path: Path) -> None:
    result = run_script(
        moto, tmp_path / "docker", f"123456789012.dkr.ecr.{REGION}.amazonaws.com/x", tag="-bad"
    )

    assert result.returncode == 2
    assert "TAG '-bad'" in result.stderr


# --- The stand-in's registry side on its own ---------------------------------------------------


def build_args(image: str, platform: str = "linux/amd64") -> list[str]:
    workers = REPO_ROOT / "workers"
    return [
        "buildx",
        "build",
        "--platform",
        platform,
        "--provenance=false",
        "--file",
        str(workers / "Dockerfile"),
        "--build-arg",
        "SERVICE=consumer",
        "--tag",
        image,
        "--push",
        str(workers),
    ]


@pytest.mark.slow
def test_a_wrong_password_is_refused(moto: MotoServer, tmp_path: Path) -> None:
    registry = f"123456789012.dkr.ecr.{REGION}.amazonaws.com"
    state = tmp_path / "docker"
    login = ["login", "--username", "AWS", "--password-stdin", registry]

    wrong = run_fake_docker(moto, state, *login, stdin="not-the-token\n")
    right = run_fake_docker(moto, state, *login, stdin="123456789012-auth-token\n")

    assert wrong.returncode == 1
    assert "401 Unauthorized" in wrong.stderr
    assert right.returncode == 0, right.stderr
    assert right.stdout.strip() == "Login Succeeded"


@pytest.mark.slow
def test_a_push_without_login_is_refused(moto: MotoServer, ecr: ECRClient, tmp_path: Path) -> None:
    name, url = new_repository(ecr)

    result = run_fake_docker(moto, tmp_path / "docker", *build_args(f"{url}:{TAG}"))

    assert result.returncode == 1
    assert "no basic auth credentials" in result.stderr
    assert image_tags(ecr, name) == []


@pytest.mark.slow
def test_image_config_refuses_what_the_stand_in_did_not_push(ecr: ECRClient) -> None:
    name, _ = new_repository(ecr)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1,
            "digest": "sha256:" + "a" * 64,
        },
        "layers": [],
    }
    ecr.put_image(repositoryName=name, imageManifest=json.dumps(manifest), imageTag="other")

    with pytest.raises(ImageConfigError, match=r"not pushed by devtools\.fake_docker"):
        image_config(ecr, name, "other")
    with pytest.raises(ImageConfigError, match="no image"):
        image_config(ecr, name, "missing")


# --- The command line, without a registry ------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    state = tmp_path / "docker"
    monkeypatch.setenv("FAKE_DOCKER_STATE", str(state))
    monkeypatch.delenv("FAKE_DOCKER_FAIL", raising=False)
    return state


IMAGE = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/workers-consumer:{TAG}"


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (build_args(IMAGE, platform="linux/arm64"), 1, "builds only for linux/amd64"),
        (build_args(IMAGE.replace("workers-consumer", "Workers")), 1, "invalid reference format"),
        (build_args(IMAGE.replace(TAG, "-bad")), 1, "invalid reference format"),
        ([a for a in build_args(IMAGE) if a != "--push"], 2, "--push"),
        ([a for a in build_args(IMAGE) if a != "--provenance=false"], 2, "--provenance=false"),
        ([*build_args(IMAGE), "--load"], 2, "unknown flag '--load'"),
        ([*build_args(IMAGE), "--build-arg", "SERVICE"], 2, "must be NAME=VALUE"),
        ([*build_args(IMAGE)[:-1], "--build-arg"], 2, "--build-arg needs a value"),
        (["build", "."], 2, "unsupported command 'build .'"),
        (["login", "--password", "x", "r"], 2, "unknown flag '--password'"),
        ([], 2, "unsupported command"),
    ],
)
def test_the_command_line_refuses_what_it_does_not_model(
    cli_env: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, said: str
) -> None:
    assert fake_docker.main(args) == code
    error = capsys.readouterr().err
    assert said in error
    assert error.count("\n") == 1  # one line, as docker's errors


def test_an_injected_build_failure_fails_before_building(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FAKE_DOCKER_FAIL", "build")

    assert fake_docker.main(build_args(IMAGE)) == 1
    assert "FAKE_DOCKER_FAIL=build" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "value"), [("FAKE_DOCKER_STATE", ""), ("FAKE_DOCKER_FAIL", "x")])
def test_a_misconfigured_stand_in_says_so(
    cli_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
) -> None:
    monkeypatch.setenv(name, value)

    assert fake_docker.main(build_args(IMAGE)) == 2
    assert name in capsys.readouterr().err


def test_the_wrapper_is_shellcheck_clean() -> None:
    result = subprocess.run(
        [shellcheck(), str(FAKE_DOCKER)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout
    assert os.access(FAKE_DOCKER, os.X_OK)


# --- Dockerfiles -------------------------------------------------------------------------------


def make_context(tmp_path: Path, dockerfile: str, files: dict[str, str]) -> tuple[Path, Path]:
    """(Dockerfile, context) in tmp_path/ctx with these files."""
    context = tmp_path / "ctx"
    for name, text in {**files, "Dockerfile": dockerfile}.items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(text)
    return context / "Dockerfile", context


APP = {"app/main.py": "print('hi')\n", "app/util.py": "X = 1\n"}


def test_the_shared_dockerfile_gives_the_image_config_it_declares() -> None:
    workers = REPO_ROOT / "workers"
    built = build(workers / "Dockerfile", workers, {"SERVICE": "consumer"})

    assert built.config.entrypoint == WORKER_ENTRYPOINT
    assert built.config.user == "10001:10001"
    assert built.config.env["PYTHONUNBUFFERED"] == "1"
    # both requirements files, __init__.py, runtime/, consumer/
    assert len(built.layers) == 5


def test_the_service_build_arg_picks_the_folder_the_image_copies() -> None:
    workers = REPO_ROOT / "workers"

    files = {
        service: fake_docker.copied_context_files(
            workers / "Dockerfile", workers, {"SERVICE": service}
        )
        for service in ("consumer", "producer")
    }

    assert "consumer/handler.py" in files["consumer"]
    assert not any(path.startswith("producer/") for path in files["consumer"])
    assert "producer/handler.py" in files["producer"]
    assert not any(path.startswith("consumer/") for path in files["producer"])


def test_without_the_service_build_arg_the_shared_build_fails() -> None:
    workers = REPO_ROOT / "workers"

    with pytest.raises(FakeDockerError, match=r'"/requirements.txt": not found'):
        build(workers / "Dockerfile", workers)


def test_a_build_arg_replaces_defaults_in_every_stage_that_declares_it(tmp_path: Path) -> None:
    dockerfile, context = make_context(
        tmp_path,
        "ARG DIR=app\nARG TAG=one\nFROM a AS build\nARG DIR\nCOPY ${DIR}/ /src/\n"
        "FROM b\nARG TAG\nARG LOCAL=default\nENV TAG=$TAG LOCAL=$LOCAL\n"
        'COPY --from=build /src /src\nENTRYPOINT ["x"]\n',
        {**APP, "other/main.py": "print('other')\n"},
    )
    given = {"DIR": "other", "TAG": "two", "LOCAL": "given"}

    built = build(dockerfile, context, given)

    assert fake_docker.copied_context_files(dockerfile, context, given) == {
        "other/main.py": context / "other" / "main.py"
    }
    assert dict(built.config.env) == {"TAG": "two", "LOCAL": "given"}
    assert build(dockerfile, context).config.env["TAG"] == "one"
    assert fake_docker.unconsumed_build_args(dockerfile.read_text(), {**given, "X": "1"}) == ["X"]


@pytest.mark.parametrize("value", ["SERVICE", "=x", "1ST=x"])
def test_a_build_arg_without_name_and_value_is_a_usage_error(value: str) -> None:
    with pytest.raises(fake_docker.UsageError, match="must be NAME=VALUE"):
        fake_docker.build_arg_values([value])


def test_the_last_value_of_a_build_arg_wins() -> None:
    assert fake_docker.build_arg_values(["A=1", "B=", "A=2"]) == {"A": "2", "B": ""}


def test_a_copy_source_missing_from_the_context_is_refused(tmp_path: Path) -> None:
    dockerfile, context = make_context(
        tmp_path, 'FROM python:3.11\nCOPY app/ /app/\nCOPY missing.txt /x\nCMD ["x"]\n', APP
    )

    with pytest.raises(FakeDockerError, match=r'"/missing.txt": not found.*line 3'):
        build(dockerfile, context)


def test_a_source_the_dockerignore_excludes_is_missing_too(tmp_path: Path) -> None:
    dockerfile, context = make_context(
        tmp_path,
        'FROM python:3.11\nCOPY app/secret.env /x\nCMD ["x"]\n',
        {**APP, "app/secret.env": "K=V\n", ".dockerignore": "**/*.env\n!app/keep.env\n"},
    )

    with pytest.raises(FakeDockerError, match="not found"):
        build(dockerfile, context)


def test_a_source_outside_the_context_is_refused(tmp_path: Path) -> None:
    dockerfile, context = make_context(tmp_path, 'FROM a\nCOPY ../x /x\nCMD ["x"]\n', APP)

    with pytest.raises(FakeDockerError, match="outside the build context"):
        build(dockerfile, context)


def test_a_stage_nothing_uses_is_not_built(tmp_path: Path) -> None:
    # BuildKit skips it, so its missing source must not fail the build either.
    dockerfile, context = make_context(
        tmp_path,
        "FROM a AS unused\nCOPY missing /x\nFROM a AS deps\nCOPY app/ /app/\n"
        'FROM b\nCOPY --from=deps /app /app\nCMD ["x"]\n',
        APP,
    )

    assert build(dockerfile, context).config.cmd == ("x",)


def test_a_dockerfile_outside_the_context_is_refused(tmp_path: Path) -> None:
    _, context = make_context(tmp_path, 'FROM a\nCMD ["x"]\n', APP)
    outside = tmp_path / "Dockerfile.elsewhere"
    outside.write_text('FROM a\nCMD ["x"]\n')

    with pytest.raises(FakeDockerError, match="outside the build context"):
        build(outside, context)
    with pytest.raises(FakeDockerError, match="no such file"):
        build(context / "Nope", context)


def test_a_final_stage_without_entrypoint_or_cmd_is_refused(tmp_path: Path) -> None:
    dockerfile, context = make_context(
        tmp_path, 'FROM a AS base\nCMD ["x"]\nFROM python:3.11\nCOPY app/ /app/\n', APP
    )

    with pytest.raises(FakeDockerError, match="no ENTRYPOINT or CMD"):
        build(dockerfile, context)


def test_shell_form_runs_through_the_stages_shell(tmp_path: Path) -> None:
    dockerfile, context = make_context(
        tmp_path,
        "FROM a\nENTRYPOINT python -m workers.consumer --flag \\\n    value\n"
        'SHELL ["/bin/bash", "-eu", "-c"]\nCMD exec "$0"\n',
        APP,
    )

    config = build(dockerfile, context).config

    assert config.entrypoint == ("/bin/sh", "-c", "python -m workers.consumer --flag     value")
    assert config.cmd == ("/bin/bash", "-eu", "-c", 'exec "$0"')  # not expanded at build time


def test_entrypoint_drops_an_inherited_cmd_but_keeps_its_own_stages(tmp_path: Path) -> None:
    dockerfile, context = make_context(
        tmp_path,
        'FROM a AS base\nCMD ["serve"]\nUSER 1:1\n'
        'FROM base AS kept\nCMD ["run"]\nENTRYPOINT ["tool"]\n'
        'FROM base\nENTRYPOINT ["tool"]\n',
        APP,
    )
    stages = fake_docker.parse_dockerfile(dockerfile.read_text())

    assert stages[1].config().argv == ["tool", "run"]
    assert build(dockerfile, context).config.argv == ["tool"]
    assert build(dockerfile, context).config.user == "1:1"  # inherited from the stage it is FROM


def test_env_user_and_workdir_with_variables(tmp_path: Path) -> None:
    dockerfile, context = make_context(
        tmp_path,
        "# escape=\\\nARG HOME_ROOT=/srv\nFROM a\nARG HOME_ROOT\nARG UID=10001\n"
        # docker: a pair sees the variables from before its ENV, not its neighbours
        "ENV A=1\nENV A=2 B=\"two words\" C=${A}x D='${A}' E=${UNSET:-fallback}\n"
        "ENV LEGACY some value\n"
        "WORKDIR $HOME_ROOT\nWORKDIR app\nUSER ${UID}:${UID}\n"
        'ENTRYPOINT ["x"]\n',
        APP,
    )

    config = build(dockerfile, context).config

    assert dict(config.env) == {
        "A": "2",
        "B": "two words",
        "C": "1x",
        "D": "${A}",
        "E": "fallback",
        "LEGACY": "some value",
    }
    assert config.workdir == "/srv/app"
    assert config.user == "10001:10001"


def test_a_run_heredoc_body_is_not_read_as_instructions(tmp_path: Path) -> None:
    # Given a body line that would be a missing COPY and a second ENTRYPOINT if read as such
    dockerfile, context = make_context(
        tmp_path,
        'FROM a\nRUN <<EOF sh\nCOPY missing /x\nENTRYPOINT ["other"]\nEOF\nENTRYPOINT ["x"]\n',
        APP,
    )

    assert build(dockerfile, context).config.entrypoint == ("x",)


def test_the_backtick_escape_continues_instructions(tmp_path: Path) -> None:
    dockerfile, context = make_context(
        tmp_path, '# escape=`\nFROM a\nCOPY app/main.py `\n   /app/\nENTRYPOINT ["x"]\n', APP
    )

    assert fake_docker.copied_context_files(dockerfile, context) == {
        "app/main.py": context / "app" / "main.py"
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '# escape=\\\n# escape=`\nFROM a\nCMD ["x"]\n',
            "dockerfile line 2: only one escape parser directive can be used",
        ),
        ('FROM a\nRUN <<EOF\necho\nCMD ["x"]\n', "dockerfile line 2: unterminated heredoc"),
        (
            'FROM a\nCOPY <<EOF /x\ntext\nEOF\nCMD ["x"]\n',
            "dockerfile line 2: COPY <<EOF (heredocs) is not supported here",
        ),
    ],
    ids=["repeated directive", "unterminated heredoc", "inline file"],
)
def test_what_the_parser_refuses_fails_the_build(tmp_path: Path, text: str, message: str) -> None:
    dockerfile, context = make_context(tmp_path, text, APP)

    with pytest.raises(FakeDockerError) as raised:
        build(dockerfile, context)

    assert str(raised.value).startswith(f"ERROR: failed to solve: {message}")


def test_the_content_digest_follows_exactly_the_copied_files(tmp_path: Path) -> None:
    dockerfile, context = make_context(
        tmp_path,
        'FROM a\nCOPY app/ /app/\nENTRYPOINT ["x"]\n',
        {**APP, "app/__pycache__/m.pyc": "x", ".dockerignore": "**/__pycache__\n", "other": ""},
    )
    first = build(dockerfile, context)

    (context / "app" / "__pycache__" / "m.pyc").write_text("changed")  # ignored
    (context / "other").write_text("changed")  # not copied
    assert build(dockerfile, context).content_digest == first.content_digest
    assert build(dockerfile, context).manifest() == first.manifest()

    (context / "app" / "util.py").write_text("X = 2\n")
    assert build(dockerfile, context).content_digest != first.content_digest


def test_the_manifest_carries_the_image_config(tmp_path: Path) -> None:
    dockerfile, context = make_context(tmp_path, 'FROM a\nCOPY app/ /app/\nCMD ["x"]\n', APP)
    built = build(dockerfile, context)

    manifest = json.loads(built.manifest())

    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["config"]["digest"] == built.content_digest
    config = fake_docker.ImageConfig.from_json(
        manifest["annotations"][fake_docker.CONFIG_ANNOTATION]
    )
    assert config == built.config


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("consumer/service.yaml", True),
        ("service.yaml", True),
        ("runtime/jobs/__pycache__/x.cpython-311.pyc", True),
        ("build_and_push.sh", True),
        ("consumer/handler.py", False),
        ("consumer/test_handler.py", True),
        ("consumer/conftest.py", True),
        ("Dockerfile", False),
        ("runtime/jobs/dispatch.py", False),
    ],
)
def test_the_workers_dockerignore(path: str, ignored: bool) -> None:
    workers = REPO_ROOT / "workers"
    rules = fake_docker.ignore_rules(workers, workers / "Dockerfile")

    assert fake_docker.is_ignored(path, rules) is ignored
