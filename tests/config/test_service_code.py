"""What `make synth` checks in each container service's folder before writing anything
(modules/config/service_code.py): the handler module and its function's signature (read with
`ast`, never imported), the requirements file, and a Dockerfile of the service's own. Each
problem is one line of the same report as a config problem; main.py prints it and writes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from modules.config import ConfigError, load_config
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

SHARED_DOCKERFILE = REPO_ROOT / "workers" / "Dockerfile"


def problems(root: Path) -> list[str]:
    """What load_config(check_code=True) refuses in `root` ([] when it loads)."""
    try:
        load_config(root, check_code=True)
    except ConfigError as error:
        return error.problems
    return []


def write(root: Path, relative: str, text: str) -> None:
    (root / relative).parent.mkdir(parents=True, exist_ok=True)
    (root / relative).write_text(text)


def test_the_repositorys_services_pass(repo_copy: Callable[[], Path]) -> None:
    assert problems(repo_copy()) == []


def test_the_code_is_checked_only_when_asked(repo_copy: Callable[[], Path]) -> None:
    # Given a consumer without its handler: tools that only read the specs still load them
    root = repo_copy()
    (root / "workers" / "consumer" / "handler.py").unlink()

    assert load_config(root).service("consumer").name == "consumer"
    assert problems(root) != []


@pytest.mark.parametrize(
    ("service", "source", "expected"),
    [
        (
            "consumer",
            "def handle(message, extra):\n    pass\n",
            "workers/consumer/handler.py: 'handle' cannot be called as `handle(message)` "
            "(line 1): it must take exactly 1 positional argument(s)",
        ),
        (
            "consumer",
            "def handle():\n    pass\n",
            "workers/consumer/handler.py: 'handle' cannot be called as `handle(message)` "
            "(line 1): it must take exactly 1 positional argument(s)",
        ),
        (
            "consumer",
            "def handle(message, *, strict):\n    pass\n",
            "workers/consumer/handler.py: 'handle' cannot be called as `handle(message)` "
            "(line 1): it must take exactly 1 positional argument(s)",
        ),
        (
            "consumer",
            "async def handle(message):\n    pass\n",
            "workers/consumer/handler.py: 'handle' is async; the runtime calls a plain function, "
            "`handle(message)`",
        ),
        (
            "consumer",
            "def run(message):\n    pass\n",
            "workers/consumer/handler.py: defines no function 'handle'; the runtime calls "
            "`handle(message)`",
        ),
        (
            "consumer",
            "from elsewhere import handle\n",
            "workers/consumer/handler.py: 'handle' is not defined here with def (line 1), so its "
            "signature cannot be checked; define `def handle(message)` in this module",
        ),
        (
            "producer",
            "def produce(count):\n    return []\n",
            "workers/producer/handler.py: 'produce' cannot be called as `produce()` (line 1): it "
            "must take exactly 0 positional argument(s)",
        ),
        (
            "reporter",
            "def run(:\n",
            "workers/reporter/handler.py: line 1: invalid syntax; the handler must be valid Python",
        ),
        (
            "crunch",
            "def run():\n    pass\n",
            "workers/crunch/handler.py: 'run' cannot be called as `run(job)` (line 1): it must "
            "take exactly 1 positional argument(s)",
        ),
    ],
    ids=[
        "two-parameters",
        "no-parameter",
        "required-keyword",
        "async",
        "wrong-name",
        "imported",
        "producer-with-parameter",
        "syntax-error",
        "job-without-parameter",
    ],
)
def test_a_handler_the_runtime_cannot_call_is_one_line(
    repo_copy: Callable[[], Path], service: str, source: str, expected: str
) -> None:
    root = repo_copy()
    write(root, f"workers/{service}/handler.py", source)

    assert problems(root) == [expected]


@pytest.mark.parametrize(
    "source",
    [
        "def handle(message, retries=3):\n    pass\n",
        "def handle(*args):\n    pass\n",
        "def handle(message, /, *, log=None):\n    pass\n",
        "x = 1\n\ndef helper(a, b): ...\n\ndef handle(m): ...\n",
    ],
    ids=["a-default", "varargs", "positional-only", "other-names-around"],
)
def test_signatures_the_runtime_can_call_pass(repo_copy: Callable[[], Path], source: str) -> None:
    root = repo_copy()
    write(root, "workers/consumer/handler.py", source)

    assert problems(root) == []


def test_the_handler_is_read_not_imported(repo_copy: Callable[[], Path]) -> None:
    # Given a handler whose module imports a package this machine does not have
    root = repo_copy()
    write(
        root,
        "workers/consumer/handler.py",
        "import package_only_the_image_has\n\ndef handle(message):\n"
        "    package_only_the_image_has.go(message)\n",
    )

    # Then its signature is checked all the same, and nothing was imported
    assert problems(root) == []
    assert "package_only_the_image_has" not in sys.modules


def test_a_missing_handler_module_says_what_to_define(repo_copy: Callable[[], Path]) -> None:
    root = repo_copy()
    (root / "workers" / "reporter" / "handler.py").unlink()

    assert problems(root) == [
        "workers/reporter/handler.py: missing; a scheduled service defines `def run()` there "
        "(or names another module in service.yaml: handler)"
    ]


def test_handler_in_service_yaml_names_another_module_and_function(
    repo_copy: Callable[[], Path],
) -> None:
    # Given a consumer whose handler lives in a package of its folder
    root = repo_copy()
    spec = root / "workers" / "consumer" / "service.yaml"
    spec.write_text(spec.read_text() + "handler: images.resize:make_thumbnail\n")
    write(root, "workers/consumer/images/__init__.py", "")
    write(root, "workers/consumer/images/resize.py", "def make_thumbnail(message):\n    pass\n")

    config = load_config(root, check_code=True)

    assert problems(root) == []
    settings = config.service("consumer").task_settings(region="")  # type: ignore[union-attr]
    assert (settings.kind, settings.handler) == (
        "consumer",
        "workers.consumer.images.resize:make_thumbnail",
    )


def test_a_handler_in_service_yaml_that_is_missing_names_the_field(
    repo_copy: Callable[[], Path],
) -> None:
    root = repo_copy()
    spec = root / "workers" / "consumer" / "service.yaml"
    spec.write_text(spec.read_text() + "handler: tasks:go\n")

    assert problems(root) == [
        "workers/consumer/service.yaml: handler: no module 'tasks' in workers/consumer "
        "(no tasks.py)"
    ]


def test_a_missing_requirements_file_is_one_line(repo_copy: Callable[[], Path]) -> None:
    root = repo_copy()
    (root / "workers" / "producer" / "requirements.txt").unlink()

    assert problems(root) == [
        "workers/producer/requirements.txt: missing; the image installs it: list the service's "
        "own pinned dependencies, or leave it empty (the runtime's come with every image, "
        "workers/runtime/requirements.txt)"
    ]


def own_dockerfile(**replace: str) -> str:
    """The shared Dockerfile as a service copies it, with `replace` applied."""
    text = SHARED_DOCKERFILE.read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(
    "replace",
    [{}, {"${SERVICE}/": "consumer/"}],
    ids=["as the shared one", "naming its folder instead of the build argument"],
)
def test_an_own_dockerfile_made_from_the_shared_one_passes(
    repo_copy: Callable[[], Path], replace: dict[str, str]
) -> None:
    root = repo_copy()
    write(root, "workers/consumer/Dockerfile", own_dockerfile(**replace))

    assert problems(root) == []


def test_an_own_dockerfile_copied_from_another_service_is_refused(
    repo_copy: Callable[[], Path],
) -> None:
    # Given the consumer's folder copied by hand with a Dockerfile that still names the consumer
    root = repo_copy()
    text = own_dockerfile(**{"${SERVICE}/": "consumer/"})
    write(root, "workers/consumer/Dockerfile", text)
    (root / "workers" / "thumbnails").mkdir()
    for name in ("service.yaml", "handler.py", "requirements.txt", "Dockerfile"):
        source = root / "workers" / "consumer" / name
        (root / "workers" / "thumbnails" / name).write_bytes(source.read_bytes())

    found = problems(root)

    lines = [line for line in found if line.startswith("workers/thumbnails/Dockerfile")]
    assert len(lines) == 2  # its requirements and its folder, both the consumer's
    assert all("COPY consumer/" in line for line in lines)
    assert "an image is built from its own folder (thumbnails/, or ${SERVICE}/)" in lines[0]
    assert len(found) == 2


def test_an_own_dockerfile_with_another_entry_point_or_a_missing_source_is_refused(
    repo_copy: Callable[[], Path],
) -> None:
    root = repo_copy()
    text = own_dockerfile(
        **{
            '["python", "-m", "workers.runtime"]': '["python", "-m", "workers.consumer"]',
            "COPY __init__.py workers/__init__.py": "COPY __init__.py workers/__init__.py\n"
            "COPY ${SERVICE}/assets/ /assets/",
        }
    )
    write(root, "workers/consumer/Dockerfile", text)

    line = text.splitlines().index("COPY ${SERVICE}/assets/ /assets/") + 1

    assert problems(root) == [
        f"workers/consumer/Dockerfile: line {line}: COPY ${{SERVICE}}/assets/: "
        "workers/consumer/assets does not exist",
        'workers/consumer/Dockerfile: the final ENTRYPOINT must be ["python", "-m", '
        '"workers.runtime"], the platform\'s entry point (the task definition says which kind '
        "and handler it runs)",
    ]


def test_an_ingest_api_has_no_code_to_check(repo_copy: Callable[[], Path]) -> None:
    root = repo_copy()

    assert not (root / "workers" / "ingest" / "handler.py").exists()
    assert problems(root) == []


@pytest.mark.slow
def test_main_py_lists_code_and_config_problems_together_and_writes_nothing(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    # Given a spec problem and a code problem in two services
    root = repo_copy()
    spec = root / "workers" / "consumer" / "service.yaml"
    spec.write_text(spec.read_text().replace("concurrency: 10", "concurrency: 0"))
    write(root, "workers/producer/handler.py", "def produce(extra):\n    return []\n")
    outdir = tmp_path / "cdktf.out"

    completed = subprocess.run(
        [sys.executable, "main.py", "--root", str(root), "--outdir", str(outdir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then both are in the one report, and nothing was written
    assert completed.returncode == 2
    assert completed.stderr.splitlines() == [
        "error: workers/consumer/service.yaml: concurrency: must be at least 1; got 0",
        "error: workers/producer/handler.py: 'produce' cannot be called as `produce()` (line 1): "
        "it must take exactly 0 positional argument(s)",
        "2 problem(s); nothing was written.",
    ]
    assert not outdir.exists()


README_EXAMPLE = "\n$ make synth    # with `def handle(message: Message, size: int)` in "


@pytest.mark.slow
def test_the_readme_example_is_what_main_prints(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    # Given the consumer copied to thumbnails, whose handler takes one argument too many
    readme = (REPO_ROOT / "README.md").read_text()
    example = readme.split(README_EXAMPLE, 1)[1].split("```", 1)[0].splitlines()[1:]
    root = repo_copy()
    shutil.copytree(root / "workers" / "consumer", root / "workers" / "thumbnails")
    handler = root / "workers" / "thumbnails" / "handler.py"
    old = "def handle(message: Message) -> None:"
    handler.write_text(handler.read_text().replace(old, old.replace(")", ", size: int)")))

    completed = subprocess.run(
        [sys.executable, "main.py", "--root", str(root), "--outdir", str(tmp_path / "out")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 2
    assert completed.stderr.splitlines() == example
