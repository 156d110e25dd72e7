"""The one place that imports the engine (cdktf, or CDK Terrain) and its AWS provider binding.

CDKTF and its prebuilt providers were archived upstream (2025-12-10); the fork "CDK Terrain"
(`cdktn`) is API-compatible up to the package names. modules/engine.py says which of the two this
interpreter runs; this module imports that one's classes under the same names, so everything
else imports from here and never names an engine.

Use provider classes as ``aws.<submodule>.<Class>``, e.g. ``aws.sqs_queue.SqsQueue``.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING

# jsii prints a banner on every run on an end-of-life Node (20 here); noise, not a fault.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from modules import engine, fast_synth

ENGINE = engine.active()

# Type checkers and editors see cdktf, the default. The provider binding comes first: on the fast
# path (modules/fast_synth.py) jsii adopts the kernel started early before its first request.
if TYPE_CHECKING:
    import cdktf_cdktf_provider_aws as aws
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
else:
    aws = fast_synth.provider_binding()
    _core = importlib.import_module(ENGINE.core_package)
    App = _core.App
    AssetType = _core.AssetType
    DataResource = _core.DataResource
    DataTerraformRemoteStateLocal = _core.DataTerraformRemoteStateLocal
    DataTerraformRemoteStateS3 = _core.DataTerraformRemoteStateS3
    Fn = _core.Fn
    LocalBackend = _core.LocalBackend
    LocalExecProvisioner = _core.LocalExecProvisioner
    S3Backend = _core.S3Backend
    TerraformAsset = _core.TerraformAsset
    TerraformOutput = _core.TerraformOutput
    TerraformStack = _core.TerraformStack
    Testing = _core.Testing
    Token = _core.Token
    from constructs import Construct  # after the engine's: its version is the engine's

__all__ = [
    "ENGINE",
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
