"""The reviewed-plan check: apply only a plan whose resource changes equal the reviewed ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from pipeline.reviewed import MASK, PlanDigest, differences, digest, mask_sensitive

FIXTURES = Path(__file__).parent / "fixtures"


def real_plan() -> dict:
    return json.loads((FIXTURES / "logs_plan.json").read_text())


def changes_of(plan: dict, address: str) -> dict:
    return next(item for item in plan["resource_changes"] if item["address"] == address)["change"]


def test_the_same_plan_twice_has_no_differences() -> None:
    assert differences(digest("logs", real_plan()), digest("logs", real_plan())) == []


def test_a_changed_planned_value_is_a_difference_named_by_address() -> None:
    later = real_plan()
    changes_of(later, "aws_cloudwatch_log_group.consumer_log_group")["after"][
        "retention_in_days"
    ] = 90

    found = differences(digest("logs", real_plan()), digest("logs", later))

    assert found == [
        "aws_cloudwatch_log_group.consumer_log_group: update with different values than reviewed"
    ]


def test_a_changed_action_and_a_new_resource_change_are_differences() -> None:
    later = real_plan()
    changes_of(later, "aws_cloudwatch_log_group.consumer_log_group")["actions"] = [
        "delete",
        "create",
    ]
    later["resource_changes"].append(
        {"address": "aws_sqs_queue.extra", "change": {"actions": ["create"], "after": {}}}
    )

    found = differences(digest("logs", real_plan()), digest("logs", later))

    assert found == [
        "aws_cloudwatch_log_group.consumer_log_group: reviewed update, now delete/create",
        "aws_sqs_queue.extra: create was not in the reviewed plan",
    ]


def test_a_reviewed_change_that_is_no_longer_planned_is_a_difference() -> None:
    later = real_plan()
    changes_of(later, "aws_cloudwatch_log_group.reports_log_group")["actions"] = ["no-op"]

    found = differences(digest("logs", real_plan()), digest("logs", later))

    assert found == [
        "aws_cloudwatch_log_group.reports_log_group: reviewed create is no longer planned"
    ]


def test_no_op_entries_are_not_compared() -> None:
    later = real_plan()
    # A no-op's values follow the state (e.g. tags someone added by hand): applying it does nothing.
    changes_of(later, "aws_kms_key.alerts_key_FC9ECF44")["after"]["description"] = "edited"

    assert differences(digest("logs", real_plan()), digest("logs", later)) == []


def test_the_digest_holds_no_planned_value() -> None:
    text = json.dumps(digest("logs", real_plan()).to_json())

    assert "/workers/reports" not in text  # a planned log group name
    assert "123456789012" not in text  # the account id in planned ARNs


def test_sensitive_values_are_masked_before_hashing() -> None:
    after = {"name": "db", "password": "hunter2", "tags": [{"k": "v"}]}
    sensitive = {"password": True, "tags": [{"k": False}]}

    assert mask_sensitive(after, sensitive) == {
        "name": "db",
        "password": MASK,
        "tags": [{"k": "v"}],
    }


def test_digest_survives_its_json_round_trip() -> None:
    original = digest("logs", real_plan())

    assert PlanDigest.from_json(copy.deepcopy(original.to_json())) == original


def test_a_digest_of_another_stack_is_never_equal() -> None:
    assert differences(digest("logs", real_plan()), digest("cluster", real_plan())) == [
        "the reviewed plan is for stack 'logs', not 'cluster'"
    ]
