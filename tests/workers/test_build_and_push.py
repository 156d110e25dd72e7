"""workers/build_and_push.sh with recording stand-ins for `aws` and `docker` first on the PATH
(there is no Docker engine or AWS here): the arguments it validates, the calls it makes, and
when it skips the push."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.toolchains import shellcheck

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "workers" / "build_and_push.sh"
REPOSITORY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/workers-consumer"
TAG = "3f2a9c0d1e4b"
REGION = "eu-west-1"

# Each stand-in appends {"tool", "args", "stdin"} to $CALLS; `aws ecr describe-images`
# answers as $IMAGE_STATE says (exists | missing | denied), like the real CLI does.
FAKE_TOOL = """#!{python}
import json, os, sys
tool = os.path.basename(sys.argv[0])
args = sys.argv[1:]
stdin = sys.stdin.read() if args[:1] == ["login"] else ""
with open(os.environ["CALLS"], "a") as calls:
    calls.write(json.dumps({{"tool": tool, "args": args, "stdin": stdin}}) + "\\n")
if tool == "aws" and "describe-images" in args:
    state = os.environ["IMAGE_STATE"]
    if state == "exists":
        print("sha256:0123")
        sys.exit(0)
    code = "ImageNotFoundException" if state == "missing" else "AccessDeniedException"
    print(f"An error occurred ({{code}}) calling DescribeImages", file=sys.stderr)
    sys.exit(254)
if tool == "aws" and "get-login-password" in args:
    print("password-from-ecr")
"""


class Run:
    def __init__(self, result: subprocess.CompletedProcess[str], calls_file: Path) -> None:
        self.code = result.returncode
        self.stderr = result.stderr
        lines = calls_file.read_text().splitlines() if calls_file.exists() else []
        self.calls: list[dict[str, Any]] = [json.loads(line) for line in lines]

    def of(self, tool: str) -> list[dict[str, Any]]:
        return [call for call in self.calls if call["tool"] == tool]


@pytest.fixture
def run_script(tmp_path: Path) -> Any:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("aws", "docker"):
        fake = bin_dir / tool
        fake.write_text(FAKE_TOOL.format(python=sys.executable))
        fake.chmod(0o755)
    elsewhere = tmp_path / "elsewhere"  # the script must not depend on the caller's cwd
    elsewhere.mkdir()

    def run(*args: str, image_state: str = "missing", script: Path = SCRIPT) -> Run:
        calls = tmp_path / "calls.jsonl"
        calls.unlink(missing_ok=True)
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "CALLS": str(calls),
            "IMAGE_STATE": image_state,
        }
        result = subprocess.run(
            ["bash", str(script), *args],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Run(result, calls)

    return run


def test_a_missing_tag_is_built_for_fargate_and_pushed(run_script: Any) -> None:
    run = run_script("consumer", REPOSITORY, TAG, REGION, image_state="missing")

    assert run.code == 0, run.stderr
    [login] = run.of("docker")[:1]
    assert login["args"] == [
        "login",
        "--username",
        "AWS",
        "--password-stdin",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    ]
    assert login["stdin"].strip() == "password-from-ecr"
    [build] = run.of("docker")[1:]
    assert build["args"] == [
        "buildx",
        "build",
        "--platform",
        "linux/amd64",
        "--provenance=false",
        "--file",
        str(REPO_ROOT / "workers" / "Dockerfile"),
        "--build-arg",
        "SERVICE=consumer",
        "--tag",
        f"{REPOSITORY}:{TAG}",
        "--push",
        str(REPO_ROOT / "workers"),
    ]


def test_a_service_with_its_own_dockerfile_is_built_from_it(
    run_script: Any, tmp_path: Path
) -> None:
    # Given a copy of the script beside a service folder that holds a Dockerfile of its own
    workers = tmp_path / "repo" / "workers"
    (workers / "thumbnails").mkdir(parents=True)
    shutil.copy2(SCRIPT, workers / SCRIPT.name)
    (workers / "Dockerfile").write_text("FROM shared\n")
    (workers / "thumbnails" / "service.yaml").write_text("kind: consumer\n")
    (workers / "thumbnails" / "Dockerfile").write_text("FROM own\n")

    run = run_script("thumbnails", REPOSITORY, TAG, REGION, script=workers / SCRIPT.name)

    assert run.code == 0, run.stderr
    [build] = run.of("docker")[1:]
    assert build["args"][build["args"].index("--file") + 1] == str(
        workers / "thumbnails" / "Dockerfile"
    )
    assert "SERVICE=thumbnails" in build["args"]
    assert build["args"][-1] == str(workers)  # the context is workers/ all the same


def test_an_existing_tag_is_not_built_again(run_script: Any) -> None:
    run = run_script("producer", REPOSITORY, TAG, REGION, image_state="exists")

    assert run.code == 0, run.stderr
    [describe] = run.of("aws")
    assert describe["args"][:2] == ["ecr", "describe-images"]
    options = dict(zip(describe["args"][2::2], describe["args"][3::2], strict=False))
    assert options["--repository-name"] == "workers-consumer"
    assert options["--registry-id"] == "123456789012"
    assert options["--image-ids"] == f"imageTag={TAG}"
    assert run.of("docker") == []


def test_a_failing_lookup_stops_before_building(run_script: Any) -> None:
    run = run_script("consumer", REPOSITORY, TAG, REGION, image_state="denied")

    assert run.code == 1
    assert "AccessDeniedException" in run.stderr
    assert run.of("docker") == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((), "expected 4 arguments"),
        (("consumer", REPOSITORY, TAG), "expected 4 arguments"),
        (("Consumer!", REPOSITORY, TAG, REGION), "SERVICE"),
        (("runtime", REPOSITORY, TAG, REGION), "is not a service"),
        (("no-such-service", REPOSITORY, TAG, REGION), "is not a service"),
        (("consumer", "docker.io/library/python", TAG, REGION), "REPOSITORY_URL"),
        (("consumer", REPOSITORY, "-bad", REGION), "TAG"),
        (("consumer", REPOSITORY, TAG, "europe"), "REGION"),
    ],
)
def test_bad_arguments_are_usage_errors(run_script: Any, args: tuple[str, ...], named: str) -> None:
    run = run_script(*args)

    assert run.code == 2
    assert run.stderr.startswith("usage: build_and_push.sh SERVICE REPOSITORY_URL TAG REGION")
    assert named in run.stderr
    assert run.calls == []


def test_shellcheck_is_clean() -> None:
    result = subprocess.run(
        [shellcheck(), str(SCRIPT)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout
