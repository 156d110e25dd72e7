"""IAM statements: the one place policies are written, as `aws_iam_policy_document` data sources.

Terraform-native documents (not JSON strings) keep every action and resource visible
in `terraform plan` and to checkov, and sort statements deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modules.cdk import aws

if TYPE_CHECKING:
    from modules.cdk import Construct

Document = aws.data_aws_iam_policy_document.DataAwsIamPolicyDocument


@dataclass(frozen=True)
class Condition:
    test: str  # e.g. "Bool", "StringEquals", "ArnLike"
    variable: str  # e.g. "aws:SecureTransport"
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    """One statement. Actions are always listed; wildcards are a review finding, not a shortcut."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    effect: str = "Allow"
    # {"Service": ("ecs-tasks.amazonaws.com",)} or {"AWS": (...)}; only for resource/trust policies.
    principals: dict[str, tuple[str, ...]] = field(default_factory=dict)
    conditions: tuple[Condition, ...] = ()


def sid_word(name: str) -> str:
    """A config name as part of a statement id, which takes letters and digits only:
    `queue-report` -> `QueueReport`."""
    return name.title().replace("-", "")


def policy_document(scope: Construct, construct_id: str, *statements: Statement) -> Document:
    doc = aws.data_aws_iam_policy_document
    return Document(
        scope,
        construct_id,
        statement=[
            doc.DataAwsIamPolicyDocumentStatement(
                sid=statement.sid,
                effect=statement.effect,
                actions=list(statement.actions),
                resources=list(statement.resources) or None,
                principals=[
                    doc.DataAwsIamPolicyDocumentStatementPrincipals(
                        type=kind, identifiers=list(ids)
                    )
                    for kind, ids in statement.principals.items()
                ]
                or None,
                condition=[
                    doc.DataAwsIamPolicyDocumentStatementCondition(
                        test=condition.test,
                        variable=condition.variable,
                        values=list(condition.values),
                    )
                    for condition in statement.conditions
                ]
                or None,
            )
            for statement in statements
        ],
    )


def assume_role_policy(
    scope: Construct, construct_id: str, service: str, conditions: tuple[Condition, ...] = ()
) -> Document:
    """Trust policy letting one AWS service principal assume a role.

    `conditions` guard against the confused deputy, e.g. `aws:SourceAccount` equal to this account.
    Default: none.
    """
    return policy_document(
        scope,
        construct_id,
        Statement(
            sid="AssumedBy" + service.split(".")[0].replace("-", " ").title().replace(" ", ""),
            actions=("sts:AssumeRole",),
            resources=(),
            principals={"Service": (service,)},
            conditions=conditions,
        ),
    )


def role_with_policy(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    service: str,
    statements: tuple[Statement, ...],
    trust_conditions: tuple[Condition, ...] = (),
) -> aws.iam_role.IamRole:
    """A role assumable by `service` whose only permissions are `statements` (inline policy).

    `trust_conditions` are added to the trust statement (see `assume_role_policy`). Default: none.
    """
    trust = assume_role_policy(scope, f"{construct_id}_trust", service, trust_conditions)
    role = aws.iam_role.IamRole(
        scope, construct_id, name=name, assume_role_policy=trust.json, max_session_duration=3600
    )
    if statements:
        policy = policy_document(scope, f"{construct_id}_permissions", *statements)
        aws.iam_role_policy.IamRolePolicy(
            scope, f"{construct_id}_policy", name="permissions", role=role.id, policy=policy.json
        )
    return role
