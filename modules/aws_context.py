"""Where a stack's resources live: its Region, account and partition, and the ARNs built from them.

Each stack builds one `AwsContext` (modules/stacks/base.py, `PlatformStack.aws_context`) and hands
it to the constructs that name AWS resources by ARN, so every ARN of the platform is spelled by
`AwsContext.arn` alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AwsContext:
    """The AWS coordinates of one stack.

    region: the project's Region (a plain string, from platform.yaml).
    account_id: the account Terraform applies in (a reference to the `aws_caller_identity`
        data source: known at plan, never written in the configuration).
    partition: that account's partition, `aws` in commercial Regions (a reference to the
        `aws_partition` data source).
    """

    region: str
    account_id: str
    partition: str

    def arn(
        self, service: str, resource: str, *, region: bool | str = True, account: bool | str = True
    ) -> str:
        """`arn:<partition>:<service>:<region>:<account>:<resource>`.

        region: True for this context's Region (default), False for none (global services such
            as IAM), or another Region by name.
        account: True for this context's account (default), False for none, or another value
            for that field by name (`aws` for AWS-managed IAM policies, the integrated service
            in an API Gateway integration URI).
        """
        return ":".join(
            (
                "arn",
                self.partition,
                service,
                _field(region, self.region),
                _field(account, self.account_id),
                resource,
            )
        )


def _field(choice: bool | str, own: str) -> str:
    if isinstance(choice, str):
        return choice
    return own if choice else ""
