"""The plan summary: counts per kind of action, and every replace and destroy by address."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import PipelineError
from pipeline.plan_summary import Action, Callout, PlanSummary, summarize

FIXTURES = Path(__file__).parent / "fixtures"


def resource_change(address: str, *actions: str, mode: str = "managed", **extra: object) -> dict:
    return {"address": address, "mode": mode, "change": {"actions": list(actions)}, **extra}


def test_real_plan_counts_each_kind_of_action_once() -> None:
    plan = json.loads((FIXTURES / "logs_plan.json").read_text())

    summary = summarize(plan)

    assert (summary.adds, summary.changes, summary.destroys, summary.replaces) == (1, 1, 1, 1)


def test_real_plan_calls_out_the_destroy_and_the_replacement_with_its_cause() -> None:
    plan = json.loads((FIXTURES / "logs_plan.json").read_text())

    summary = summarize(plan)

    assert summary.callouts == (
        Callout(
            Action.DESTROY,
            "aws_cloudwatch_event_target.task_failure_alerts_alert_topic_target_04BA11EC",
        ),
        Callout(Action.REPLACE, "aws_cloudwatch_log_group.producer_log_group", "forced by name"),
    )
    assert summary.lines() == [
        "Plan: 1 to add, 1 to change, 1 to destroy, 1 to replace.",
        "  destroy aws_cloudwatch_event_target.task_failure_alerts_alert_topic_target_04BA11EC",
        "  replace aws_cloudwatch_log_group.producer_log_group (forced by name)",
    ]


def test_create_before_destroy_is_a_replacement_and_data_reads_count_for_nothing() -> None:
    plan = {
        "resource_changes": [
            resource_change("aws_ecs_service.a", "create", "delete"),
            resource_change("data.aws_iam_policy_document.p", "read", mode="data"),
            resource_change("aws_sqs_queue.q", "no-op"),
        ]
    }

    summary = summarize(plan)

    assert (summary.adds, summary.changes, summary.destroys, summary.replaces) == (0, 0, 0, 1)


def test_a_replacement_without_a_forcing_attribute_says_why() -> None:
    plan = {
        "resource_changes": [
            resource_change(
                "terraform_data.build",
                "delete",
                "create",
                action_reason="replace_by_triggers",
            ),
            resource_change(
                "aws_ecs_task_definition.td",
                "delete",
                "create",
                action_reason="replace_because_cannot_update",
                change={"actions": ["delete", "create"], "replace_paths": [["volume", 0, "name"]]},
            ),
        ]
    }

    summary = summarize(plan)

    assert [callout.line() for callout in summary.callouts] == [
        "replace aws_ecs_task_definition.td (forced by volume[0].name)",
        "replace terraform_data.build (replace_triggered_by)",
    ]


def test_forgetting_a_resource_is_called_out_though_nothing_is_destroyed() -> None:
    summary = summarize({"resource_changes": [resource_change("aws_sqs_queue.old", "forget")]})

    assert summary.has_changes
    assert summary.destroys == 0
    assert [callout.line() for callout in summary.callouts] == ["forget aws_sqs_queue.old"]


def test_an_empty_plan_has_no_changes() -> None:
    summary = summarize({"resource_changes": [resource_change("aws_sqs_queue.q", "no-op")]})

    assert not summary.has_changes
    assert summary.headline() == "No changes."


def test_an_errored_plan_says_so_instead_of_counts() -> None:
    summary = summarize({"errored": True, "resource_changes": []})

    assert summary.headline().startswith("Plan errored")


def test_an_unknown_action_fails_rather_than_miscount() -> None:
    plan = {"resource_changes": [resource_change("aws_sqs_queue.q", "teleport")]}

    with pytest.raises(PipelineError, match=r"unknown plan actions \['teleport'\]"):
        summarize(plan)


def test_the_summary_survives_its_json_round_trip() -> None:
    summary = summarize(json.loads((FIXTURES / "logs_plan.json").read_text()))

    assert PlanSummary.from_json(json.loads(json.dumps(summary.to_json()))) == summary
