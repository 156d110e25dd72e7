"""The account's API Gateway logging role: what lets every REST API stage write access logs.

API Gateway writes a stage's access logs with one role per account and region, set in its
account settings (`aws_api_gateway_account`), not per API. The logs stack owns it, beside the
log groups it writes to, and creates it only when the configuration declares an ingest API.

It is one setting for the whole account and region: if another team's APIs log there too, this
role serves them as well, so it may write to any log group of the account in the region (as
AWS's managed policy for it does) instead of the project's only; it cannot read any.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from modules.cdk import Construct, aws
from modules.iam import Statement, role_with_policy
from modules.naming import resource_name

if TYPE_CHECKING:
    from modules.aws_context import AwsContext

API_GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
# What API Gateway does with the role: find or create a stage's log group and stream, write.
LOGGING_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
)


@dataclass(frozen=True)
class ApiGatewayLoggingProps:
    """What the account's API Gateway logging role needs.

    project: prefix of the role's name (`<project>-api-gateway-logs`).
    aws: the logs stack's Region and account, whose log groups the role may write.
    """

    project: str
    aws: AwsContext


class ApiGatewayLogging(Construct):
    """Public fields: `role`, `account` (the account settings that name the role)."""

    def __init__(self, scope: Construct, construct_id: str, props: ApiGatewayLoggingProps) -> None:
        super().__init__(scope, construct_id)
        log_groups = props.aws.arn("logs", "log-group:*")
        self.role = role_with_policy(
            self,
            "role",
            name=resource_name(props.project, "api-gateway-logs"),
            service=API_GATEWAY_PRINCIPAL,
            statements=(
                Statement(
                    sid="WriteAccessLogs",
                    actions=LOGGING_ACTIONS,
                    resources=(log_groups, f"{log_groups}:log-stream:*"),
                ),
            ),
        )
        self.account = aws.api_gateway_account.ApiGatewayAccount(
            self,
            "account",
            # Provider 6 clears the setting when this is destroyed (5.x needed reset_on_delete).
            cloudwatch_role_arn=self.role.arn,
        )
