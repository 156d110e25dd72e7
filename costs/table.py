"""The price table (costs/prices.yaml), read and checked into typed values.

A missing price or assumption is an error naming it, not a silent 0: every figure an estimate
prints comes from a number someone wrote down with its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

__all__ = ["PRICE_FILE", "Category", "PriceError", "PriceTable", "RegionPrices", "load_prices"]

PRICE_FILE = Path(__file__).with_name("prices.yaml")
_CATEGORIES = ("free", "fixed", "usage")


class PriceError(ValueError):
    """The price table is malformed or lacks a value an estimate needs."""


class Category(Enum):
    FREE = "free"
    FIXED = "fixed"
    USAGE = "usage"


@dataclass(frozen=True)
class RegionPrices:
    """One region's prices, by the names prices.yaml gives them."""

    region: str
    source: str
    values: dict[str, float]
    # The region asked for when this is the fallback's prices, else None.
    stands_in_for: str | None = None

    def __getitem__(self, name: str) -> float:
        try:
            return self.values[name]
        except KeyError:
            raise PriceError(f"prices.yaml: {self.region} has no price {name!r}") from None

    @property
    def label(self) -> str:
        if self.stands_in_for is None:
            return f"{self.region} prices"
        return f"{self.region} prices ({self.stands_in_for} is not in costs/prices.yaml)"


@dataclass(frozen=True)
class PriceTable:
    recorded: str
    hours_per_month: float
    regions: dict[str, RegionPrices]
    fallback_region: str
    assumptions: dict[str, Any]
    resource_types: dict[str, tuple[Category, str]]

    def for_region(self, region: str) -> RegionPrices:
        """The region's prices, or the fallback's, labelled as standing in for it."""
        if region in self.regions:
            return self.regions[region]
        fallback = self.regions[self.fallback_region]
        return RegionPrices(fallback.region, fallback.source, fallback.values, region)

    def assumption(self, name: str) -> Any:
        try:
            return self.assumptions[name]
        except KeyError:
            raise PriceError(f"prices.yaml: no assumption {name!r}") from None

    def category(self, resource_type: str) -> Category | None:
        entry = self.resource_types.get(resource_type)
        return None if entry is None else entry[0]


def load_prices(path: Path = PRICE_FILE) -> PriceTable:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    regions = _regions(data["regions"])
    fallback = data["fallback_region"]
    if fallback not in regions:
        raise PriceError(f"prices.yaml: fallback_region {fallback!r} is not a listed region")
    return PriceTable(
        recorded=str(data["recorded"]),
        hours_per_month=float(data["hours_per_month"]),
        regions=regions,
        fallback_region=fallback,
        assumptions=dict(data["assumptions"]),
        resource_types={
            name: _entry(name, entry) for name, entry in data["resource_types"].items()
        },
    )


def _regions(raw: dict[str, dict[str, Any]]) -> dict[str, RegionPrices]:
    own = {
        name: RegionPrices(name, body["source"], {k: float(v) for k, v in body["prices"].items()})
        for name, body in raw.items()
        if "prices" in body
    }
    for name, body in raw.items():
        if "same_as" in body:
            base = own[body["same_as"]]
            own[name] = RegionPrices(name, f"as {base.region}: {base.source}", base.values)
    keys = {name: set(prices.values) for name, prices in own.items()}
    every = set().union(*keys.values())
    for name, present in keys.items():
        if present != every:
            raise PriceError(f"prices.yaml: {name} lacks {sorted(every - present)}")
    return own


def _entry(resource_type: str, entry: dict[str, str]) -> tuple[Category, str]:
    if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in _CATEGORIES:
        raise PriceError(
            f"prices.yaml: {resource_type} must be {{free|fixed|usage: <why>}}; got {entry!r}"
        )
    ((category, why),) = entry.items()
    return Category(category), str(why)
