"""The AWS clients workers use (SQS; DynamoDB and ECS for jobs), timeouts and retries explicit.

boto3 reads AWS_REGION and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SQS itself, so a
local endpoint (moto_server, `make local`) needs no code here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import NoRegionError

from workers.runtime.fatal import NO_REGION
from workers.runtime.limits import READ_TIMEOUT_SECONDS, SQS_MAX_LONG_POLL_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient  # optional stubs; only for type checkers

# The consumer's long poll: as long as SQS allows. READ_TIMEOUT_SECONDS outlasts it.
LONG_POLL_SECONDS = SQS_MAX_LONG_POLL_SECONDS
CONNECT_TIMEOUT_SECONDS = 5


def sqs_client(*, max_attempts: int = 3, read_timeout: float = READ_TIMEOUT_SECONDS) -> SQSClient:
    """`read_timeout` must outlast the longest long poll the caller makes."""
    return aws_client("sqs", max_attempts=max_attempts, read_timeout=read_timeout)


def aws_client(
    service: str, *, max_attempts: int = 3, read_timeout: float = READ_TIMEOUT_SECONDS
) -> Any:
    """A client for `service` (e.g. "dynamodb", "ecs") with the same explicit settings."""
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=read_timeout,
        retries={"mode": "standard", "max_attempts": max_attempts},
        max_pool_connections=50,
    )
    try:
        return boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]
    except NoRegionError:
        raise RegionMissing from None


class RegionMissing(NoRegionError):
    """No region: botocore's own words ("You must specify a region.") do not say where to."""

    fmt = NO_REGION
