"""devtools.terraform_offline: clear reasons when the toolchain is absent, diagnostics when a
stack is invalid, and the AWS provider pinned to the mirror's version."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from devtools.terraform_offline import (
    AWS_PROVIDER_VERSION,
    MIRROR_ENV,
    Diagnostic,
    OfflineValidator,
    Toolchain,
    ToolchainMissing,
    pinned_requirements,
    terraform_platform,
)

if TYPE_CHECKING:
    from pathlib import Path

# A root module with one attribute the AWS provider does not have.
INVALID_MODULE = {
    "terraform": {"required_providers": {"aws": {"source": "aws", "version": "6.25.0"}}},
    "provider": {"aws": [{"region": "eu-west-1"}]},
    "resource": {"aws_sqs_queue": {"work": {"name": "work", "visibility_seconds": 30}}},
}


def test_pinned_requirements_pin_aws_to_the_mirror_version_and_keep_the_others() -> None:
    module = {
        "terraform": {
            "required_providers": {
                "aws": {"source": "aws", "version": "6.25.0"},
                "random": {"source": "hashicorp/random", "version": "3.6.0"},
            }
        }
    }

    assert pinned_requirements(module) == {
        "aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION},
        "random": {"source": "hashicorp/random", "version": "3.6.0"},
    }


def test_locate_without_terraform_on_path_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(ToolchainMissing) as missing:
        Toolchain.locate()

    assert missing.value.reason == (
        "terraform is not on PATH; install Terraform >= 1.10 to validate stacks"
    )


def test_locate_with_a_mirror_setting_that_holds_no_provider_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    terraform = tmp_path / "bin" / "terraform"
    terraform.parent.mkdir()
    terraform.write_text("#!/bin/sh\n")
    terraform.chmod(0o755)
    monkeypatch.setenv("PATH", str(terraform.parent))
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path / "empty"))

    with pytest.raises(ToolchainMissing) as missing:
        Toolchain.locate()

    assert missing.value.reason == (
        f"{MIRROR_ENV}={tmp_path / 'empty'} holds no registry.terraform.io/hashicorp/aws/"
        f"{AWS_PROVIDER_VERSION}/{terraform_platform()}"
    )


@pytest.mark.slow
def test_an_invalid_stack_fails_with_terraforms_diagnostic(tmp_path: Path) -> None:
    try:
        toolchain = Toolchain.locate()
    except ToolchainMissing as error:
        pytest.skip(f"cannot run terraform validate offline: {error.reason}")
    stack = tmp_path / "stacks" / "broken"
    stack.mkdir(parents=True)
    text = json.dumps(INVALID_MODULE, indent=2)
    (stack / "cdk.tf.json").write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "visibility_seconds" in row)

    result = OfflineValidator(toolchain, tmp_path / "work").validate(stack)

    assert result.valid is False
    assert result.diagnostics == (
        Diagnostic(
            severity="error",
            summary="Extraneous JSON object property",
            detail='No argument or block type is named "visibility_seconds".',
            location=f"cdk.tf.json:{line}",
        ),
    )
