"""`python -m costs` (`make cost`): each stack's monthly cost, fixed and usage, and the total.

Offline: the synthesized stacks, the configuration and costs/prices.yaml are all it reads.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from costs.estimate import estimate, read_stacks, synthesize
from costs.table import load_prices

if TYPE_CHECKING:
    from collections.abc import Sequence

    from costs.estimate import Estimate
    from costs.table import PriceTable

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m costs", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path(), help="repository root (default .)")
    parser.add_argument(
        "--stacks",
        type=Path,
        metavar="DIR",
        help="synthesized cdktf.out to read (default: synthesize --root into a temporary folder)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document instead of text")
    parser.add_argument("--brief", action="store_true", help="the table only, without the items")
    args = parser.parse_args(argv)
    from modules.config import ConfigError, load_config

    try:
        config = load_config(args.root)
    except ConfigError as error:
        print("\n".join(f"error: {problem}" for problem in error.problems), file=sys.stderr)
        return EXIT_USAGE
    table = load_prices()
    if args.stacks is not None:
        result = estimate(config, read_stacks(args.stacks), table)
    else:
        with tempfile.TemporaryDirectory(prefix="cost-synth-") as scratch:
            stacks = read_stacks(synthesize(args.root.resolve(), Path(scratch) / "cdktf.out"))
        result = estimate(config, stacks, table)
    print(as_json(result) if args.json else as_text(result, table, brief=args.brief))
    return 0


def as_text(result: Estimate, table: PriceTable, *, brief: bool = False) -> str:
    lines = [
        f"Monthly estimate in USD ({table.hours_per_month:g} h a month), {result.region_label}, "
        f"costs/prices.yaml recorded {table.recorded}",
        "",
        "| stack | fixed | usage | total |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {s.stack} | {s.fixed:,.2f} | {s.usage:,.2f} | {s.total:,.2f} |" for s in result.stacks
    ]
    lines.append(
        f"| **all stacks** | **{result.fixed:,.2f}** | **{result.usage:,.2f}** | "
        f"**{result.total:,.2f}** |"
    )
    if not brief:
        lines += ["", *_items(result), "", _assumptions(table)]
    return "\n".join(lines)


def _items(result: Estimate) -> list[str]:
    lines = []
    for stack in result.stacks:
        lines.append(f"{stack.stack}:")
        lines += [
            f"  {'fixed' if line.fixed else 'usage'} {line.monthly:9,.2f}  "
            + (line.detail if line.fixed else f"{line.item}: {line.detail}")
            for line in stack.lines
        ]
    return lines


def _assumptions(table: PriceTable) -> str:
    stated = ", ".join(f"{name} {value}" for name, value in table.assumptions.items())
    return f"Stated volumes (costs/prices.yaml assumptions): {stated}."


def as_json(result: Estimate) -> str:
    return json.dumps(
        {
            "prices": result.region_label,
            "fixed": round(result.fixed, 4),
            "usage": round(result.usage, 4),
            "total": round(result.total, 4),
            "stacks": {
                stack.stack: {
                    "fixed": round(stack.fixed, 4),
                    "usage": round(stack.usage, 4),
                    "total": round(stack.total, 4),
                    "items": [
                        {
                            "fixed": line.fixed,
                            "item": line.item,
                            "detail": line.detail,
                            "monthly": round(line.monthly, 4),
                        }
                        for line in stack.lines
                    ],
                }
                for stack in result.stacks
            },
        },
        indent=2,
    )


if __name__ == "__main__":
    sys.exit(main())
