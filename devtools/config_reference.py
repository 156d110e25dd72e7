"""The README's configuration reference, generated from the config models' field metadata.

    python -m devtools.config_reference --check README.md   # exit 1 when the README is stale
    python -m devtools.config_reference --write README.md   # rewrite the generated section
    python -m devtools.config_reference                     # print the reference

Only the text between the two markers is generated; the rest of the README is written by hand.
Descriptions live once, in `modules/config/` (`Field(description=...)` and model docstrings);
a trailing "Default: ..." sentence there moves to the Default column.
"""

from __future__ import annotations

import argparse
import enum
import json
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel

from modules.config import (
    NAME_RULE,
    PATTERN_RULES,
    PROJECT_FILE,
    SERVICE_FILE,
    WORKERS_DIR,
    AnyService,
    ProjectConfig,
    ServiceBase,
)

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

__all__ = ["END_MARKER", "START_MARKER", "render", "replace_section"]

START_MARKER = "<!-- config-reference:start -->"
END_MARKER = "<!-- config-reference:end -->"
GENERATED_NOTE = (
    "<!-- Generated from modules/config/ by `python -m devtools.config_reference --write "
    "README.md`; edit the models, not this section. -->"
)
_DEFAULT_SENTENCE = re.compile(r"\s*Default: (?P<default>[^.]*(?:\.\d[^.]*)*)\.?$")
_SCALARS = {bool: "boolean", int: "integer", float: "number", str: "string"}


@dataclass(frozen=True)
class Row:
    field: str
    type: str
    default: str
    description: str


@dataclass(frozen=True)
class Nested:
    """A model reached through a field, rendered in its own table below its parent."""

    path: str  # e.g. `network`, `containers[]`
    model: type[BaseModel]
    tag: str  # e.g. `mode: create` for a member of a tagged union; '' otherwise


# --- types --------------------------------------------------------------------------------------


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """`Annotated[X, ...]` -> (X, its metadata)."""
    metadata: list[Any] = []
    while get_origin(annotation) is Annotated:
        annotation, *extra = get_args(annotation)
        metadata += extra
    return annotation, metadata


def _members(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        return [_unwrap(member)[0] for member in get_args(annotation)]
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _literal(value: Any) -> str:
    return f"`{value.value if isinstance(value, enum.Enum) else value}`"


def _bounds(metadata: list[Any], unit: str = "") -> str:
    limits: dict[str, Any] = {}
    for item in metadata:
        for name in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            value = getattr(item, name, None)
            if value is not None and isinstance(item, annotated_types.BaseMetadata):
                limits[name] = value
    low = limits.get("ge", limits.get("min_length"))
    high = limits.get("le", limits.get("max_length"))
    if low is not None and high is not None:
        return f", {low} to {high}{unit}"
    if low is not None:
        return f", at least {low}{unit}"
    if "gt" in limits:
        return f", more than {limits['gt']}{unit}"
    if high is not None:
        return f", at most {high}{unit}"
    return ""


def type_name(annotation: Any, metadata: list[Any]) -> str:
    """How the Type column names a field's type, with its bounds."""
    annotation, more = _unwrap(annotation)
    metadata = [*metadata, *more]
    members = _members(annotation)
    nullable = type(None) in members
    members = [member for member in members if member is not type(None)]
    if len(members) > 1:
        name = (
            "mapping"
            if all(_is_model(member) for member in members)
            else " or ".join(type_name(member, []) for member in members)
        )
    else:
        name = _single_type_name(members[0], metadata)
    if not nullable:
        return name
    return f"{name}, or null" if "," in name else f"{name} or null"


def _single_type_name(annotation: Any, metadata: list[Any]) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " or ".join(_literal(value) for value in args)
    if origin is list:
        item_type = _unwrap(args[0])[0]
        item = "mappings" if _is_model(item_type) else type_name(item_type, [])
        item += "s" if item_type in _SCALARS else ""
        return f"list of {item}{_bounds(metadata, ' items')}"
    if origin is dict:
        return f"mapping of {type_name(args[0], [])} to {type_name(args[1], [])}"
    if _is_model(annotation):
        return "mapping"
    return (
        f"{_SCALARS.get(annotation, getattr(annotation, '__name__', str(annotation)))}"
        + _bounds(metadata)
    )


# --- defaults and descriptions ------------------------------------------------------------------


def _yaml(value: Any) -> str:
    """A default value as YAML would spell it."""
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, dict | list) or value == "":
        text = json.dumps(value)
    else:
        text = str(value)
    return f"`{text}`"


def _default(field: FieldInfo) -> Any:
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return field.default


def default_and_description(field: FieldInfo) -> tuple[str, str]:
    """The Default and Description cells.

    A trailing "Default: ..." sentence leaves the description; when the default is null or empty,
    its words ("the project's region", "none") fill the Default cell instead of the value.
    """
    description = (field.description or "").strip()
    if field.is_required():
        return "required", description
    value = _default(field)
    rendered = _yaml(value)
    if _is_model(type(value)):
        tag = _discriminator_tag(type(value))
        rendered = f"{tag} with its defaults" if tag else "its defaults"
    said = _DEFAULT_SENTENCE.search(description)
    if said is not None:
        description = description[: said.start()].strip()
        if value is None or value in ("", [], {}):
            rendered = said.group("default")
    return rendered, description


def _discriminator_tag(model: type[BaseModel]) -> str:
    for name, field in model.model_fields.items():
        annotation, _ = _unwrap(field.annotation)
        if get_origin(annotation) is Literal:
            return f"`{name}: {get_args(annotation)[0]}`"
    return ""


def _pattern_rule(field: FieldInfo) -> str:
    for item in field.metadata:
        pattern = getattr(item, "pattern", None)
        if pattern in PATTERN_RULES:
            return f"Must be {PATTERN_RULES[pattern]}."
    annotation, _ = _unwrap(field.annotation)
    if get_origin(annotation) is list:
        _, item_metadata = _unwrap(get_args(annotation)[0])
        for item in item_metadata:
            for inner in getattr(item, "metadata", [item]):
                pattern = getattr(inner, "pattern", None)
                if pattern in PATTERN_RULES:
                    return f"Each must be {PATTERN_RULES[pattern]}."
    return ""


# --- tables -------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rows(model: type[BaseModel], skip: frozenset[str] = frozenset()) -> list[Row]:
    found = []
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        default, description = default_and_description(field)
        rule = _pattern_rule(field)
        found.append(
            Row(
                field=f"`{name}`",
                type=type_name(field.annotation, list(field.metadata)),
                default=default,
                description=" ".join(part for part in (description, rule) if part),
            )
        )
    return found


def table(found: list[Row]) -> list[str]:
    lines = ["| Field | Type | Default | Description |", "| --- | --- | --- | --- |"]
    lines += [
        f"| {_cell(row.field)} | {_cell(row.type)} | {_cell(row.default)} | "
        f"{_cell(row.description)} |"
        for row in found
    ]
    return lines


def nested_models(model: type[BaseModel], prefix: str, skip: frozenset[str]) -> list[Nested]:
    """Models reached through `model`'s fields, depth first, in field order."""
    found: list[Nested] = []
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        annotation, _ = _unwrap(field.annotation)
        path = f"{prefix}{name}"
        if get_origin(annotation) is list:
            annotation, _ = _unwrap(get_args(annotation)[0])
            path += "[]"
        members = [member for member in _members(annotation) if _is_model(member)]
        for member in members:
            tag = _discriminator_tag(member) if len(members) > 1 else ""
            found.append(Nested(path, member, tag))
            found += nested_models(member, f"{path}.", frozenset())
    return found


def _doc(model: type[BaseModel]) -> list[str]:
    doc = (model.__doc__ or "").strip()
    return [" ".join(doc.split()), ""] if doc else []


def _section(
    heading: str, model: type[BaseModel], skip: frozenset[str], intro: list[str]
) -> list[str]:
    lines = [heading, "", *intro, *_doc(model), *table(rows(model, skip)), ""]
    for nested in nested_models(model, "", skip):
        title = f"`{nested.path}`" + (f" with {nested.tag}" if nested.tag else "")
        lines += [f"#### {title}", "", *_doc(nested.model), *table(rows(nested.model)), ""]
    return lines


def documented_models() -> list[tuple[type[BaseModel], frozenset[str]]]:
    """Every model with a table in the reference, and the fields its table leaves out."""
    common = frozenset(ServiceBase.model_fields)
    tops = [(ProjectConfig, frozenset()), (ServiceBase, frozenset({"name"}))]
    tops += [(spec, common) for spec in get_args(AnyService)]
    found = list(tops)
    for model, skip in tops:
        found += [(nested.model, frozenset()) for nested in nested_models(model, "", skip)]
    return found


def render() -> str:
    """The generated section, without the markers."""
    service_file = f"{WORKERS_DIR}/<name>/{SERVICE_FILE}"
    common = frozenset(ServiceBase.model_fields)
    lines = [GENERATED_NOTE, ""]
    lines += _section(f"### `{PROJECT_FILE}`", ProjectConfig, frozenset(), [])
    lines += _section(
        f"### `{service_file}`: every kind",
        ServiceBase,
        frozenset({"name"}),
        [
            f"The folder name, `{WORKERS_DIR}/<name>/`, is the service's name: {NAME_RULE}. "
            "`kind` says which fields the file takes besides these.",
            "",
        ],
    )
    for spec in get_args(AnyService):
        kind = get_args(_unwrap(spec.model_fields["kind"].annotation)[0])[0]
        lines += _section(f"### `{service_file}` with `kind: {kind}`", spec, common, [])
    return "\n".join(lines).rstrip() + "\n"


# --- the README ---------------------------------------------------------------------------------


class MarkersMissing(ValueError):
    pass


def replace_section(document: str, generated: str) -> str:
    """`document` with the text between the markers replaced by `generated`."""
    start, end = document.find(START_MARKER), document.find(END_MARKER)
    if start < 0 or end < start:
        raise MarkersMissing(f"expected {START_MARKER} followed by {END_MARKER}")
    return f"{document[: start + len(START_MARKER)]}\n{generated}{document[end:]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", type=Path, metavar="README", help="fail when it is stale")
    action.add_argument("--write", type=Path, metavar="README", help="update it in place")
    args = parser.parse_args(argv)
    generated = render()
    target = args.check or args.write
    if target is None:
        print(generated, end="")
        return 0
    document = target.read_text(encoding="utf-8")
    try:
        updated = replace_section(document, generated)
    except MarkersMissing as error:
        print(f"error: {target}: {error}", file=sys.stderr)
        return 2
    if args.write:
        if updated != document:
            target.write_text(updated, encoding="utf-8")
        return 0
    if updated != document:
        print(
            f"error: {target}: the configuration reference is stale; run "
            f"`python -m devtools.config_reference --write {target}`",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
