"""Fixtures shared by every test folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from devtools.moto_server import MotoServer, running_moto_server  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One real moto_server for the session; tests create their own uniquely named queues."""
    with running_moto_server() as server:
        yield server


@pytest.fixture
def fresh_copy(tmp_path: Path) -> Path:
    """A copy of the repository as a clone holds it (with work not committed yet), sharing the
    installed venv: for tests that run make in it."""
    from tests.helpers.repository import make_fresh_copy

    return make_fresh_copy(tmp_path / "repo")
