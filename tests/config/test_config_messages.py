"""Whatever value a user puts wherever, the loader answers with `file: field: message` lines in
its own words: no crash, no pydantic phrasing ("Input should be ...", "instance of QueueSpec")."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

import yaml

from modules.config import ConfigError, load_config

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

FILES = ("platform.yaml", "workers/consumer/service.yaml", "workers/producer/service.yaml")
# One value of each YAML shape, plus the tags that switch a union to its other member.
VALUES: tuple[Any, ...] = (
    None,
    "text",
    -1,
    1.5,
    True,
    [],
    {},
    [{"name": "worker"}],
    {"mode": "existing"},
    {"mode": "queue-depth"},
)
PROBLEM_LINE = re.compile(r"^(platform\.yaml|workers/[a-z]+/service\.yaml): [\w.\-]+: \S.*$")
PYDANTIC_WORDS = ("Input should", "Value error", "instance of", "dictionary", "(top level)")


def key_paths(document: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every key and list index in a parsed YAML document, outermost first."""
    items = document.items() if isinstance(document, dict) else enumerate(document)
    for key, value in items:
        yield (*prefix, key)
        if isinstance(value, dict | list):
            yield from key_paths(value, (*prefix, key))


def with_value(document: Any, path: tuple[str | int, ...], value: Any) -> Any:
    edited = copy.deepcopy(document)
    parent = edited
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return edited


def test_every_value_anywhere_gives_problem_lines_in_plain_words(
    repo_copy: Callable[[], Path],
) -> None:
    root = repo_copy()
    unclear: list[str] = []
    for name in FILES:
        original = (root / name).read_text()
        document = yaml.safe_load(original)
        for path in [*key_paths(document), ("unknown_key",)]:
            for value in VALUES:
                (root / name).write_text(yaml.safe_dump(with_value(document, path, value)))
                try:
                    load_config(root)
                except ConfigError as error:
                    unclear += [
                        problem
                        for problem in error.problems
                        if not PROBLEM_LINE.match(problem)
                        or any(words in problem for words in PYDANTIC_WORDS)
                    ]
        (root / name).write_text(original)

    assert unclear == []
