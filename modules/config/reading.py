"""Reading one config file into plain data, safely, whatever the file holds.

A config file is small and simple: a mapping of keys to values, a few levels deep. Anything
else is refused here, before it can cost time or memory, with the file, the line and why:

- more than MAX_FILE_BYTES, or not a regular file (a folder, a pipe that would never end);
- bytes that are not UTF-8;
- YAML anchors, aliases (`&name`, `*name`) and merge keys (`<<`): no field needs them, and
  aliases let a file of a few hundred bytes expand into billions of values (an "alias bomb");
- nesting deeper than MAX_DEPTH (the parser recurses; a deep list would end in a traceback);
- a key written twice in one mapping, or a key that is a list or mapping;
- integers longer than MAX_INTEGER_DIGITS, and numbers that are not finite (`.inf`, `.nan`,
  `1e999`), which no field takes.
"""

from __future__ import annotations

import math
import stat
from typing import TYPE_CHECKING, Any

import yaml

from modules.config.base import field_part, shorten

if TYPE_CHECKING:
    from pathlib import Path

# The examples are under 1 KiB; the largest real spec (an ingest API with a request schema) a
# few KiB. 128 KiB leaves room for any real file, and reads in well under a second.
MAX_FILE_BYTES = 128 * 1024
# Mappings and lists inside one another; the deepest example is 5 (a request schema).
MAX_DEPTH = 32
# No field takes a number near this; Python refuses to read integers of over 4300 digits.
MAX_INTEGER_DIGITS = 100
# How much of a YAML error's own text a message repeats.
MAX_PROBLEM_CHARS = 200

# How an error message names the YAML type of a value that should have been a mapping.
_YAML_TYPE_NAMES = {
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
}


class ReadError(Exception):
    """The file cannot be read as config data; `problems` are complete message lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that a config file may not hold: the message says why, without 'invalid'."""


class _ConfigLoader(yaml.SafeLoader):
    """A SafeLoader for config files: no anchors, aliases or merge keys, bounded depth,
    no duplicate or unhashable keys, bounded integers."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                problem=(
                    "YAML anchors and aliases (&name, *name) are not allowed: no field needs "
                    "them, and they can make a small file expand without bound; write the "
                    "value out"
                ),
                problem_mark=event.start_mark,
            )
        nests = isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent)
        self._depth += nests
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(
                    problem=f"nested more than {MAX_DEPTH} levels deep; no field needs that many",
                    problem_mark=event.start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= nests


def _mapping(loader: _ConfigLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    first_lines: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            raise _Refused(
                problem=(
                    "merge keys (<<) are not allowed: no field needs them; write the keys out"
                ),
                problem_mark=key_node.start_mark,
            )
        if not isinstance(key_node, yaml.ScalarNode):
            raise _Refused(
                problem="a key must be a plain value such as a name, not a list or mapping",
                problem_mark=key_node.start_mark,
            )
        key = loader.construct_object(key_node)
        if key in first_lines:
            raise _Refused(
                problem=(
                    f"duplicate key {shorten(repr(key))} (first on line {first_lines[key]}); "
                    "a key may appear once per mapping"
                ),
                problem_mark=key_node.start_mark,
            )
        first_lines[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node)


def _integer(loader: _ConfigLoader, node: yaml.ScalarNode) -> int:
    if len(node.value) > MAX_INTEGER_DIGITS:
        raise _Refused(
            problem=(
                f"a number of {len(node.value)} digits; numbers here have at most "
                f"{MAX_INTEGER_DIGITS}"
            ),
            problem_mark=node.start_mark,
        )
    return loader.construct_yaml_int(node)


_ConfigLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_ConfigLoader.add_constructor("tag:yaml.org,2002:int", _integer)


def read_config_file(path: Path, label: str) -> dict[str, Any]:
    """The mapping `path` holds ({} for an empty file); ReadError says what is wrong."""
    data = _parse(_read_text(path, label), label)
    if data is None:  # an empty file, or comments only: every field takes its default
        return {}
    if not isinstance(data, dict):
        found = _YAML_TYPE_NAMES.get(type(data), type(data).__name__)
        raise ReadError([f"{label}: must be a mapping of keys to values; got {found}"])
    problems = [f"{label}: {where}: {what}" for where, what in _not_finite(data, ())]
    if problems:
        raise ReadError(problems)
    return data


def _read_text(path: Path, label: str) -> str:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ReadError([f"{label}: must be a file; this is not a regular file"])
        with path.open("rb") as file:
            # Read one byte past the limit: the file may have grown since stat.
            raw = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ReadError([f"{label}: file not found"]) from None
    except OSError as error:
        raise ReadError([f"{label}: cannot be read ({error.strerror})"]) from None
    if len(raw) > MAX_FILE_BYTES:
        size = max(info.st_size, len(raw))
        raise ReadError(
            [
                f"{label}: {size} bytes; a config file may hold at most {MAX_FILE_BYTES} "
                f"bytes ({MAX_FILE_BYTES // 1024} KiB)"
            ]
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ReadError(
            [
                f"{label}: line {line}: not UTF-8 text (byte 0x{raw[error.start]:02x} at "
                f"offset {error.start}); config files are read as UTF-8 only: save it as UTF-8"
            ]
        ) from None


def _parse(text: str, label: str) -> Any:
    try:
        return yaml.load(text, Loader=_ConfigLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        if not isinstance(error, _Refused):
            problem = f"invalid YAML: {problem}"
        raise ReadError([f"{label}:{where} {shorten(problem, MAX_PROBLEM_CHARS)}"]) from None


def _not_finite(value: Any, path: tuple[str, ...]) -> list[tuple[str, str]]:
    """(dotted path, message) of every number in `value` that is infinite or not a number."""
    if isinstance(value, float) and not math.isfinite(value):
        written = ".nan" if math.isnan(value) else ("-.inf" if value < 0 else ".inf")
        return [(".".join(path) or "(top level)", f"must be a finite number; got {written}")]
    if isinstance(value, dict):
        items = [(field_part(str(key)), item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [(str(index), item) for index, item in enumerate(value)]
    else:
        return []
    return [found for key, item in items for found in _not_finite(item, (*path, key))]
