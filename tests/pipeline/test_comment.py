"""The sticky pull request comment: a table over the listed stacks, each plan folded below."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.comment import (
    MARKER,
    MAX_CHARS,
    PLAN_FOLDER_PREFIX,
    PLAN_TEXT_FILE,
    SUMMARY_FILE,
    cost_change,
    fence_for,
    load,
    render,
)
from pipeline.plan_summary import summarize

FIXTURES = Path(__file__).parent / "fixtures"


def write_inputs(tmp_path: Path, plan_text: str | None = None) -> tuple[Path, Path]:
    changed = [
        {
            "stack": "logs",
            "change": "modified",
            "provisional": False,
            "order": 1,
            "monthly_cost": {
                "before": {"fixed": 2.5, "usage": 0.0},
                "after": {"fixed": 2.8, "usage": 0.0},
            },
        },
        {"stack": "consumer", "change": "provisional", "provisional": True, "order": 2},
        {"stack": "producer", "change": "modified", "provisional": False, "order": 3},
    ]
    changed_file = tmp_path / "changed.json"
    changed_file.write_text(json.dumps(changed))
    plans = tmp_path / "plans"
    logs, consumer = plans / f"{PLAN_FOLDER_PREFIX}logs", plans / f"{PLAN_FOLDER_PREFIX}consumer"
    logs.mkdir(parents=True)
    summary = summarize(json.loads((FIXTURES / "logs_plan.json").read_text()))
    (logs / SUMMARY_FILE).write_text(json.dumps(summary.to_json()))
    text = plan_text if plan_text is not None else (FIXTURES / "logs_plan.txt").read_text()
    (logs / PLAN_TEXT_FILE).write_text(text)
    consumer.mkdir()
    (consumer / SUMMARY_FILE).write_text(json.dumps(summarize({"resource_changes": []}).to_json()))
    (consumer / PLAN_TEXT_FILE).write_text("No changes.\n")
    return changed_file, plans  # producer's plan job left nothing: it failed


def test_the_comment_starts_with_its_marker_and_has_one_row_per_stack(tmp_path: Path) -> None:
    body = render(load(*write_inputs(tmp_path)))

    rows = [line for line in body.splitlines() if line.startswith("| `")]
    assert body.startswith(MARKER + "\n")
    assert rows == [
        "| `logs` | 1 | 1 | 1 | 1 | +$0.30 ($2.50 → $2.80) |  |",
        "| `consumer` | 0 | 0 | 0 | 0 | not estimated | yes |",
        "| `producer` | no plan | | | | not estimated |  |",
    ]


def test_each_plan_is_folded_with_its_replacements_and_destroys_listed(tmp_path: Path) -> None:
    body = render(load(*write_inputs(tmp_path)))

    assert body.count("<details>") == 2
    assert "- replace aws_cloudwatch_log_group.producer_log_group (forced by name)" in body
    assert "# aws_cloudwatch_log_group.consumer_log_group will be updated in-place" in body


def test_a_huge_plan_is_truncated_to_fit_a_comment(tmp_path: Path) -> None:
    body = render(load(*write_inputs(tmp_path, plan_text="x" * 200_000)), run_url="https://run")

    assert len(body) <= MAX_CHARS
    assert "Plan truncated to fit the comment ([full plan in the run](https://run))." in body


def test_backticks_in_a_plan_cannot_close_its_code_fence() -> None:
    assert fence_for("a ```` b") == "`````"
    assert fence_for("plain") == "```"


def test_nothing_changed_says_so(tmp_path: Path) -> None:
    changed = tmp_path / "changed.json"
    changed.write_text("[]")

    assert "nothing to plan" in render(load(changed, tmp_path))


@pytest.mark.parametrize(
    ("monthly", "cell"),
    [
        (None, "not estimated"),
        ({"before": None, "after": {"fixed": 64.07, "usage": 0.05}}, "+$64.12 (new)"),
        ({"before": {"fixed": 7.0, "usage": 0.45}, "after": None}, "-$7.45 (removed)"),
        (
            {"before": {"fixed": 130.0, "usage": 0.05}, "after": {"fixed": 64.07, "usage": 0.05}},
            "-$65.93 ($130.05 → $64.12)",
        ),
        (
            {"before": {"fixed": 4.85, "usage": None}, "after": {"fixed": 4.85, "usage": 9.05}},
            "±$0.00 ($4.85 → $4.85, fixed part)",
        ),
    ],
)
def test_the_cost_change_is_after_minus_before(monthly: dict | None, cell: str) -> None:
    assert cost_change(monthly) == cell


def test_each_folded_plan_says_its_cost_change(tmp_path: Path) -> None:
    body = render(load(*write_inputs(tmp_path)))

    assert "monthly cost +$0.30 ($2.50 → $2.80)" in body
