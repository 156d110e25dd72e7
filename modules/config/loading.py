"""Reading the configuration: `platform.yaml` and every `workers/<name>/service.yaml` (found by
`discovery`, read safely by `reading`), validated into PlatformConfig, then checked across files.

Whatever the files hold, the answer is bounded: at most MAX_PROBLEMS_PER_FILE problems of one
file are listed, and no line is longer than MAX_PROBLEM_CHARS."""

from __future__ import annotations

import sys

# Not under TYPE_CHECKING: pydantic resolves PlatformConfig.root's annotation at runtime.
from pathlib import Path  # noqa: TC003
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from modules.config.base import elide, printable
from modules.config.consumers import ConsumerSpec, ProducerSpec
from modules.config.discovery import SERVICE_FILE, WORKERS_DIR, discover, outside, refused_link
from modules.config.ingest import IngestSpec
from modules.config.jobs import JobSpec
from modules.config.limits import name_problems
from modules.config.messages import _describe
from modules.config.project import ProjectConfig
from modules.config.reading import ReadError, read_config_file
from modules.config.scheduled import ScheduledSpec
from modules.config.service_code import code_problems

if TYPE_CHECKING:
    from collections.abc import Callable

    from modules.config.services import SpecBase

PROJECT_FILE = "platform.yaml"
# Enough to see what is wrong with a file; the rest are usually the same mistake repeated.
MAX_PROBLEMS_PER_FILE = 20
# Longer than any message the models write (the longest lists what is allowed), so only a
# value that slipped through unshortened is ever cut.
MAX_PROBLEM_CHARS = 600

# Stacks the platform itself owns; a service may not take their names.
PLATFORM_STACKS = ("cluster", "logs")


AnyService = ConsumerSpec | ProducerSpec | ScheduledSpec | IngestSpec | JobSpec
ServiceSpec = Annotated[AnyService, Field(discriminator="kind")]
ServiceT = TypeVar("ServiceT", ConsumerSpec, ProducerSpec, ScheduledSpec, IngestSpec, JobSpec)
M = TypeVar("M")
SERVICE_KINDS = ("consumer", "producer", "scheduled", "ingest", "job")


class PlatformConfig(BaseModel):
    """The whole configuration: the project and every service, sorted by name."""

    model_config = ConfigDict(frozen=True)

    root: Path
    project: ProjectConfig
    services: tuple[AnyService, ...]

    def service(self, name: str) -> AnyService:
        return next(service for service in self.services if service.name == name)

    def of_kind(self, kind: type[ServiceT]) -> list[ServiceT]:
        return [service for service in self.services if isinstance(service, kind)]


class ConfigError(Exception):
    """One or more configuration problems, each `file: field: what is wrong and what is allowed`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _validate(adapter: TypeAdapter[M], root: Any, data: dict[str, Any], label: str) -> M:
    try:
        return adapter.validate_python(data)
    except ValidationError as error:
        items = error.errors(include_url=False)
        problems = []
        for item in items[:MAX_PROBLEMS_PER_FILE]:
            field, message = _describe(item, root)
            problems.append(f"{label}: {field}: {message}")
        if len(items) > MAX_PROBLEMS_PER_FILE:
            problems.append(
                f"{label}: {len(items) - MAX_PROBLEMS_PER_FILE} more problem(s) not shown; "
                "fix the ones above first"
            )
        raise ConfigError(problems) from None


def _read(root: Path, relative: str) -> dict[str, Any]:
    """The mapping in `root/relative`; ConfigError when it cannot be read as config data."""
    path = root / relative
    if outside(path, root):
        raise ConfigError([refused_link(relative)])
    try:
        return read_config_file(path, relative)
    except ReadError as error:
        raise ConfigError(error.problems) from None


def _print_warning(warning: str) -> None:
    print(f"warning: {warning}", file=sys.stderr)


def _bounded(problem: str) -> str:
    """`problem` on one line, cut if a value made it longer than any message we write."""
    return elide(printable(problem), MAX_PROBLEM_CHARS - 40)


_PROJECT = TypeAdapter(ProjectConfig)
_SERVICE: TypeAdapter[AnyService] = TypeAdapter(ServiceSpec)


def load_config(
    root: Path, warn: Callable[[str], None] = _print_warning, *, check_code: bool = False
) -> PlatformConfig:
    """Read and validate `platform.yaml` and every `workers/*/service.yaml` under `root`.

    Raises ConfigError listing every problem found; returns nothing partial. `warn` receives
    what deserves a word but does not stop synth (default: a `warning:` line on stderr).
    `check_code`: also check each container service's handler, requirements and Dockerfile
    (`service_code`), as `make synth` does before writing anything.
    """
    problems: list[str] = []
    project: ProjectConfig | None = None
    try:
        project = _validate(_PROJECT, ProjectConfig, _read(root, PROJECT_FILE), PROJECT_FILE)
    except ConfigError as error:
        problems += error.problems

    found = discover(root)
    for warning in found.warnings:
        warn(warning)
    problems += found.problems
    services: list[AnyService] = []
    invalid: set[str] = set()
    for spec_path in found.specs:
        try:
            services.append(_load_service(root, spec_path))
        except ConfigError as error:
            problems += error.problems
            invalid.add(spec_path.parent.name)

    problems += _cross_checks(services, invalid)
    if check_code:
        problems += code_problems(root, services)
    if project is not None:
        problems += _name_lengths(project, services)
    if problems:
        raise ConfigError([_bounded(problem) for problem in problems])
    assert project is not None
    return PlatformConfig(root=root, project=project, services=tuple(services))


def _load_service(root: Path, spec_path: Path) -> AnyService:
    label = spec_path.relative_to(root).as_posix()
    data = _read(root, label)
    if "name" in data:
        raise ConfigError([f"{label}: name: unknown key; a service is named by its folder"])
    return _validate(_SERVICE, ServiceSpec, {**data, "name": spec_path.parent.name}, label)


def _name_lengths(project: ProjectConfig, services: list[AnyService]) -> list[str]:
    """Resource names that would be too long for AWS once project and service are joined."""
    return [
        f"{WORKERS_DIR}/{service.name}/{SERVICE_FILE}: name: {problem}"
        for service in services
        for problem in name_problems(project.project, service.name)
    ]


# The field of each kind that names a consumer (its queue): the consumer must be declared.
CONSUMER_LINKS: dict[type[SpecBase], str] = {
    ProducerSpec: "sends_to",
    ScheduledSpec: "watches",
    IngestSpec: "feeds",
}


def _cross_checks(services: list[AnyService], invalid: set[str]) -> list[str]:
    """Rules that span several files. `invalid`: folders whose spec already failed on its own."""
    problems = []
    consumers = {service.name for service in services if isinstance(service, ConsumerSpec)}
    for service in services:
        label = f"{WORKERS_DIR}/{service.name}/{SERVICE_FILE}"
        if service.name in PLATFORM_STACKS:
            problems.append(
                f"{label}: name: '{service.name}' is taken by a platform stack "
                f"({', '.join(PLATFORM_STACKS)}); rename the folder"
            )
        # A producer of a consumer whose own file is broken is not reported twice.
        link = CONSUMER_LINKS.get(type(service))
        named = getattr(service, link) if link is not None else None
        if named is not None and named not in consumers and named not in invalid:
            allowed = ", ".join(sorted(consumers)) or "none declared"
            problems.append(
                f"{label}: {link}: no consumer named '{named}' declares a queue; "
                f"consumers: {allowed}"
            )
    return problems
