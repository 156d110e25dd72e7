"""Every synthesized stack passes `terraform validate`, offline, against the provider mirror.

Skips (with the reason) only when terraform or the mirror is not on the machine; see
devtools/terraform_offline.py for the method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.helpers.toolchains import offline_validator
from tests.infra.synth_output import repository_stack_names, synth_into

if TYPE_CHECKING:
    from pathlib import Path

    from devtools.terraform_offline import OfflineValidator
    from modules.config import PlatformConfig

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> OfflineValidator:
    """One validator for the module: the stacks share its terraform init."""
    return offline_validator(tmp_path_factory.mktemp("terraform-validate"))


@pytest.fixture(scope="module")
def outdir(default_config: PlatformConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_into(default_config, tmp_path_factory.mktemp("validate-synth"))


@pytest.mark.parametrize("stack", repository_stack_names())
def test_stack_passes_terraform_validate(
    stack: str, outdir: Path, validator: OfflineValidator
) -> None:
    result = validator.validate(outdir / "stacks" / stack)

    assert result.valid, f"terraform validate rejected the stack:\n{result.report()}"


def test_the_nat_network_passes_terraform_validate(
    default_config: PlatformConfig, tmp_path: Path, validator: OfflineValidator
) -> None:
    # `network.egress: nat` is opt-in: its resources appear in no default stack.
    project = default_config.project
    network = project.network.model_copy(update={"egress": "nat"})
    config = default_config.model_copy(
        update={"project": project.model_copy(update={"network": network})}
    )

    result = validator.validate(synth_into(config, tmp_path) / "stacks" / "cluster")

    assert result.valid, f"terraform validate rejected the NAT cluster:\n{result.report()}"
