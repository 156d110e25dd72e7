"""The one place that imports cdktf and the AWS provider binding.

CDKTF and its prebuilt providers were archived upstream (2025-12-10); the fork
"CDK Terrain" is API-compatible up to renames. Everything else imports from here,
so a switch, or a faster way to load the binding, changes this file only.

Use provider classes as ``aws.<submodule>.<Class>``, e.g. ``aws.sqs_queue.SqsQueue``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

# jsii prints a banner on every run on an end-of-life Node (20 here); noise, not a fault.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from modules import fast_synth

# The fast path (issue 5; see modules/fast_synth.py): jsii must adopt the kernel started early
# before its first request, which the first jsii import below makes. Type checkers and editors
# see the real package; CDK_PLAIN_IMPORTS=1 is the slow reference.
if TYPE_CHECKING or fast_synth.plain_imports():
    import cdktf_cdktf_provider_aws as aws
else:
    fast_synth.adopt_kernel()
    fast_synth.memoize_binding_type_hints()
    aws = fast_synth.lazy_package(fast_synth.PROVIDER_PACKAGE)

from cdktf import (
    App,
    AssetType,
    DataResource,
    DataTerraformRemoteStateLocal,
    DataTerraformRemoteStateS3,
    Fn,
    LocalBackend,
    LocalExecProvisioner,
    S3Backend,
    TerraformAsset,
    TerraformOutput,
    TerraformStack,
    Testing,
    Token,
)
from constructs import Construct

__all__ = [
    "App",
    "AssetType",
    "Construct",
    "DataResource",
    "DataTerraformRemoteStateLocal",
    "DataTerraformRemoteStateS3",
    "Fn",
    "LocalBackend",
    "LocalExecProvisioner",
    "S3Backend",
    "TerraformAsset",
    "TerraformOutput",
    "TerraformStack",
    "Testing",
    "Token",
    "aws",
]
