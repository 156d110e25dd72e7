"""Pydantic's validation errors in plain words: the user's path to the field (as written in
YAML, without the union tags pydantic inserts) and what is wrong and what is allowed."""

from __future__ import annotations

import datetime
import difflib
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from modules.config.base import PATTERN_RULES, FieldError, field_part, quote, shorten
from modules.config.services import SpecBase

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic_core import ErrorDetails

# Pydantic's own messages speak Python ("Input should be a valid dictionary or instance of
# QueueSpec"); these speak YAML and say what is allowed. Keyed by pydantic's error type.

_TYPE_RULES = {
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}
_BOUND_RULES = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _show(value: Any) -> str:
    """A value as the user wrote it in YAML; a long one as its start and its length."""
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, dict):
        return f"a mapping of {len(value)} key(s)"
    return _show_scalar(value)


def _show_scalar(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, datetime.date):  # YAML reads 2024-01-01 as a date
        return value.isoformat()
    return shorten(str(value) if isinstance(value, int) else repr(value))


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _union_models(annotation: Any) -> list[type[BaseModel]]:
    """The models of a union such as `CreatedNetwork | ExistingNetwork` (none if it is not one)."""
    if get_origin(annotation) not in (Union, types.UnionType):
        return []
    members = [_unwrap(member) for member in get_args(annotation)]
    return [model for model in members if isinstance(model, type) and issubclass(model, BaseModel)]


def _tag_values(model: type[BaseModel], field: str) -> list[str]:
    field_info = model.model_fields.get(field)
    annotation = _unwrap(field_info.annotation) if field_info is not None else None
    if get_origin(annotation) is not Literal:
        return []
    return [str(value) for value in get_args(annotation)]


def _tagged_model(annotation: Any, tag: str) -> type[BaseModel] | None:
    """The member of a tagged union that `tag` selects, if `tag` is one of its tags."""
    for model in _union_models(annotation):
        if any(tag in _tag_values(model, field) for field in model.model_fields):
            return model
    return None


def _child(annotation: Any, part: str | int) -> Any:
    """The type found one step below `annotation` at `part` (a key or a list index)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field_info = annotation.model_fields.get(str(part))
        return _unwrap(field_info.annotation) if field_info is not None else None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and args:
        return _unwrap(args[0])
    if origin is dict and len(args) == 2:
        return _unwrap(args[1])
    return None


def _walk(root: Any, location: tuple[str | int, ...]) -> tuple[list[str], Any]:
    """Follow a pydantic error location through the config types.

    Returns the user's path to the field (without the union tags pydantic inserts, such as
    'consumer' or 'backlog-per-task') and the type found there (None once it is unknown).
    """
    path: list[str] = []
    annotation = _unwrap(root)
    for part in location:
        if part == "[key]":  # pydantic's marker of a problem with a mapping's key, not its value
            continue
        tagged = _tagged_model(annotation, part) if isinstance(part, str) else None
        if tagged is not None:
            annotation = tagged
            continue
        path.append(field_part(str(part)))
        annotation = _child(annotation, part) if annotation is not None else None
    return path, annotation


def _allowed_keys(model: Any) -> list[str]:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    # A service's name is its folder's name, never a key of its file.
    folder_named = issubclass(model, SpecBase)
    return [name for name in model.model_fields if not (folder_named and name == "name")]


@dataclass(frozen=True)
class _Located:
    """One pydantic error, located in the user's terms."""

    path: tuple[str, ...]  # the user's path to the field, without union tags
    annotation: Any  # the type found at that path (None once unknown)
    parent: Any  # the type one level up
    ctx: dict[str, Any]
    value: Any
    message: str  # pydantic's own words

    @property
    def got(self) -> str:
        return f"; got {_show(self.value)}"


Explained = tuple[tuple[str, ...], str]  # (path, message)


def _unknown_key(error: _Located) -> Explained:
    allowed = _allowed_keys(error.parent)
    close = difflib.get_close_matches(error.path[-1], allowed, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return error.path, f"unknown key; {hint}allowed: {', '.join(allowed)}"


def _tags(error: _Located) -> tuple[tuple[str, ...], str]:
    discriminator = error.ctx["discriminator"].strip("'")
    models = _union_models(error.annotation)
    tags = [tag for model in models for tag in _tag_values(model, discriminator)]
    return (*error.path, discriminator), ", ".join(repr(tag) for tag in tags)


def _bad_tag(error: _Located) -> Explained:
    path, allowed = _tags(error)
    return path, f"must be one of {allowed}; got {_show(error.ctx['tag'])}"


def _missing_tag(error: _Located) -> Explained:
    path, allowed = _tags(error)
    return path, f"required, but missing; one of {allowed}"


def _missing(error: _Located) -> Explained:
    return error.path, "required, but missing"


def _wrong_type(kind: str) -> Callable[[_Located], Explained]:
    def explain(error: _Located) -> Explained:
        message = f"must be {_TYPE_RULES[kind]}{error.got}"
        if kind == "string_type" and isinstance(error.value, int | float | datetime.date):
            message += f" (quote it: '{_show(error.value)}')"
        return error.path, message

    return explain


def _out_of_bounds(kind: str) -> Callable[[_Located], Explained]:
    bound, words = _BOUND_RULES[kind]
    return lambda error: (error.path, f"must be {words} {_show(error.ctx[bound])}{error.got}")


def _length(error: _Located) -> Explained:
    limit, words = (
        (error.ctx["min_length"], "at least")
        if "min_length" in error.ctx
        else (error.ctx["max_length"], "at most")
    )
    items = "item" if limit == 1 else "items"
    return error.path, f"must hold {words} {limit} {items}; got {error.ctx['actual_length']}"


def _pattern(error: _Located) -> Explained:
    rule = PATTERN_RULES.get(error.ctx["pattern"], f"text matching {error.ctx['pattern']}")
    if (
        error.path == ("name",)
        and isinstance(error.parent, type)
        and issubclass(error.parent, SpecBase)
    ):
        return error.path, f"the folder name must be {rule}{error.got}; rename the folder"
    return error.path, f"must be {rule}{error.got}"


def _value_error(error: _Located) -> Explained:
    cause = error.ctx.get("error")
    if isinstance(cause, FieldError):
        return (*error.path, *map(field_part, cause.field.split("."))), error.message
    return _other(error)


def _other(error: _Located) -> Explained:
    scalar = not isinstance(error.value, dict | list)
    return error.path, error.message + (error.got if scalar else "")


_EXPLAIN: dict[str, Callable[[_Located], Explained]] = {
    "extra_forbidden": _unknown_key,
    "union_tag_invalid": _bad_tag,
    "union_tag_not_found": _missing_tag,
    "missing": _missing,
    "too_short": _length,
    "too_long": _length,
    "string_pattern_mismatch": _pattern,
    "value_error": _value_error,
    **{kind: _wrong_type(kind) for kind in _TYPE_RULES},
    **{kind: _out_of_bounds(kind) for kind in _BOUND_RULES},
}


def _describe(error: ErrorDetails, root: Any) -> tuple[str, str]:
    """A pydantic error as (dotted field path, what is wrong and what is allowed)."""
    location = tuple(error["loc"])
    path, annotation = _walk(root, location)
    _, parent = _walk(root, location[:-1])
    located = _Located(
        path=tuple(path),
        annotation=annotation,
        parent=parent,
        ctx=dict(error.get("ctx", {})),
        value=error.get("input"),
        message=error["msg"].removeprefix("Value error, "),
    )
    field, message = _EXPLAIN.get(error["type"], _other)(located)
    return ".".join(field) or "(top level)", message
