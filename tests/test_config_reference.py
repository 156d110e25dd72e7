"""The README's configuration reference is generated from the models and kept current."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devtools.config_reference import (
    END_MARKER,
    START_MARKER,
    default_and_description,
    documented_models,
    main,
    render,
)
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

README = REPO_ROOT / "README.md"


def test_readme_configuration_reference_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    exit_code = main(["--check", str(README)])

    assert exit_code == 0, capsys.readouterr().err


def test_check_fails_when_the_reference_is_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{START_MARKER}\n| old | table |\n{END_MARKER}\n")

    exit_code = main(["--check", str(readme)])

    assert exit_code == 1
    assert capsys.readouterr().err == (
        f"error: {readme}: the configuration reference is stale; run "
        f"`python -m devtools.config_reference --write {readme}`\n"
    )


def test_write_replaces_only_the_text_between_the_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nBefore.\n\n{START_MARKER}\nold\n{END_MARKER}\n\nAfter.\n")

    exit_code = main(["--write", str(readme)])

    assert exit_code == 0
    expected = f"# Title\n\nBefore.\n\n{START_MARKER}\n{render()}{END_MARKER}\n\nAfter.\n"
    assert readme.read_text() == expected


def test_check_without_markers_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n")

    exit_code = main(["--check", str(readme)])

    assert exit_code == 2
    assert capsys.readouterr().err == (
        f"error: {readme}: expected {START_MARKER} followed by {END_MARKER}\n"
    )


def test_every_documented_field_has_a_description() -> None:
    undescribed = [
        f"{model.__name__}.{name}"
        for model, skip in documented_models()
        for name, field in model.model_fields.items()
        if name not in skip and not default_and_description(field)[1]
    ]

    assert undescribed == []


def test_defaults_stated_in_descriptions_match_the_real_defaults() -> None:
    # "Default: 30." in a description must not drift from Field(30, ...): compare both.
    stated = {
        f"{model.__name__}.{name}": (field.description or "").rsplit("Default: ", 1)[1]
        for model, skip in documented_models()
        for name, field in model.model_fields.items()
        if name not in skip and "Default: " in (field.description or "")
    }
    actual = {
        f"{model.__name__}.{name}": default_and_description(field)[0].strip("`")
        for model, skip in documented_models()
        for name, field in model.model_fields.items()
        if f"{model.__name__}.{name}" in stated
    }

    # A null or empty default is explained in words, which are then the Default cell itself.
    drifted = {
        key: (stated[key], actual[key]) for key in stated if not stated[key].startswith(actual[key])
    }
    assert drifted == {}
