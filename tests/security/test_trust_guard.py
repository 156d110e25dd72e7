"""The confused-deputy exemptions and the synth-time guard in modules/iam.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from modules.cdk import App, TerraformStack
from modules.iam import CONFUSED_DEPUTY_EXEMPTIONS, role_with_policy, source_conditions

if TYPE_CHECKING:
    from pathlib import Path


def test_each_exemption_says_why_and_where_aws_says_so() -> None:
    keys = [(exemption.principal, exemption.used_in) for exemption in CONFUSED_DEPUTY_EXEMPTIONS]

    assert len(keys) == len(set(keys))
    assert len(keys) <= 3, "the exempt list is short on purpose: fix the statement instead"
    assert all(len(e.reason) > 80 and e.reference for e in CONFUSED_DEPUTY_EXEMPTIONS)


def test_a_role_for_a_service_that_is_not_exempt_needs_source_conditions(tmp_path: Path) -> None:
    # Given a stack
    stack = TerraformStack(App(outdir=str(tmp_path)), "guarded")

    # When a role trusts Lambda without a condition, then synth stops and says what is missing
    with pytest.raises(ValueError, match="needs aws:SourceAccount or aws:SourceArn"):
        role_with_policy(stack, "bare", name="bare", service="lambda.amazonaws.com", statements=())

    # and with one, or for an exempt service, the role is made
    role_with_policy(
        stack,
        "bound",
        name="bound",
        service="lambda.amazonaws.com",
        statements=(),
        trust_conditions=source_conditions("111122223333"),
    )
    role_with_policy(stack, "api", name="api", service="apigateway.amazonaws.com", statements=())
