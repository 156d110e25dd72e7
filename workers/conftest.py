"""pytest: each service's tests are imported as modules of their service's package.

A service's test imports its handler relatively (`from . import handler`), so that no file names
its service and a copy of the folder is another service, tests included. A folder name may hold
'-', which pytest's default import mode does not take for a package name: it would import every
service's `test_handler.py` as one top-level `test_handler`. So each is imported here by its full
name, `workers.<folder>.test_handler` (the import system itself accepts any folder name).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from types import ModuleType

WORKERS = Path(__file__).resolve().parent


class ServiceTestModule(pytest.Module):
    """A test module in a service's folder, imported as part of the service's package."""

    def _getobj(self) -> ModuleType:
        return importlib.import_module(f"{WORKERS.name}.{self.path.parent.name}.{self.path.stem}")


def pytest_pycollect_makemodule(
    module_path: Path, parent: pytest.Collector
) -> pytest.Module | None:
    if module_path.resolve().parent.parent != WORKERS:
        return None  # not in a service's folder: pytest's own way
    return ServiceTestModule.from_parent(parent, path=module_path)
