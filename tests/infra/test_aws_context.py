"""AwsContext.arn: every ARN the modules spell, field by field."""

from __future__ import annotations

import pytest

from modules.aws_context import AwsContext

CONTEXT = AwsContext(region="eu-west-1", account_id="123456789012", partition="aws-cn")


@pytest.mark.parametrize(
    ("service", "resource", "fields", "expected"),
    [
        ("logs", "log-group:/p/s", {}, "arn:aws-cn:logs:eu-west-1:123456789012:log-group:/p/s"),
        ("iam", "root", {"region": False}, "arn:aws-cn:iam::123456789012:root"),
        (
            "iam",
            "policy/AWSDenyAll",
            {"region": False, "account": "aws"},
            "arn:aws-cn:iam::aws:policy/AWSDenyAll",
        ),
        (
            "cognito-idp",
            "userpool/us-east-1_Ab",
            {"region": "us-east-1"},
            "arn:aws-cn:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Ab",
        ),
        (
            "apigateway",
            "path/123/queue",
            {"account": "sqs"},
            "arn:aws-cn:apigateway:eu-west-1:sqs:path/123/queue",
        ),
        ("s3", "bucket", {"region": False, "account": False}, "arn:aws-cn:s3:::bucket"),
    ],
)
def test_arn_fills_the_context_and_takes_each_field_given(
    service: str, resource: str, fields: dict[str, bool | str], expected: str
) -> None:
    # Given a context in a partition other than `aws`
    # When an ARN is spelled with these fields
    # Then each field is the context's, empty, or the value given
    assert CONTEXT.arn(service, resource, **fields) == expected


def test_arn_keeps_terraform_references_as_they_are() -> None:
    # Given a stack's context, whose account and partition are data source references
    context = AwsContext(
        region="eu-west-1",
        account_id="${data.aws_caller_identity.account.account_id}",
        partition="${data.aws_partition.partition.partition}",
    )

    # When an ARN is spelled from it
    arn = context.arn("ecs", "task/${data.x.y}/*")

    # Then the references land in it unchanged, for Terraform to resolve
    assert arn == (
        "arn:${data.aws_partition.partition.partition}:ecs:eu-west-1:"
        "${data.aws_caller_identity.account.account_id}:task/${data.x.y}/*"
    )
