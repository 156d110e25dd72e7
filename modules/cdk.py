"""The one place that imports cdktf and the AWS provider binding.

CDKTF and its prebuilt providers were archived upstream (2025-12-10); the fork
"CDK Terrain" is API-compatible up to renames. Everything else imports from here,
so a switch, or a faster way to load the binding, changes this file only.

Use provider classes as ``aws.<submodule>.<Class>``, e.g. ``aws.sqs_queue.SqsQueue``.
"""

from __future__ import annotations

import os

# jsii prints a banner on every run on an end-of-life Node (20 here); noise, not a fault.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import cdktf_cdktf_provider_aws as aws  # noqa: E402
from cdktf import (  # noqa: E402
    App,
    DataResource,
    DataTerraformRemoteStateLocal,
    DataTerraformRemoteStateS3,
    Fn,
    LocalBackend,
    LocalExecProvisioner,
    S3Backend,
    TerraformOutput,
    TerraformStack,
    Testing,
    Token,
)
from constructs import Construct  # noqa: E402

__all__ = [
    "App",
    "Construct",
    "DataResource",
    "DataTerraformRemoteStateLocal",
    "DataTerraformRemoteStateS3",
    "Fn",
    "LocalBackend",
    "LocalExecProvisioner",
    "S3Backend",
    "TerraformOutput",
    "TerraformStack",
    "Testing",
    "Token",
    "aws",
]
