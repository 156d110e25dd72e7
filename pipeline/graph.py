"""Which stack reads which: cdktf's manifest dependencies plus the explicit remote-state links.

Stacks of this project link only through `terraform_remote_state` data sources named
`<stack>_outputs` (modules/stacks/base.py, `remote_state`), so cdktf's manifest lists no
dependencies; both are read, so that a cdktf cross-stack reference would count too.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

REMOTE_STATE_TYPE = "terraform_remote_state"
REMOTE_STATE_SUFFIX = "_outputs"
MANIFEST = "manifest.json"


def read_stacks(outdir: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The manifest and each stack's parsed `cdk.tf.json`, by stack name."""
    try:
        manifest = json.loads((outdir / MANIFEST).read_text())
        stacks = {
            name: json.loads((outdir / entry["synthesizedStackPath"]).read_text())
            for name, entry in sorted(manifest["stacks"].items())
        }
    except (OSError, KeyError, ValueError) as error:
        raise PipelineError(f"cannot read the synthesized stacks in {outdir}: {error}") from None
    return manifest, stacks


def remote_state_links(stack: dict[str, Any]) -> set[str]:
    """Stacks whose outputs `stack` reads, from its `<stack>_outputs` remote-state data sources."""
    names = stack.get("data", {}).get(REMOTE_STATE_TYPE, {})
    return {
        name.removesuffix(REMOTE_STATE_SUFFIX)
        for name in names
        if name.endswith(REMOTE_STATE_SUFFIX)
    }


@dataclass(frozen=True)
class StackGraph:
    """Stacks and, for each, the stacks it reads from (its upstream)."""

    upstream: Mapping[str, frozenset[str]]
    # Stacks applied first among those ready at the same time (the platform's own), in this order.
    first: tuple[str, ...] = ()

    @classmethod
    def from_synth(
        cls,
        manifest: dict[str, Any],
        stacks: Mapping[str, dict[str, Any]],
        first: tuple[str, ...] = (),
    ) -> StackGraph:
        upstream = {}
        for name, stack in stacks.items():
            declared = set(manifest["stacks"][name].get("dependencies", []))
            # A link to a stack outside this app (another team's state) orders nothing here.
            links = (declared | remote_state_links(stack)) & set(stacks)
            upstream[name] = frozenset(links - {name})
        return cls(upstream=upstream, first=first)

    @property
    def stacks(self) -> frozenset[str]:
        return frozenset(self.upstream)

    def _rank(self, stack: str) -> tuple[int, str]:
        position = self.first.index(stack) if stack in self.first else len(self.first)
        return (position, stack)

    def apply_order(self) -> list[str]:
        """Every stack after all it reads; among those ready together: `first`, then by name."""
        waiting = {stack: set(upstream) for stack, upstream in self.upstream.items()}
        ready = [self._rank(stack) for stack, upstream in waiting.items() if not upstream]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, stack = heapq.heappop(ready)
            order.append(stack)
            for other, upstream in waiting.items():
                if stack in upstream:
                    upstream.discard(stack)
                    if not upstream:
                        heapq.heappush(ready, self._rank(other))
        if len(order) != len(waiting):
            cycle = sorted(set(waiting) - set(order))
            raise PipelineError(f"stacks read each other's outputs in a cycle: {', '.join(cycle)}")
        return order

    def levels(self) -> dict[str, int]:
        """Each stack's dependency level: 0 reads nothing, otherwise 1 + its deepest upstream's."""
        levels: dict[str, int] = {}
        for stack in self.apply_order():
            levels[stack] = 1 + max((levels[up] for up in self.upstream[stack]), default=-1)
        return levels

    def downstream(self, of: Iterable[str]) -> set[str]:
        """Every stack that reads, directly or through others, from any stack in `of`."""
        found: set[str] = set()
        frontier = set(of)
        while frontier:
            readers = {
                stack
                for stack, upstream in self.upstream.items()
                if upstream & frontier and stack not in found
            }
            found |= readers
            frontier = readers
        return found
