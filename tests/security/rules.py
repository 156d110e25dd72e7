"""What checkov misses in Terraform JSON, as functions over one synthesized stack.

Each function returns a list of problems (empty: fine), one readable line each, so that a
failing test says exactly which statement, container or resource broke which rule. The rules
are tested on hand-made stacks in test_rules.py, and applied to every real stack in
test_stacks.py.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

from modules.constructs.container_image import BUILD_SCRIPT
from modules.iam import SOURCE_ACCOUNT, SOURCE_ARN, is_exempt

Stack = dict[str, Any]

# Actions that AWS lets a policy grant only on resource "*", each with the reason.
RESOURCE_STAR_ACTIONS = {
    "ecr:GetAuthorizationToken": "supports no resource-level permission: AWS requires *",
}
# Where a policy document is used and "*" as its resource means something narrower.
RESOURCE_STAR_USES = {
    "aws_kms_key.policy": "in a key policy, * is the key the policy is attached to",
}
ROOT_USERS = frozenset({"root", "0"})
DOCUMENT_TYPE = "aws_iam_policy_document"
_DOCUMENT_REFERENCE = re.compile(r"\$\{data\.aws_iam_policy_document\.([^.}]+)\.json\}")
# `${aws_sqs_queue.q.arn}`, `${...outputs.queue_arn}`, optionally followed by a path such as `:*`.
_ARN_REFERENCE = re.compile(r"^\$\{[^}]*(\.arn|_arn)\}")
# Condition keys are case-insensitive in IAM.
_SOURCE_KEYS = frozenset({SOURCE_ACCOUNT.lower(), SOURCE_ARN.lower()})
SERVICE_PRINCIPAL = "Service"


@dataclass(frozen=True)
class PolicyStatement:
    where: str  # stack and document, for messages
    sid: str
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    principals: tuple[str, ...]  # "Type:identifier"
    used_as: frozenset[str]  # "<resource type>.<attribute>" that hold this document
    condition_keys: frozenset[str] = frozenset()  # lowercased, e.g. "aws:sourceaccount"

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string inside `value`, with a dotted path to it."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [
            found
            for key, item in value.items()
            if key != "//"
            for found in _strings(item, f"{path}.{key}" if path else key)
        ]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _strings(item, path)]
    return []


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def document_uses(stack: Stack) -> dict[str, set[str]]:
    """For each policy document data source, the `<type>.<attribute>` places that use it."""
    uses: dict[str, set[str]] = {}
    for resource_type, resources in stack.get("resource", {}).items():
        for resource in resources.values():
            for path, text in _strings(resource):
                for name in _DOCUMENT_REFERENCE.findall(text):
                    uses.setdefault(name, set()).add(f"{resource_type}.{path}")
    return uses


def policy_statements(stack_name: str, stack: Stack) -> list[PolicyStatement]:
    """Statements of every policy document data source and every literal JSON policy."""
    uses = document_uses(stack)
    statements = []
    for name, document in stack.get("data", {}).get(DOCUMENT_TYPE, {}).items():
        for item in document.get("statement", []):
            statements.append(
                PolicyStatement(
                    where=f"{stack_name}: data.{DOCUMENT_TYPE}.{name}",
                    sid=str(item.get("sid", "")),
                    effect=str(item.get("effect", "Allow")),
                    actions=_as_tuple(item.get("actions")),
                    not_actions=_as_tuple(item.get("not_actions")),
                    resources=_as_tuple(item.get("resources")),
                    not_resources=_as_tuple(item.get("not_resources")),
                    principals=tuple(
                        f"{principal['type']}:{identifier}"
                        for principal in item.get("principals", [])
                        for identifier in principal.get("identifiers", [])
                    ),
                    used_as=frozenset(uses.get(name, ())),
                    condition_keys=frozenset(
                        str(condition.get("variable", "")).lower()
                        for condition in item.get("condition", [])
                    ),
                )
            )
    for resource_type, resources in stack.get("resource", {}).items():
        for resource_name, resource in resources.items():
            for path, text in _strings(resource):
                document = _literal_policy(text)
                if document is None:
                    continue
                for item in _as_list(document.get("Statement")):
                    statements.append(_literal_statement(
                        f"{stack_name}: {resource_type}.{resource_name}.{path}",
                        item,
                        frozenset({f"{resource_type}.{path}"}),
                    ))  # fmt: skip
    return statements


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _literal_policy(text: str) -> dict[str, Any] | None:
    if '"Statement"' not in text:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _literal_statement(
    where: str, item: dict[str, Any], used_as: frozenset[str]
) -> PolicyStatement:
    principal = item.get("Principal", {})
    principals = (
        ("*:*",)
        if principal == "*"
        else tuple(
            f"{kind}:{identifier}"
            for kind, identifiers in principal.items()
            for identifier in _as_tuple(identifiers)
        )
    )
    return PolicyStatement(
        where=where,
        sid=str(item.get("Sid", "")),
        effect=str(item.get("Effect", "")),
        actions=_as_tuple(item.get("Action")),
        not_actions=_as_tuple(item.get("NotAction")),
        resources=_as_tuple(item.get("Resource")),
        not_resources=_as_tuple(item.get("NotResource")),
        principals=principals,
        used_as=used_as,
        condition_keys=frozenset(
            str(key).lower()
            for keys in (item.get("Condition") or {}).values()
            if isinstance(keys, dict)
            for key in keys
        ),
    )


def wildcard_action_problems(statement: PolicyStatement) -> list[str]:
    """An Allow lists every action by name: no `*`, no `sqs:*`, no `s3:Get*`, no NotAction.

    A Deny may use wildcards (deny everything without TLS is the point of such a statement).
    """
    if not statement.allows:
        return []
    label = f"{statement.where} [{statement.sid or 'no sid'}]"
    problems = [
        f"{label}: wildcard action {action!r}" for action in statement.actions if "*" in action
    ]
    if statement.not_actions:
        problems.append(f"{label}: NotAction in an Allow grants everything else")
    return problems


def resource_problems(statement: PolicyStatement) -> list[str]:
    """An Allow's resources are ARNs; "*" only for RESOURCE_STAR_ACTIONS or RESOURCE_STAR_USES."""
    if not statement.allows:
        return []
    label = f"{statement.where} [{statement.sid or 'no sid'}]"
    problems = []
    if statement.not_resources:
        problems.append(f"{label}: NotResource in an Allow grants every other resource")
    star_allowed = bool(statement.used_as) and statement.used_as <= RESOURCE_STAR_USES.keys()
    for resource in statement.resources:
        if resource == "*":
            unlisted = sorted(set(statement.actions) - RESOURCE_STAR_ACTIONS.keys())
            if unlisted and not star_allowed:
                problems.append(f"{label}: resource '*' for {', '.join(unlisted)}")
        elif not (resource.startswith("arn:") or _ARN_REFERENCE.match(resource)):
            problems.append(f"{label}: resource {resource!r} is not an ARN")
    return problems


def principal_problems(statement: PolicyStatement) -> list[str]:
    """No Allow to anyone (`*` principal): resource policies name the services or accounts."""
    if not statement.allows:
        return []
    return [
        f"{statement.where} [{statement.sid or 'no sid'}]: allows principal {principal!r}"
        for principal in statement.principals
        if principal.endswith(":*") or principal.startswith("*:")
    ]


def confused_deputy_problems(statement: PolicyStatement) -> list[str]:
    """An Allow to an AWS service carries aws:SourceAccount or aws:SourceArn, unless every place
    the policy is used is one where that service is exempt (modules/iam.py, with the reason).

    Without either key, the service acts for whoever points it at our resource: the confused
    deputy. Trust policies, key policies, queue and topic policies and identity policies are all
    documents or JSON literals here; a policy built with jsonencode is refused on its own
    (`jsonencoded_policy_problems`), so none escapes unread.
    """
    if not statement.allows or statement.condition_keys & _SOURCE_KEYS:
        return []
    services = [
        principal.split(":", 1)[1]
        for principal in statement.principals
        if principal.startswith(f"{SERVICE_PRINCIPAL}:")
    ]
    uses = statement.used_as or frozenset({"(unused)"})
    return [
        f"{statement.where} [{statement.sid or 'no sid'}]: allows {service} without "
        f"{SOURCE_ACCOUNT} or {SOURCE_ARN} (used as {', '.join(sorted(uses))})"
        for service in services
        if not all(is_exempt(service, use) for use in uses)
    ]


def lambda_permission_problems(stack_name: str, stack: Stack) -> list[str]:
    """A function's resource policy entry for a service names the source (source_arn or
    source_account): Lambda turns them into the same two condition keys."""
    return [
        f"{stack_name}: aws_lambda_permission.{name}: lets {permission.get('principal')} invoke "
        "without source_arn or source_account"
        for name, permission in stack.get("resource", {}).get("aws_lambda_permission", {}).items()
        if str(permission.get("principal", "")).endswith(".amazonaws.com")
        and not (permission.get("source_arn") or permission.get("source_account"))
    ]


def service_principal_problems(stack_name: str, stack: Stack) -> list[str]:
    """The confused-deputy rule over every policy statement and function permission of a stack."""
    return [
        *(
            problem
            for statement in policy_statements(stack_name, stack)
            for problem in confused_deputy_problems(statement)
        ),
        *lambda_permission_problems(stack_name, stack),
    ]


def container_problems(stack_name: str, stack: Stack) -> list[str]:
    """Every container of every task definition: non-root `user`, read-only root filesystem."""
    problems = []
    for name, task in stack.get("resource", {}).get("aws_ecs_task_definition", {}).items():
        where = f"{stack_name}: aws_ecs_task_definition.{name}"
        try:
            containers = json.loads(task.get("container_definitions", ""))
        except ValueError:
            problems.append(f"{where}: container_definitions is not a JSON literal to inspect")
            continue
        for container in containers:
            label = f"{where} container {container.get('name', '?')!r}"
            user = str(container.get("user", "")).strip()
            if not user:
                problems.append(f"{label}: no user (runs as the image's user, often root)")
            elif user.split(":")[0] in ROOT_USERS:
                problems.append(f"{label}: runs as root ({user!r})")
            if container.get("readonlyRootFilesystem") is not True:
                problems.append(f"{label}: readonlyRootFilesystem is not true")
            if container.get("privileged") is True:
                problems.append(f"{label}: privileged")
    return problems


def external_data_problems(stack_name: str, stack: Stack) -> list[str]:
    """No `external` data source: it runs an arbitrary program at every plan."""
    return [
        f"{stack_name}: data.external.{name} runs a program at plan time"
        for name in stack.get("data", {}).get("external", {})
    ]


def provisioner_problems(stack_name: str, stack: Stack) -> list[str]:
    """The only provisioner: local-exec of the project's image build (build_and_push.sh)."""
    problems = []
    for resource_type, resources in stack.get("resource", {}).items():
        for name, resource in resources.items():
            where = f"{stack_name}: {resource_type}.{name}"
            for provisioner in resource.get("provisioner", []):
                for kind, settings in provisioner.items():
                    if kind != "local-exec":
                        problems.append(f"{where}: {kind} provisioner")
                        continue
                    words = shlex.split(str(settings.get("command", "")))
                    if len(words) != 5 or words[0] != str(BUILD_SCRIPT):
                        problems.append(
                            f"{where}: local-exec {settings.get('command')!r} is not "
                            f"`{BUILD_SCRIPT} SERVICE REPOSITORY_URL TAG REGION`"
                        )
                    if settings.get("interpreter"):
                        problems.append(f"{where}: local-exec with its own interpreter")
    return problems


def policy_problems(stack_name: str, stack: Stack) -> list[str]:
    """Every policy rule over every statement of the stack."""
    return [
        problem
        for statement in policy_statements(stack_name, stack)
        for check in (wildcard_action_problems, resource_problems, principal_problems)
        for problem in check(statement)
    ]


def jsonencoded_policy_problems(stack_name: str, stack: Stack) -> list[str]:
    """No policy built with `jsonencode` (neither checkov nor these rules can read inside it)."""
    return [
        f"{stack_name}: {resource_type}.{name}.{path} builds a policy with jsonencode; "
        "use an aws_iam_policy_document (modules/iam.py)"
        for resource_type, resources in stack.get("resource", {}).items()
        for name, resource in resources.items()
        for path, text in _strings(resource)
        if "jsonencode(" in text and "Statement" in text
    ]
