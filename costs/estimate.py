"""A monthly estimate per stack and for the platform: the fixed part from the synthesized stacks
(costs/fixed.py), the usage part from the configuration (costs/usage.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costs.fixed import Line, fixed_lines
from costs.table import PriceTable, load_prices
from costs.usage import usage_lines

if TYPE_CHECKING:
    from modules.config import PlatformConfig
    from simulator.cost import FixedCosts

__all__ = [
    "Estimate",
    "StackEstimate",
    "estimate",
    "read_stacks",
    "simulation_fixed_costs",
    "synthesize",
]

Stack = dict[str, Any]
MAIN = Path(__file__).resolve().parents[1] / "main.py"
# The stacks every service runs on; their fixed cost is the floor of any service's bill.
PLATFORM_STACKS = ("cluster", "logs")
SYNTH_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class StackEstimate:
    stack: str
    lines: tuple[Line, ...]

    @property
    def fixed(self) -> float:
        return sum(line.monthly for line in self.lines if line.fixed)

    @property
    def usage(self) -> float:
        return sum(line.monthly for line in self.lines if not line.fixed)

    @property
    def total(self) -> float:
        return self.fixed + self.usage


@dataclass(frozen=True)
class Estimate:
    region_label: str
    stacks: tuple[StackEstimate, ...]

    @property
    def fixed(self) -> float:
        return sum(stack.fixed for stack in self.stacks)

    @property
    def usage(self) -> float:
        return sum(stack.usage for stack in self.stacks)

    @property
    def total(self) -> float:
        return self.fixed + self.usage

    def stack(self, name: str) -> StackEstimate:
        return next(stack for stack in self.stacks if stack.stack == name)


def synthesize(root: Path, outdir: Path) -> Path:
    """Synthesize the configuration at `root` into `outdir` with this repository's main.py."""
    done = subprocess.run(
        [sys.executable, str(MAIN), "--root", str(root), "--outdir", str(outdir)],
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"synth of {root} failed:\n{done.stderr.strip()}")
    return outdir


def read_stacks(outdir: Path) -> dict[str, Stack]:
    """Each stack's parsed cdk.tf.json under `outdir`, by name."""
    return {
        path.parent.name: json.loads(path.read_text())
        for path in sorted((outdir / "stacks").glob("*/cdk.tf.json"))
    }


def estimate(
    config: PlatformConfig | None, stacks: dict[str, Stack], table: PriceTable | None = None
) -> Estimate:
    """Every stack's monthly estimate. Without `config` (it did not load) only the fixed part."""
    table = table or load_prices()
    region = _region(config, stacks)
    prices = table.for_region(region)
    lines: dict[str, list[Line]] = {
        name: fixed_lines(name, body, prices, table) for name, body in stacks.items()
    }
    if config is not None:
        for line in usage_lines(config, table, prices):
            lines.setdefault(line.stack, []).append(line)
    return Estimate(
        prices.label, tuple(StackEstimate(name, tuple(lines[name])) for name in sorted(lines))
    )


def _region(config: PlatformConfig | None, stacks: dict[str, Stack]) -> str:
    if config is not None:
        return config.project.region
    for body in stacks.values():
        for provider in body.get("provider", {}).get("aws", []):
            return str(provider.get("region", ""))
    return ""


def simulation_fixed_costs(
    stacks: dict[str, Stack], service: str, region: str, table: PriceTable | None = None
) -> FixedCosts:
    """The simulator's fixed part: the platform stacks, and the service's stack but its scaling
    (the simulator counts the alarms of the plan it runs)."""
    from simulator.cost import FixedCosts

    table = table or load_prices()
    prices = table.for_region(region)
    platform = sum(
        line.monthly
        for name in PLATFORM_STACKS
        if name in stacks
        for line in fixed_lines(name, stacks[name], prices, table)
    )
    own = stacks.get(service, {})
    service_monthly = sum(
        line.monthly
        for line in fixed_lines(service, own, prices, table)
        if not is_scaling(own, line.item)
    )
    return FixedCosts(
        platform, service_monthly, f"{', '.join(PLATFORM_STACKS)} and {service} stacks"
    )


def is_scaling(stack: Stack, item: str) -> bool:
    """A scaling policy, or an alarm that invokes one."""
    resource_type, _, logical_id = item.partition(".")
    if resource_type == "aws_appautoscaling_policy":
        return True
    if resource_type != "aws_cloudwatch_metric_alarm":
        return False
    body = stack["resource"][resource_type][logical_id]
    return any(
        "aws_appautoscaling_policy." in str(action) for action in body.get("alarm_actions", [])
    )


def fixed_costs_for_simulation(root: Path, service: str, region: str) -> FixedCosts:
    """Synthesize `root` into a temporary folder and take the simulator's fixed part from it."""
    with tempfile.TemporaryDirectory(prefix="cost-synth-") as scratch:
        stacks = read_stacks(synthesize(root, Path(scratch) / "cdktf.out"))
    return simulation_fixed_costs(stacks, service, region)
