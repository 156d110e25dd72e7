"""Synthesized stacks for the infrastructure tests.

Synthesis runs in-process: the jsii kernel and the provider binding load once per test
session, and every further synth (a changed config, a second run) costs little.
"""

from __future__ import annotations

import json
import re
import shutil
from typing import TYPE_CHECKING, Any

import pytest

from modules.cdk import aws
from modules.config import PlatformConfig, load_config
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

Stack = dict[str, Any]


def synth_stacks(config: PlatformConfig, outdir: Path) -> dict[str, Stack]:
    """Synthesize `config` into `outdir`; return each stack's parsed cdk.tf.json by name."""
    from modules.app import synth

    synth(config, outdir)
    return {
        path.parent.name: json.loads(path.read_text())
        for path in sorted((outdir / "stacks").glob("*/cdk.tf.json"))
    }


def resources(stack: Stack, resource_type: str) -> dict[str, dict[str, Any]]:
    """All resources of one Terraform type in a stack, by logical id (empty if none)."""
    return stack.get("resource", {}).get(resource_type, {})


def only_resource(stack: Stack, resource_type: str) -> dict[str, Any]:
    found = resources(stack, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


def data_sources(stack: Stack, data_type: str) -> dict[str, dict[str, Any]]:
    return stack.get("data", {}).get(data_type, {})


def reference(resource_type: str, logical_id: str, attribute: str) -> str:
    """How cdk.tf.json refers to a resource's attribute: `${aws_vpc.network_vpc_1A2B.id}`."""
    return f"${{{resource_type}.{logical_id}.{attribute}}}"


def policy_statements(stack: Stack, document_json: str) -> dict[str, dict[str, Any]]:
    """The statements, by sid, of the `aws_iam_policy_document` that `document_json` refers to
    (`${data.aws_iam_policy_document.<id>.json}`, as a role or policy holds it)."""
    match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([^.}]+)\.json\}", document_json)
    assert match, f"not a reference to a policy document: {document_json}"
    document = data_sources(stack, "aws_iam_policy_document")[match.group(1)]
    return {statement["sid"]: statement for statement in document["statement"]}


@pytest.fixture(scope="session")
def default_config() -> PlatformConfig:
    return load_config(REPO_ROOT)


@pytest.fixture(scope="session")
def stacks(
    default_config: PlatformConfig, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Stack]:
    """Every stack of the repository's own configuration, synthesized once per session."""
    return synth_stacks(default_config, tmp_path_factory.mktemp("synth") / "cdktf.out")


@pytest.fixture
def repo_copy(tmp_path: Path) -> Callable[[], Path]:
    """A copy of the configuration (platform.yaml and workers/) to modify in a test."""

    def make() -> Path:
        root = tmp_path / "repo"
        shutil.copytree(
            REPO_ROOT / "workers",
            root / "workers",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        shutil.copy2(REPO_ROOT / "platform.yaml", root / "platform.yaml")
        return root

    return make


REPOSITORY = aws.ecr_repository.EcrRepository.TF_RESOURCE_TYPE
ROLE = aws.iam_role.IamRole.TF_RESOURCE_TYPE
ROLE_POLICY = aws.iam_role_policy.IamRolePolicy.TF_RESOURCE_TYPE
ROLE_POLICY_ATTACHMENT = aws.iam_role_policy_attachment.IamRolePolicyAttachment.TF_RESOURCE_TYPE

# What every worker's roles look like, whatever its kind (task_definition.py): references to the
# stack's own account and partition data sources.
ACCOUNT_REF = "${data.aws_caller_identity.account.account_id}"
PARTITION_REF = "${data.aws_partition.partition.partition}"


def ecs_tasks_trust() -> dict[str, dict[str, Any]]:
    """A worker role's trust policy, by sid: ECS tasks, of this account's ECS resources only."""
    return {
        "AssumedByEcsTasks": {
            "sid": "AssumedByEcsTasks",
            "effect": "Allow",
            "actions": ["sts:AssumeRole"],
            "principals": [{"type": "Service", "identifiers": ["ecs-tasks.amazonaws.com"]}],
            "condition": [
                {"test": "StringEquals", "variable": "aws:SourceAccount", "values": [ACCOUNT_REF]},
                {
                    "test": "ArnLike",
                    "variable": "aws:SourceArn",
                    "values": [f"arn:{PARTITION_REF}:ecs:eu-west-1:{ACCOUNT_REF}:*"],
                },
            ],
        }
    }


def execution_role_permissions(stack: Stack, log_group: str) -> dict[str, dict[str, Any]]:
    """A worker's execution role policy, by sid: its own image repository and log group only."""
    (repository_id,) = resources(stack, REPOSITORY)
    log_group_arn = f"arn:{PARTITION_REF}:logs:eu-west-1:{ACCOUNT_REF}:log-group:{log_group}"
    return {
        "EcrLogin": {
            "sid": "EcrLogin",
            "effect": "Allow",
            "actions": ["ecr:GetAuthorizationToken"],
            "resources": ["*"],  # the one action AWS cannot scope
        },
        "PullOwnImage": {
            "sid": "PullOwnImage",
            "effect": "Allow",
            "actions": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "resources": [reference(REPOSITORY, repository_id, "arn")],
        },
        "WriteOwnLogs": {
            "sid": "WriteOwnLogs",
            "effect": "Allow",
            "actions": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "resources": [f"{log_group_arn}:log-stream:*"],
        },
    }


def execution_role(stack: Stack, name: str) -> tuple[str, dict[str, Any]]:
    """The role named `name` and, checked on the way, that only its one inline policy grants it
    anything: (logical id, the policy's statements by sid)."""
    (role_id,) = [id_ for id_, role in resources(stack, ROLE).items() if role["name"] == name]
    (policy,) = [
        body
        for body in resources(stack, ROLE_POLICY).values()
        if body["role"] == reference(ROLE, role_id, "id")
    ]
    assert "managed_policy_arns" not in resources(stack, ROLE)[role_id]
    assert resources(stack, ROLE_POLICY_ATTACHMENT) == {}
    return role_id, policy_statements(stack, policy["policy"])
