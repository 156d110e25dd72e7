"""Finding the service specs: exactly `workers/<name>/service.yaml`, one per service.

A spec the loader does not find is a service that silently never deploys. So a file that looks
like a spec under another name (`service.yml`, `Service.yaml`) is an error that names the file
and the name it needs, and a folder with Python files but no spec is a warning. A spec that is a
symbolic link out of the repository is refused: what deploys must be what the repository holds,
reviewed and versioned with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modules.config.base import printable

if TYPE_CHECKING:
    from pathlib import Path

SERVICE_FILE = "service.yaml"
WORKERS_DIR = "workers"
# Names (compared case-insensitively) that say "I am a spec" but are not `service.yaml`.
_LOOKS_LIKE_A_SPEC = re.compile(r"services?\.(ya?ml|json)")
# Folders of workers/ that hold the platform's own code, never a service.
PLATFORM_FOLDERS = frozenset({"runtime"})


@dataclass(frozen=True)
class Discovery:
    """What `workers/` holds: the specs to read, and what to tell the user about the rest."""

    specs: tuple[Path, ...]  # sorted by folder
    problems: tuple[str, ...]  # complete message lines: `file: what is wrong`
    warnings: tuple[str, ...]


def outside(path: Path, root: Path) -> bool:
    """Whether `path`, symbolic links followed, lies outside the repository `root`."""
    try:
        return not path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a link loop: reading the file reports it
        return False


def refused_link(label: str) -> str:
    return (
        f"{label}: is a symbolic link to a file outside the repository; refused: a config file "
        "must be reviewed and versioned with the repository (copy it in instead)"
    )


def discover(root: Path) -> Discovery:
    """Every spec under `root/workers`, with the problems and warnings of what is around them."""
    workers = root / WORKERS_DIR
    specs: list[Path] = []
    problems: list[str] = []
    warnings: list[str] = []
    try:
        entries = sorted(workers.iterdir()) if workers.is_dir() else []
    except OSError as error:
        return Discovery((), (f"{WORKERS_DIR}: cannot be read ({error.strerror})",), ())
    for entry in entries:
        label = f"{WORKERS_DIR}/{printable(entry.name)}"
        if _LOOKS_LIKE_A_SPEC.fullmatch(entry.name.strip().casefold()) and not entry.is_dir():
            problems.append(
                f"{label}: a service spec belongs in its service's folder: "
                f"{WORKERS_DIR}/<name>/{SERVICE_FILE}"
            )
        elif entry.is_dir() and not entry.name.startswith((".", "_")):
            _look_in(entry, root, specs, problems, warnings)
    return Discovery(tuple(specs), tuple(problems), tuple(warnings))


def _looks_like_a_spec(name: str) -> bool:
    looks = _LOOKS_LIKE_A_SPEC.fullmatch(name.strip().casefold()) is not None
    return looks and name != SERVICE_FILE


def _look_in(
    folder: Path, root: Path, specs: list[Path], problems: list[str], warnings: list[str]
) -> None:
    label = f"{WORKERS_DIR}/{printable(folder.name)}"
    try:
        names = sorted(child.name for child in folder.iterdir())
    except OSError as error:
        problems.append(f"{label}: cannot be read ({error.strerror})")
        return
    misnamed = [name for name in names if _looks_like_a_spec(name)]
    has_spec = SERVICE_FILE in names
    for name in misnamed:
        also = f" (or merge it into the {SERVICE_FILE} there)" if has_spec else ""
        problems.append(
            f"{label}/{printable(name)}: looks like a service spec, but only files named "
            f"{SERVICE_FILE} are read; rename it to {SERVICE_FILE}{also}"
        )
    spec = folder / SERVICE_FILE
    if has_spec and outside(spec, root):
        problems.append(refused_link(f"{label}/{SERVICE_FILE}"))
    elif has_spec:
        specs.append(spec)
    elif not misnamed and folder.name not in PLATFORM_FOLDERS and _has_python(names):
        warnings.append(
            f"{label}: holds Python files but no {SERVICE_FILE}, so no stack is made for it; "
            f"add {label}/{SERVICE_FILE} to deploy it (README: Adding a service)"
        )


def _has_python(names: list[str]) -> bool:
    return any(name.endswith(".py") for name in names)
