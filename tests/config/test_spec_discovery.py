"""Which files are service specs: a folder with code but no spec is a warning (synth goes on),
the platform's own folders are not services, and a link inside the repository is fine.

Misnamed specs and links out of the repository are errors: see test_bad_configs.py's corpus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.config import load_config
from tests.config.support import CONSUMER, MAIN_TIMEOUT_SECONDS, PRODUCER, run_main, set_key

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

NO_SPEC_WARNING = (
    "workers/billing: holds Python files but no service.yaml, so no stack is made for it; add "
    "workers/billing/service.yaml to deploy it (README: Adding a service)"
)


def test_a_folder_with_code_but_no_spec_is_a_warning_and_the_rest_loads(
    repo_copy: Callable[[], Path],
) -> None:
    root = repo_copy()
    (root / "workers" / "billing").mkdir()
    (root / "workers" / "billing" / "handler.py").write_text("def handle(message): ...\n")
    warnings: list[str] = []

    config = load_config(root, warn=warnings.append)

    assert warnings == [NO_SPEC_WARNING]
    assert "billing" not in [service.name for service in config.services]


def test_main_prints_the_warning_before_the_problems(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    root = repo_copy()
    (root / "workers" / "billing").mkdir()
    (root / "workers" / "billing" / "handler.py").write_text("def handle(message): ...\n")
    set_key(CONSUMER, "concurrency", 0)(root)

    completed = run_main(root, tmp_path / "cdktf.out", MAIN_TIMEOUT_SECONDS)

    assert completed.returncode == 2
    assert completed.stderr.splitlines() == [
        f"warning: {NO_SPEC_WARNING}",
        f"error: {CONSUMER}: concurrency: must be at least 1; got 0",
        "1 problem(s); nothing was written.",
    ]


def test_platform_and_hidden_folders_are_not_services(repo_copy: Callable[[], Path]) -> None:
    root = repo_copy()
    for folder in ("runtime", ".cache", "__pycache__"):
        (root / "workers" / folder).mkdir(exist_ok=True)
        (root / "workers" / folder / "module.py").write_text("")
    warnings: list[str] = []

    load_config(root, warn=warnings.append)

    assert warnings == []


def test_a_spec_linked_from_inside_the_repository_is_read(repo_copy: Callable[[], Path]) -> None:
    root = repo_copy()
    shared = root / "specs" / "producer.yaml"
    shared.parent.mkdir()
    (root / PRODUCER).rename(shared)
    (root / PRODUCER).symlink_to("../../specs/producer.yaml")

    config = load_config(root)

    assert config.service("producer").kind == "producer"
