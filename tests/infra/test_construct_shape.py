"""One shape for every construct: `(scope, construct_id, props)`, props a frozen dataclass whose
docstring names each field and each default; constructs never import a stack; every ARN is
spelled by AwsContext.arn."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
from typing import TYPE_CHECKING

import pytest

from modules.cdk import Construct
from modules.constructs.queue_processing_service import QueueProcessingServiceProps
from modules.constructs.task_definition import TaskDefinitionProps
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from pathlib import Path

CONSTRUCTS_DIR = REPO_ROOT / "modules" / "constructs"
CONSTRUCT_FILES = sorted(path for path in CONSTRUCTS_DIR.glob("*.py") if path.stem != "__init__")
ARN_HELPER = REPO_ROOT / "modules" / "aws_context.py"


def constructs_of(path: Path) -> list[type]:
    module = importlib.import_module(f"modules.constructs.{path.stem}")
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and issubclass(cls, Construct)
    ]


def props_class(construct: type) -> type:
    module = importlib.import_module(construct.__module__)
    annotation = inspect.signature(construct.__init__).parameters["props"].annotation
    return getattr(module, annotation)


def documented_fields(props: type) -> dict[str, str]:
    """Each `name: text` entry of the docstrings along the class's bases, with its continuation
    lines, by name."""
    entries: dict[str, str] = {}
    for cls in props.__mro__:
        current = None
        for line in inspect.cleandoc(cls.__doc__ or "").splitlines():
            match = re.match(r"(\w+): (.*)", line)
            if match:
                current = match.group(1)
                entries.setdefault(current, "")
                entries[current] += match.group(2)
            elif current is not None and line.startswith(" "):
                entries[current] += " " + line.strip()
            else:
                current = None
    return entries


ALL_CONSTRUCTS = [cls for path in CONSTRUCT_FILES for cls in constructs_of(path)]
# The props of every construct, and of the two helpers that add to a stack's scope directly.
ALL_PROPS = sorted(
    {props_class(cls) for cls in ALL_CONSTRUCTS}
    | {TaskDefinitionProps, QueueProcessingServiceProps},
    key=lambda cls: cls.__name__,
)


def test_every_construct_file_defines_a_construct() -> None:
    # Given the construct modules
    # When collecting their construct classes
    # Then there is one at least per file but the helpers' (task_definition: a function, the
    # queue-processing service: it adds its children to the stack's scope)
    without = {path.stem for path in CONSTRUCT_FILES if not constructs_of(path)}
    assert without == {"task_definition", "queue_processing_service"}


@pytest.mark.parametrize("construct", ALL_CONSTRUCTS, ids=lambda cls: cls.__name__)
def test_construct_takes_scope_id_and_props(construct: type) -> None:
    # Given a construct of the platform
    # When reading its constructor
    parameters = list(inspect.signature(construct.__init__).parameters)

    # Then it takes the scope, its id and one props object
    assert parameters == ["self", "scope", "construct_id", "props"]


@pytest.mark.parametrize("props", ALL_PROPS, ids=lambda cls: cls.__name__)
def test_props_are_frozen_and_document_each_field_and_default(props: type) -> None:
    # Given the props class of a construct
    # When reading its fields and its docstring
    documented = documented_fields(props)

    # Then it is a frozen dataclass, and every field has a docstring line, which gives the
    # default of each field that has one
    assert dataclasses.is_dataclass(props)
    assert props.__dataclass_params__.frozen
    for field in dataclasses.fields(props):
        assert field.name in documented, f"{props.__name__}.{field.name} is not documented"
        has_default = field.default is not dataclasses.MISSING
        if has_default:
            assert "Default" in documented[field.name], f"{props.__name__}.{field.name}"


@pytest.mark.parametrize("path", CONSTRUCT_FILES, ids=lambda path: path.stem)
def test_a_construct_never_imports_a_stack(path: Path) -> None:
    # Given a construct module
    tree = ast.parse(path.read_text())

    # When listing what it imports
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }

    # Then no stack is among them
    assert not {name for name in imported if name and name.startswith("modules.stacks")}


def test_every_arn_is_spelled_by_the_arn_helper() -> None:
    # Given every module under modules/ but the helper
    sources = [path for path in (REPO_ROOT / "modules").rglob("*.py") if path != ARN_HELPER]

    # When looking for f-strings that start an ARN
    spelled = [
        f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
        for path in sources
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.JoinedStr)
        and node.values
        and isinstance(node.values[0], ast.Constant)
        and str(node.values[0].value).startswith("arn:")
    ]

    # Then there is none
    assert spelled == []
