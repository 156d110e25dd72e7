"""Every synthesized stack passes the rules checkov cannot apply to Terraform JSON (rules.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.infra.synth_output import repository_stack_names
from tests.security.conftest import CONFIG_VARIANTS
from tests.security.rules import (
    container_problems,
    external_data_problems,
    jsonencoded_policy_problems,
    policy_problems,
    policy_statements,
    provisioner_problems,
    service_principal_problems,
)

if TYPE_CHECKING:
    from collections.abc import Callable

RULES: dict[str, Callable[[str, dict[str, Any]], list[str]]] = {
    "policies: no wildcard actions, resources are ARNs, no public principal": policy_problems,
    "no policy hidden in jsonencode": jsonencoded_policy_problems,
    "containers: non-root user, read-only root filesystem": container_problems,
    "no external data source": external_data_problems,
    "no provisioner but the image build": provisioner_problems,
    "service principals: aws:SourceAccount or aws:SourceArn unless exempt": (
        service_principal_problems
    ),
}


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("stack", repository_stack_names())
def test_stack_follows_rule(stack: str, rule: str, synthesized: dict[str, dict[str, Any]]) -> None:
    problems = RULES[rule](stack, synthesized[stack])

    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("variant", sorted(CONFIG_VARIANTS))
def test_config_variants_follow_the_policy_rules(
    variant: str, variant_stacks: dict[str, dict[str, dict[str, Any]]]
) -> None:
    # The rules above on the stacks only a variant of the configuration has policies in.
    problems = [
        problem
        for name, stack in variant_stacks[variant].items()
        for rule in (policy_problems, service_principal_problems, jsonencoded_policy_problems)
        for problem in rule(name, stack)
    ]

    assert problems == [], "\n".join(problems)


def test_every_trust_policy_was_checked_for_the_confused_deputy(
    synthesized: dict[str, dict[str, Any]],
    variant_stacks: dict[str, dict[str, dict[str, Any]]],
) -> None:
    # Guards against the rule passing because it saw no trust policy: every role of every stack
    # (default and variants) trusts a service through a document the rule read.
    all_stacks = [
        (name, stack)
        for stacks in (synthesized, *variant_stacks.values())
        for name, stack in stacks.items()
    ]
    roles = {
        (name, role["assume_role_policy"])
        for name, stack in all_stacks
        for role in stack.get("resource", {}).get("aws_iam_role", {}).values()
    }
    read = {
        (statement.where.split(":")[0], f"${{{statement.where.split(': ')[1]}.json}}")
        for name, stack in all_stacks
        for statement in policy_statements(name, stack)
        if any(principal.startswith("Service:") for principal in statement.principals)
    }
    services = {
        principal
        for name, stack in all_stacks
        for statement in policy_statements(name, stack)
        for principal in statement.principals
    }

    assert roles, "no role found: the rule would pass on nothing"
    assert roles <= read
    assert {"Service:chatbot.amazonaws.com", "Service:lambda.amazonaws.com"} <= services


def test_the_policy_rules_see_every_policy(synthesized: dict[str, dict[str, Any]]) -> None:
    # Guards against the rules passing because they found nothing to look at.
    statements = [s for name, stack in synthesized.items() for s in policy_statements(name, stack)]

    assert any(s.sid == "EcrLogin" and s.resources == ("*",) for s in statements)
    assert {s.where.split(":")[0] for s in statements} == set(synthesized)


def test_every_service_task_definition_was_inspected(
    synthesized: dict[str, dict[str, Any]],
) -> None:
    with_tasks = {
        name
        for name, stack in synthesized.items()
        if stack.get("resource", {}).get("aws_ecs_task_definition")
    }

    assert {"consumer", "producer"} <= with_tasks
