"""`make engine-switch`'s own pieces; the switch itself applies every stack to a local AWS (about
seven minutes), so it runs by hand, not in `make test`: README, "Engines", has its result."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

import yaml

from devtools import engine_switch
from modules import engine
from modules.config import PROJECT_FILE, load_config
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_set_engine_names_the_engine_in_the_copys_platform_yaml(tmp_path: Path) -> None:
    # Given a copy of the repository's platform.yaml and workers
    (tmp_path / PROJECT_FILE).write_text((REPO_ROOT / PROJECT_FILE).read_text())
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO_ROOT / "workers", tmp_path / "workers", ignore=ignore)
    before = yaml.safe_load((tmp_path / PROJECT_FILE).read_text())
    # When the switch names cdktn there, then cdktf again
    engine_switch.set_engine(tmp_path, engine.CDKTN)
    assert load_config(tmp_path).project.engine == "cdktn"
    engine_switch.set_engine(tmp_path, engine.CDKTF)
    # Then the configuration loads with that engine, and nothing else in the file changed
    assert load_config(tmp_path).project.engine == "cdktf"
    after = yaml.safe_load((tmp_path / PROJECT_FILE).read_text())
    assert {key: value for key, value in after.items() if key != "engine"} == before


def test_engine_override_is_set_while_applying_and_restored_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(engine.ENGINE_ENV, "cdktf")
    with engine_switch.engine_override(engine.CDKTN):
        assert os.environ[engine.ENGINE_ENV] == "cdktn"
    assert os.environ[engine.ENGINE_ENV] == "cdktf"
    monkeypatch.delenv(engine.ENGINE_ENV)
    with engine_switch.engine_override(engine.CDKTN):
        assert os.environ[engine.ENGINE_ENV] == "cdktn"
    assert engine.ENGINE_ENV not in os.environ


def test_the_report_says_which_stacks_would_change() -> None:
    # Given one stack whose plan lists a change, and one without
    report = engine_switch.SwitchReport(
        "cdktf 0.21.0",
        "cdktn 0.24.0",
        {"cluster": [], "logs": ["aws_sns_topic.alerts_1A2B will be updated in-place"]},
    )
    # Then it is not empty, and it names the change under its stack
    assert not report.empty
    assert report.lines() == [
        "applied with cdktf 0.21.0, planned with cdktn 0.24.0:",
        "  cluster: no change",
        "  logs: 1 CHANGES",
        "    aws_sns_topic.alerts_1A2B will be updated in-place",
    ]
    assert engine_switch.SwitchReport("a", "b", {"cluster": []}).empty


def test_the_same_engine_twice_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert engine_switch.main(["--from", "cdktn", "--to", "cdktn"]) == engine_switch.COULD_NOT_START
    assert capsys.readouterr().err == "error: --from and --to name the same engine\n"
