"""Is the plan about to be applied the plan that was reviewed?

After merge, each stack is planned again; it is applied only if its `resource_changes` equal
those of the plan reviewed in the pull request: the same addresses, each with the same actions
and the same planned values (`after`, with which of them are unknown or sensitive). Otherwise
the apply stops for approval of the new plan.

Both plans are reduced to a *digest* first, which is what the pull request stores as an
artifact: per resource change, its address, actions and a sha256 of its planned values. The
digest holds no values, so nothing secret leaves the run in it; sensitive values are masked
before hashing, because a bare hash of a short secret could be guessed back. The price: a change
to a sensitive value alone, with the same actions, is not seen as a difference.
Entries that are pure no-ops (and not a move) are left out: they do nothing when applied.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.errors import PipelineError
from pipeline.fingerprint import canonical_json

if TYPE_CHECKING:
    from pathlib import Path

DIGEST_FORMAT = 1
MASK = "(sensitive)"


@dataclass(frozen=True)
class PlannedChange:
    address: str
    actions: tuple[str, ...]
    values_sha256: str  # of `after`, `after_unknown` and `after_sensitive`, sensitive masked
    previous_address: str = ""  # set when the resource moves

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "address": self.address,
            "actions": list(self.actions),
            "values_sha256": self.values_sha256,
        }
        if self.previous_address:
            entry["previous_address"] = self.previous_address
        return entry


@dataclass(frozen=True)
class PlanDigest:
    stack: str
    changes: tuple[PlannedChange, ...]  # sorted by address

    def to_json(self) -> dict[str, Any]:
        return {
            "format": DIGEST_FORMAT,
            "stack": self.stack,
            "resource_changes": [change.to_json() for change in self.changes],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanDigest:
        if data.get("format") != DIGEST_FORMAT:
            raise PipelineError(
                f"plan digest format {data.get('format')!r}, expected {DIGEST_FORMAT}"
            )
        return cls(
            stack=str(data["stack"]),
            changes=tuple(
                PlannedChange(
                    address=str(item["address"]),
                    actions=tuple(item["actions"]),
                    values_sha256=str(item["values_sha256"]),
                    previous_address=str(item.get("previous_address", "")),
                )
                for item in data["resource_changes"]
            ),
        )

    @classmethod
    def load(cls, path: Path) -> PlanDigest:
        try:
            return cls.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise PipelineError(f"cannot read plan digest {path}: {error}") from None


def mask_sensitive(value: Any, sensitive: Any) -> Any:
    """`value` with every part that `sensitive` (the plan's `after_sensitive`) marks replaced."""
    if sensitive is True:
        return MASK
    if isinstance(value, dict) and isinstance(sensitive, dict):
        return {key: mask_sensitive(item, sensitive.get(key)) for key, item in value.items()}
    if isinstance(value, list) and isinstance(sensitive, list):
        return [
            mask_sensitive(item, sensitive[index] if index < len(sensitive) else None)
            for index, item in enumerate(value)
        ]
    return value


def digest(stack: str, plan: dict[str, Any]) -> PlanDigest:
    """The digest of a plan, given `terraform show -json <planfile>` parsed."""
    changes = []
    for resource_change in plan.get("resource_changes", []):
        change = resource_change["change"]
        actions = tuple(change["actions"])
        previous = str(resource_change.get("previous_address", ""))
        if actions == ("no-op",) and not previous:
            continue
        sensitive = change.get("after_sensitive")
        values = {
            "after": mask_sensitive(change.get("after"), sensitive),
            "after_unknown": change.get("after_unknown"),
            "after_sensitive": sensitive,
        }
        changes.append(
            PlannedChange(
                address=str(resource_change["address"]),
                actions=actions,
                values_sha256=hashlib.sha256(canonical_json(values)).hexdigest(),
                previous_address=previous,
            )
        )
    return PlanDigest(stack=stack, changes=tuple(sorted(changes, key=lambda c: c.address)))


def differences(reviewed: PlanDigest, current: PlanDigest) -> list[str]:
    """Why `current` is not the reviewed plan, one line per address; empty when they are equal."""
    if reviewed.stack != current.stack:
        return [f"the reviewed plan is for stack '{reviewed.stack}', not '{current.stack}'"]
    before = {change.address: change for change in reviewed.changes}
    after = {change.address: change for change in current.changes}
    lines = [
        f"{address}: {'/'.join(after[address].actions)} was not in the reviewed plan"
        for address in sorted(after.keys() - before.keys())
    ]
    lines += [
        f"{address}: reviewed {'/'.join(before[address].actions)} is no longer planned"
        for address in sorted(before.keys() - after.keys())
    ]
    for address in sorted(before.keys() & after.keys()):
        old, new = before[address], after[address]
        if old == new:
            continue
        if old.actions != new.actions:
            lines.append(
                f"{address}: reviewed {'/'.join(old.actions)}, now {'/'.join(new.actions)}"
            )
        elif old.previous_address != new.previous_address:
            lines.append(f"{address}: moves from a different address than reviewed")
        else:
            lines.append(f"{address}: {'/'.join(new.actions)} with different values than reviewed")
    return sorted(lines)
