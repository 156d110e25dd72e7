"""IAM statements: the one place policies are written, as `aws_iam_policy_document` data sources.

Terraform-native documents (not JSON strings) keep every action and resource visible
in `terraform plan` and to checkov, and sort statements deterministically.

Confused deputy: a statement that allows an AWS service principal lets that service act for any
account that can point it at our resource, unless a condition ties it to ours. Every such
statement carries `aws:SourceAccount` (and `aws:SourceArn` where the service sets it), except the
few in `CONFUSED_DEPUTY_EXEMPTIONS`, each with the reason and the AWS page that says so.
tests/security/ fails on any other statement without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from modules.cdk import aws

if TYPE_CHECKING:
    from modules.cdk import Construct

Document = aws.data_aws_iam_policy_document.DataAwsIamPolicyDocument

SOURCE_ACCOUNT: Final = "aws:SourceAccount"
SOURCE_ARN: Final = "aws:SourceArn"
# Where a trust policy is used, in the `<resource type>.<attribute>` form of DeputyExemption.
TRUST_POLICY: Final = "aws_iam_role.assume_role_policy"


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


@dataclass(frozen=True)
class DeputyExemption:
    """A service principal allowed without source conditions in one kind of policy, and why."""

    principal: str  # e.g. "apigateway.amazonaws.com"
    used_in: str  # `<resource type>.<attribute>` holding the policy, e.g. TRUST_POLICY
    reason: str
    reference: str  # the AWS documentation checked


# Short on purpose: a statement lands here only when AWS documents that the service does not set
# the keys (or documents none), because a condition on a key the request lacks fails closed.
CONFUSED_DEPUTY_EXEMPTIONS: Final = (
    DeputyExemption(
        principal="apigateway.amazonaws.com",
        used_in=TRUST_POLICY,
        reason="API Gateway documents no aws:SourceAccount or aws:SourceArn for the roles it "
        "assumes (integration credentials, the account's CloudWatch logging role); with a "
        "condition on a key it does not send, every integration would answer 500 and no access "
        "log would be written. Handing it the role takes iam:PassRole in this account.",
        reference="API Gateway developer guide: Security (no confused-deputy section), "
        "set-up-logging.html, integration request credentials",
    ),
    DeputyExemption(
        principal="chatbot.amazonaws.com",
        used_in=TRUST_POLICY,
        reason="AWS Chatbot documents no source keys for a channel role, and this role has no "
        "permission at all (its channel's guardrail is AWSDenyAll): there is nothing to lend.",
        reference="AWS Chatbot administrator guide: IAM roles and guardrail policies",
    ),
    DeputyExemption(
        principal="events.amazonaws.com",
        used_in="aws_kms_key.policy",
        reason="The SNS guide says aws:SourceAccount and aws:SourceArn in a KMS key policy are not "
        "supported for EventBridge-to-encrypted-topic delivery (every event would be dropped). "
        "The statement is bound to this project's topics by kms:EncryptionContext:"
        "aws:sns:topicArn instead, and the topic policy checks aws:SourceAccount.",
        reference="Amazon SNS developer guide: Key management (sns-key-management.html)",
    ),
)


def source_conditions(account_id: str, source_arn: str | None = None) -> tuple[Condition, ...]:
    """Confused-deputy conditions: the service acts for `account_id` only and, with
    `source_arn` (an ARN pattern), for matching resources only. Default: the account alone."""
    account = Condition("StringEquals", SOURCE_ACCOUNT, (account_id,))
    if source_arn is None:
        return (account,)
    return (account, Condition("ArnLike", SOURCE_ARN, (source_arn,)))


def is_exempt(principal: str, used_in: str) -> bool:
    return any(
        exemption.principal == principal and exemption.used_in == used_in
        for exemption in CONFUSED_DEPUTY_EXEMPTIONS
    )


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

    `conditions` guard against the confused deputy (`source_conditions`); they may be left out
    only for a service in CONFUSED_DEPUTY_EXEMPTIONS. Default: none.
    """
    keys = {condition.variable for condition in conditions}
    if not keys & {SOURCE_ACCOUNT, SOURCE_ARN} and not is_exempt(service, TRUST_POLICY):
        raise ValueError(
            f"{construct_id}: a role {service} may assume needs {SOURCE_ACCOUNT} or {SOURCE_ARN} "
            "(modules/iam.py, CONFUSED_DEPUTY_EXEMPTIONS)"
        )
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

    `trust_conditions` are added to the trust statement (see `assume_role_policy`); required
    unless `service` is exempt. Default: none.
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
