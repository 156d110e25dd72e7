"""Which stacks a change touches, decided from the synthesized output of base and working tree.

A stack is *changed* when its fingerprint differs (pipeline/fingerprint.py), or when it exists on
one side only. A stack that did not change but reads outputs of a changed stack, directly or
through other stacks, is *provisional*: its configuration is the same, but the values it reads
may not be once its upstream is applied, so it is planned again after that.

Each side's monthly cost per stack (costs/, `make cost`) travels with it, so that the pull
request's comment shows what a change does to the bill beside what it does to the resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from modules.config import PLATFORM_STACKS, WORKERS_DIR
from pipeline.fingerprint import stack_fingerprint
from pipeline.graph import StackGraph, read_stacks
from pipeline.synth import synth, worktree

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path


class Change(StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"
    PROVISIONAL = "provisional"


@dataclass(frozen=True)
class StackCost:
    """A stack's monthly estimate; `usage` None when the tree's configuration did not load with
    this code (then only the fixed part, from the synthesized stack, is known)."""

    fixed: float
    usage: float | None

    def to_json(self) -> dict[str, float | None]:
        usage = None if self.usage is None else round(self.usage, 2)
        return {"fixed": round(self.fixed, 2), "usage": usage}


@dataclass(frozen=True)
class Snapshot:
    """What change detection needs of one synthesized tree."""

    fingerprints: Mapping[str, str]
    graph: StackGraph
    costs: Mapping[str, StackCost] = field(default_factory=dict)

    @classmethod
    def of_outdir(cls, outdir: Path, workers_dir: Path) -> Snapshot:
        manifest, stacks = read_stacks(outdir)
        return cls(
            fingerprints={
                name: stack_fingerprint(stack, workers_dir) for name, stack in stacks.items()
            },
            # Among stacks ready together, the platform's own (cluster, logs) go first.
            graph=StackGraph.from_synth(manifest, stacks, first=PLATFORM_STACKS),
            costs=monthly_costs(workers_dir.parent, stacks),
        )


def monthly_costs(root: Path, stacks: dict[str, dict[str, Any]]) -> dict[str, StackCost]:
    """Each stack's monthly estimate; fixed part only when the configuration does not load."""
    from costs.estimate import estimate
    from costs.table import PriceError
    from modules.config import ConfigError, load_config

    try:
        config = load_config(root)
    except ConfigError:
        config = None
    try:
        result = estimate(config, stacks)
    except PriceError:
        return {}  # the comment says "not estimated" rather than a wrong figure
    return {
        stack.stack: StackCost(stack.fixed, stack.usage if config is not None else None)
        for stack in result.stacks
    }


def snapshot_of_tree(root: Path, label: str = "working tree") -> Snapshot:
    """Synthesize the tree at `root` (its own main.py, this venv) and fingerprint its stacks."""
    return Snapshot.of_outdir(synth(root, label), root / WORKERS_DIR)


def snapshot_of_ref(repo: Path, ref: str) -> Snapshot:
    """Check `ref` out in a temporary worktree, synthesize it there, fingerprint its stacks."""
    with worktree(repo, ref) as tree:
        return snapshot_of_tree(tree, f"base {ref}")


@dataclass(frozen=True)
class ChangedStack:
    """One line of `make changed`: a stack to plan (and apply), and why."""

    stack: str
    change: Change
    order: int  # 1-based position in apply order among the listed stacks
    level: int  # dependency level: 0 reads no other stack (see StackGraph.levels)
    reads: tuple[str, ...]  # listed stacks it reads from directly (why it is provisional)
    # Monthly estimates on each side; None where the stack does not exist or was not estimated.
    cost_before: StackCost | None = None
    cost_after: StackCost | None = None

    @property
    def provisional(self) -> bool:
        return self.change is Change.PROVISIONAL

    def describe(self) -> str:
        if self.change is Change.PROVISIONAL:
            return f"{self.stack} (provisional: reads {', '.join(self.reads)})"
        if self.change is Change.MODIFIED:
            return self.stack
        return f"{self.stack} ({self.change})"

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "provisional": self.provisional,
            "order": self.order,
            "change": str(self.change),
            "level": self.level,
            "reads": list(self.reads),
            # GitHub variable names allow only letters, digits and '_'; stack names have '-'.
            "plan_role_variable": plan_role_variable(self.stack),
            "monthly_cost": {
                "before": self.cost_before.to_json() if self.cost_before else None,
                "after": self.cost_after.to_json() if self.cost_after else None,
            },
        }


def plan_role_variable(stack: str) -> str:
    """The repository variable holding the ARN of `stack`'s read-only plan role."""
    return "TF_PLAN_ROLE_ARN_" + stack.upper().replace("-", "_")


def compare(base: Snapshot, head: Snapshot) -> list[ChangedStack]:
    """Changed and provisional stacks of `head` in apply order, then removed stacks.

    Removed stacks come last, dependents before what they read (the order to destroy them in).
    """
    kinds: dict[str, Change] = {}
    for stack, fingerprint in head.fingerprints.items():
        if stack not in base.fingerprints:
            kinds[stack] = Change.ADDED
        elif base.fingerprints[stack] != fingerprint:
            kinds[stack] = Change.MODIFIED
    for stack in head.graph.downstream(kinds) - set(kinds):
        kinds[stack] = Change.PROVISIONAL
    head_levels = head.graph.levels()
    listed: list[tuple[str, Change, int, frozenset[str]]] = [
        (stack, kinds[stack], head_levels[stack], head.graph.upstream[stack])
        for stack in head.graph.apply_order()
        if stack in kinds
    ]
    base_levels = base.graph.levels()
    listed += [
        (stack, Change.REMOVED, base_levels[stack], base.graph.upstream[stack])
        for stack in reversed(base.graph.apply_order())
        if stack not in head.fingerprints
    ]
    return [
        ChangedStack(
            stack=stack,
            change=change,
            order=position,
            level=level,
            reads=tuple(sorted(upstream & kinds.keys())) if change is Change.PROVISIONAL else (),
            cost_before=base.costs.get(stack),
            cost_after=head.costs.get(stack),
        )
        for position, (stack, change, level, upstream) in enumerate(listed, start=1)
    ]


def changed_stacks(repo: Path, base_ref: str) -> list[ChangedStack]:
    """`make changed BASE=<ref>`: synthesize `base_ref` and the working tree at `repo`, compare."""
    base = snapshot_of_ref(repo, base_ref)
    head = snapshot_of_tree(repo)
    return compare(base, head)
