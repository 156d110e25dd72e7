"""The price table is data with a source, and covers every resource type the stacks create."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from costs.fixed import FIXED_RULES
from costs.table import Category, PriceError, load_prices
from costs.usage import USAGE_TYPES
from modules.cdk import aws

if TYPE_CHECKING:
    from pathlib import Path

    from tests.costs.conftest import Stacks

TABLE = load_prices()


def resource_types(stacks: Stacks) -> set[str]:
    return {kind for stack in stacks.values() for kind in stack.get("resource", {})}


def test_every_resource_type_of_the_default_output_has_a_price_or_says_free(
    stacks: Stacks,
) -> None:
    missing = sorted(kind for kind in resource_types(stacks) if TABLE.category(kind) is None)

    assert missing == [], f"add these to costs/prices.yaml resource_types: {missing}"


def test_the_nat_network_is_priced_too(nat_stacks: Stacks) -> None:
    missing = sorted(kind for kind in resource_types(nat_stacks) if TABLE.category(kind) is None)

    assert missing == []
    nat = {aws.nat_gateway.NatGateway.TF_RESOURCE_TYPE, aws.eip.Eip.TF_RESOURCE_TYPE}
    assert nat <= resource_types(nat_stacks)


def test_fixed_and_usage_types_each_have_the_code_that_prices_them() -> None:
    # A type the table calls fixed must have a rule (else it would silently cost 0), and a rule
    # must not exist for a type the table calls free or usage.
    by_category = {
        category: {name for name, (c, _) in TABLE.resource_types.items() if c is category}
        for category in Category
    }

    assert by_category[Category.FIXED] == set(FIXED_RULES)
    assert by_category[Category.USAGE] == set(USAGE_TYPES)


def test_each_entry_says_why() -> None:
    assert all(why.strip() for _, why in TABLE.resource_types.values())


def test_every_region_has_every_price_and_a_source() -> None:
    names = {frozenset(region.values) for region in TABLE.regions.values()}

    assert len(names) == 1
    assert all(region.source.strip() for region in TABLE.regions.values())
    assert TABLE.recorded


def test_a_region_not_in_the_table_is_priced_as_the_fallback_and_says_so() -> None:
    prices = TABLE.for_region("ap-south-1")

    assert prices.region == TABLE.fallback_region
    assert "ap-south-1 is not in costs/prices.yaml" in prices.label


def test_a_missing_price_is_an_error_not_zero() -> None:
    with pytest.raises(PriceError, match="no price 'free_lunch'"):
        TABLE.for_region("eu-west-1")["free_lunch"]


def test_a_malformed_entry_is_refused(tmp_path: Path) -> None:
    from costs.table import PRICE_FILE

    broken = tmp_path / "prices.yaml"
    broken.write_text(
        PRICE_FILE.read_text().replace('aws_vpc: {free: "no charge for a VPC"}', "aws_vpc: cheap")
    )

    with pytest.raises(PriceError, match="aws_vpc must be"):
        load_prices(broken)


def test_every_resource_type_the_code_can_create_has_an_entry() -> None:
    # Beyond the default output: what only some configurations create (Slack, API keys, NAT).
    from modules.fast_synth import provider_submodules_in_code

    types = {
        f"aws_{name}"
        for name in provider_submodules_in_code()
        if not name.startswith("data_") and name != "provider"
    }

    assert sorted(kind for kind in types if TABLE.category(kind) is None) == []
