"""Reading the configuration: `platform.yaml` and every `workers/<name>/service.yaml`, as YAML
that may not repeat a key, validated into PlatformConfig, then checked across files."""

from __future__ import annotations

# Not under TYPE_CHECKING: pydantic resolves PlatformConfig.root's annotation at runtime.
from pathlib import Path  # noqa: TC003
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from modules.config.consumers import ConsumerSpec, ProducerSpec
from modules.config.ingest import IngestSpec
from modules.config.jobs import JobSpec
from modules.config.messages import _describe
from modules.config.project import ProjectConfig
from modules.config.scheduled import ScheduledSpec

if TYPE_CHECKING:
    from modules.config.services import SpecBase

PROJECT_FILE = "platform.yaml"
SERVICE_FILE = "service.yaml"
WORKERS_DIR = "workers"

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


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that rejects duplicate keys instead of silently keeping the last."""


class _DuplicateKey(yaml.MarkedYAMLError):
    """Valid YAML that PyYAML would read by dropping a value: an error here."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    first_lines: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in first_lines:
            raise _DuplicateKey(
                problem=(
                    f"duplicate key {key!r} (first on line {first_lines[key]}); "
                    "a key may appear once per mapping"
                ),
                problem_mark=key_node.start_mark,
            )
        first_lines[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)

# How an error message names the YAML type of a value that should have been a mapping.
_YAML_TYPE_NAMES = {
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
}


def _read_yaml(path: Path, label: str) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        raise ConfigError([f"{label}: file not found"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{label}: not UTF-8 text"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        if not isinstance(error, _DuplicateKey):
            problem = f"invalid YAML: {problem}"
        raise ConfigError([f"{label}:{where} {problem}"]) from None
    if data is None:  # an empty file, or comments only: every field takes its default
        data = {}
    if not isinstance(data, dict):
        found = _YAML_TYPE_NAMES.get(type(data), type(data).__name__)
        raise ConfigError([f"{label}: must be a mapping of keys to values; got {found}"])
    return data


def _validate(adapter: TypeAdapter[M], root: Any, data: dict[str, Any], label: str) -> M:
    try:
        return adapter.validate_python(data)
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            field, message = _describe(item, root)
            problems.append(f"{label}: {field}: {message}")
        raise ConfigError(problems) from None


_PROJECT = TypeAdapter(ProjectConfig)
_SERVICE: TypeAdapter[AnyService] = TypeAdapter(ServiceSpec)


def load_config(root: Path) -> PlatformConfig:
    """Read and validate `platform.yaml` and every `workers/*/service.yaml` under `root`.

    Raises ConfigError listing every problem found; returns nothing partial.
    """
    problems: list[str] = []
    project: ProjectConfig | None = None
    try:
        data = _read_yaml(root / PROJECT_FILE, PROJECT_FILE)
        project = _validate(_PROJECT, ProjectConfig, data, PROJECT_FILE)
    except ConfigError as error:
        problems += error.problems

    services: list[AnyService] = []
    invalid: set[str] = set()
    for spec_path in sorted((root / WORKERS_DIR).glob(f"*/{SERVICE_FILE}")):
        label = spec_path.relative_to(root).as_posix()
        try:
            data = _read_yaml(spec_path, label)
            if "name" in data:
                raise ConfigError([f"{label}: name: unknown key; a service is named by its folder"])
            name = spec_path.parent.name
            services.append(_validate(_SERVICE, ServiceSpec, {**data, "name": name}, label))
        except ConfigError as error:
            problems += error.problems
            invalid.add(spec_path.parent.name)

    problems += _cross_checks(services, invalid)
    if problems:
        raise ConfigError(problems)
    assert project is not None
    return PlatformConfig(root=root, project=project, services=tuple(services))


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
