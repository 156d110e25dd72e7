"""`make new-service NAME=<name> KIND=<kind>`: write the few files a new service owns.

    workers/<name>/service.yaml       the kind's fields, optional ones commented with defaults
    workers/<name>/handler.py         the function the platform calls, with its signature
    workers/<name>/test_handler.py    a test of it, run by `make test`
    workers/<name>/requirements.txt   the service's own pinned dependencies (none yet)
    workers/<name>/__init__.py        makes the folder a package (its test imports `.handler`)

Nothing the platform owns: the entry point and the image are the runtime's and workers/Dockerfile,
and no file names the service (its folder does), so a copy of the folder under another name is
another service. A bad NAME or KIND, or a folder that exists, is refused with one line and
nothing is written.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from devtools.new_service.spec import spec_text
from modules.config import (
    NAME_PATTERN,
    NAME_RULE,
    PLATFORM_STACKS,
    SERVICE_FILE,
    WORKERS_DIR,
    ConsumerSpec,
    JobSpec,
    PlatformConfig,
    ProducerSpec,
    ScheduledSpec,
)
from modules.config.discovery import PLATFORM_FOLDERS
from modules.config.limits import name_problems
from workers.runtime.kinds import KINDS

if TYPE_CHECKING:
    from modules.config import ServiceBase

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The kinds that run containers, with their config model; `ingest` runs no code of its own.
MODELS: dict[str, type[ServiceBase]] = {
    "consumer": ConsumerSpec,
    "producer": ProducerSpec,
    "scheduled": ScheduledSpec,
    "job": JobSpec,
}
# What a new scheduled job starts with; its spec requires a schedule.
FIRST_SCHEDULE = "rate(1 hour)"
USAGE = "make new-service NAME=<name> KIND=<consumer|producer|scheduled|job> [SENDS_TO=<consumer>]"


class Refused(Exception):
    """Why the service cannot be written; one line, nothing was written."""


@dataclass(frozen=True)
class NewService:
    name: str
    kind: str
    files: dict[str, str]  # file name in the service's folder -> text


def plan(config: PlatformConfig, name: str, kind: str, sends_to: str | None) -> NewService:
    """The files of the new service, or Refused saying why not."""
    check_name(config, name)
    model = MODELS.get(kind)
    if model is None:
        raise Refused(_kind_problem(kind))
    required = _required_values(config, kind, sends_to)
    kind_templates = TEMPLATES / kind
    files = {
        SERVICE_FILE: spec_text(model, kind, required),
        "__init__.py": (TEMPLATES / "__init__.py").read_text(),
        "requirements.txt": (TEMPLATES / "requirements.txt").read_text(),
        "handler.py": (kind_templates / "handler.py").read_text(),
        "test_handler.py": (kind_templates / "test_handler.py").read_text(),
    }
    return NewService(name, kind, files)


def check_name(config: PlatformConfig, name: str) -> None:
    if not name:
        raise Refused(f"NAME is required: {USAGE}")
    if not re.fullmatch(NAME_PATTERN, name):
        raise Refused(f"NAME '{name}' is not valid: it must be {NAME_RULE}")
    if name in PLATFORM_STACKS or name in PLATFORM_FOLDERS:
        raise Refused(f"NAME '{name}' is taken by the platform; choose another")
    folder = config.root / WORKERS_DIR / name
    if folder.exists() or folder.is_symlink():
        raise Refused(f"{WORKERS_DIR}/{name} already exists; choose another NAME")
    problems = name_problems(config.project.project, name)
    if problems:
        raise Refused(f"NAME '{name}': {problems[0]}")


def _kind_problem(kind: str) -> str:
    if not kind:
        return f"KIND is required: {USAGE}"
    if kind == "ingest":
        return (
            "KIND 'ingest' runs no code of its own: write workers/<name>/service.yaml by hand "
            "(docs/http-ingest.md)"
        )
    return f"KIND '{kind}' is not valid: it must be one of {', '.join(KINDS)}"


def _required_values(config: PlatformConfig, kind: str, sends_to: str | None) -> dict[str, str]:
    if kind == "scheduled":
        return {"schedule": FIRST_SCHEDULE}
    if kind != "producer":
        if sends_to:
            raise Refused(f"SENDS_TO is for a producer; a {kind} sends to no consumer")
        return {}
    consumers = sorted(spec.name for spec in config.of_kind(ConsumerSpec))
    if sends_to:
        if sends_to not in consumers:
            known = ", ".join(consumers) or "none declared"
            raise Refused(f"SENDS_TO '{sends_to}' is not a consumer; consumers: {known}")
        return {"sends_to": sends_to}
    if len(consumers) == 1:
        return {"sends_to": consumers[0]}
    if not consumers:
        raise Refused(
            "a producer sends to a consumer and none is declared: make one first "
            "(make new-service NAME=<name> KIND=consumer)"
        )
    raise Refused(f"SENDS_TO is required with several consumers: one of {', '.join(consumers)}")


def write(root: Path, service: NewService) -> Path:
    """Write the folder whole or not at all: the files go to a scratch folder beside it first,
    which is then renamed into place (refused if the folder appeared meanwhile)."""
    workers = root / WORKERS_DIR
    target = workers / service.name
    scratch = Path(tempfile.mkdtemp(prefix=f".{service.name}.", dir=workers))
    try:
        for name, text in service.files.items():
            (scratch / name).write_text(text, encoding="utf-8")
            (scratch / name).chmod(0o644)
        scratch.chmod(0o755)
        try:
            scratch.rename(target)
        except OSError:
            message = f"{WORKERS_DIR}/{service.name} already exists; choose another NAME"
            raise Refused(message) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


__all__ = ["MODELS", "NewService", "Refused", "check_name", "plan", "write"]
