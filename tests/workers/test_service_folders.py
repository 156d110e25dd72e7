"""A service's folder holds only what it owns, and nothing in it names the service: its folder's
name is its name, so a copy under another name is another service. Its spec's comments point to
documentation that exists."""

from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING

import pytest

from devtools.new_service import TEMPLATES
from modules.config import SERVICE_FILE, ServiceBase, load_config
from tests.conftest import REPO_ROOT
from tests.infra.conftest import repo_copy

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

__all__ = ["repo_copy"]

WORKERS = REPO_ROOT / "workers"
# What a service folder may hold besides code of its own (modules and packages).
OWNED = {"service.yaml", "handler.py", "test_handler.py", "requirements.txt", "__init__.py"}
# `README.md, "Section"` in a comment; and a repository file named in one.
README_SECTION = re.compile(r'README(?:\.md)?, "([^"]+)"')
REPOSITORY_FILE = re.compile(r"\b((?:docs|workers)/[\w./-]+\.md)\b")


def container_services() -> list[str]:
    config = load_config(REPO_ROOT)
    return sorted(spec.name for spec in config.services if isinstance(spec, ServiceBase))


def service_files(folder: Path) -> list[Path]:
    return sorted(
        path for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts
    )


@pytest.mark.parametrize("service", container_services())
def test_a_service_folder_holds_what_the_service_owns_and_nothing_the_platform_does(
    service: str,
) -> None:
    names = {path.name for path in service_files(WORKERS / service)}

    assert names == OWNED  # no entry module, no Dockerfile: the platform's (workers/runtime)


@pytest.mark.parametrize("service", [path.parent.name for path in WORKERS.glob("*/service.yaml")])
def test_no_file_in_a_service_folder_names_its_service(service: str) -> None:
    named = re.compile(
        rf"workers[./]{re.escape(service)}\b|[\"']{re.escape(service)}[\"']|\b{re.escape(service)}/"
    )

    naming = [
        f"{path.relative_to(REPO_ROOT)}: {match[0]}"
        for path in service_files(WORKERS / service)
        for match in [named.search(path.read_text())]
        if match is not None
    ]

    assert naming == []


@pytest.mark.parametrize("service", container_services())
def test_a_copy_of_a_service_folder_is_another_service_running_its_own_code(
    service: str, repo_copy: Callable[[], Path]
) -> None:
    root = repo_copy()
    shutil.copytree(root / "workers" / service, root / "workers" / "copied")

    copied = load_config(root, check_code=True).service("copied")

    assert isinstance(copied, ServiceBase)
    assert copied.task_settings(region="").handler.startswith("workers.copied.handler:")


def spec_files() -> list[Path]:
    return [*sorted(WORKERS.glob(f"*/{SERVICE_FILE}")), TEMPLATES.parent / "spec.py"]


@pytest.mark.parametrize("spec", spec_files(), ids=lambda path: path.parent.name)
def test_spec_comments_point_to_sections_and_files_that_exist(spec: Path) -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    headings = {line.lstrip("#").strip() for line in readme.splitlines() if line.startswith("#")}
    # The comment lines as one text: a section's name may be wrapped over two lines.
    comments = " ".join(
        line.split("#", 1)[1].strip() for line in spec.read_text().splitlines() if "#" in line
    )

    sections = README_SECTION.findall(comments)
    files = REPOSITORY_FILE.findall(comments)

    assert sections, f"{spec} points to no README section"
    assert [section for section in sections if section not in headings] == []
    assert [name for name in files if not (REPO_ROOT / name).is_file()] == []
