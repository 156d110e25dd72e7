"""A short summary of a Terraform plan, from `terraform show -json <planfile>`.

Counts adds, changes, destroys and replaces (a replacement counts once, as a replace, not as an
add plus a destroy), and names every replacement (with what forced it) and every destroy, since
those are the lines a reviewer must not miss. Only managed resources count: reading a data
source changes nothing. Values never appear in a summary: it holds addresses and counts only.
Plan JSON format: https://developer.hashicorp.com/terraform/internals/json-format
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pipeline.errors import PipelineError


class Action(StrEnum):
    ADD = "add"
    CHANGE = "change"
    DESTROY = "destroy"
    REPLACE = "replace"
    FORGET = "forget"  # removed from state, left running (a `removed` block with destroy = false)
    NONE = "none"


# Terraform's action lists (the JSON format's "actions"), and what each means for a reviewer.
ACTIONS: dict[tuple[str, ...], Action] = {
    ("create",): Action.ADD,
    ("update",): Action.CHANGE,
    ("delete",): Action.DESTROY,
    ("delete", "create"): Action.REPLACE,
    ("create", "delete"): Action.REPLACE,  # create_before_destroy
    ("forget",): Action.FORGET,
    ("no-op",): Action.NONE,
    ("read",): Action.NONE,
}

# `action_reason` values that say why a resource is replaced without a forcing attribute.
REPLACE_REASONS = {
    "replace_because_tainted": "tainted",
    "replace_by_request": "requested with -replace",
    "replace_by_triggers": "replace_triggered_by",
    "replace_because_cannot_update": "cannot be updated in place",
}


@dataclass(frozen=True)
class Callout:
    """One resource a reviewer must see: a replacement (and why) or a destroy."""

    action: Action
    address: str
    because: str = ""

    def line(self) -> str:
        because = f" ({self.because})" if self.because else ""
        return f"{self.action} {self.address}{because}"


@dataclass(frozen=True)
class PlanSummary:
    adds: int
    changes: int
    destroys: int
    replaces: int
    callouts: tuple[Callout, ...]  # every replace, destroy and forget, by address
    errored: bool = False

    @property
    def has_changes(self) -> bool:
        return bool(self.adds or self.changes or self.destroys or self.replaces or self.callouts)

    def headline(self) -> str:
        if self.errored:
            return "Plan errored: it is incomplete and cannot be applied."
        if not self.has_changes:
            return "No changes."
        return (
            f"Plan: {self.adds} to add, {self.changes} to change, "
            f"{self.destroys} to destroy, {self.replaces} to replace."
        )

    def lines(self) -> list[str]:
        return [self.headline(), *(f"  {callout.line()}" for callout in self.callouts)]

    def to_json(self) -> dict[str, Any]:
        return {
            "adds": self.adds,
            "changes": self.changes,
            "destroys": self.destroys,
            "replaces": self.replaces,
            "errored": self.errored,
            "callouts": [
                {"action": str(c.action), "address": c.address, "because": c.because}
                for c in self.callouts
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanSummary:
        """Read back `to_json` (the comment job reads the summaries the plan jobs wrote)."""
        return cls(
            adds=int(data["adds"]),
            changes=int(data["changes"]),
            destroys=int(data["destroys"]),
            replaces=int(data["replaces"]),
            errored=bool(data.get("errored", False)),
            callouts=tuple(
                Callout(Action(item["action"]), str(item["address"]), str(item.get("because", "")))
                for item in data.get("callouts", [])
            ),
        )


def classify(actions: list[str], address: str) -> Action:
    try:
        return ACTIONS[tuple(actions)]
    except KeyError:
        # Better no summary than a wrong count: a new kind of action needs a look.
        raise PipelineError(f"unknown plan actions {actions} for {address}") from None


def _path_text(path: list[Any]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _because(resource_change: dict[str, Any]) -> str:
    paths = resource_change["change"].get("replace_paths") or []
    if paths:
        return "forced by " + ", ".join(sorted({_path_text(path) for path in paths}))
    return REPLACE_REASONS.get(resource_change.get("action_reason", ""), "")


def summarize(plan: dict[str, Any]) -> PlanSummary:
    """The summary of a plan, given `terraform show -json <planfile>` parsed."""
    counts = dict.fromkeys(Action, 0)
    callouts: list[Callout] = []
    for resource_change in plan.get("resource_changes", []):
        if resource_change.get("mode", "managed") != "managed":
            continue
        address = resource_change["address"]
        action = classify(resource_change["change"]["actions"], address)
        counts[action] += 1
        if action is Action.REPLACE:
            callouts.append(Callout(action, address, _because(resource_change)))
        elif action in (Action.DESTROY, Action.FORGET):
            callouts.append(Callout(action, address))
    return PlanSummary(
        adds=counts[Action.ADD],
        changes=counts[Action.CHANGE],
        destroys=counts[Action.DESTROY],
        replaces=counts[Action.REPLACE],
        # Destroys and replaces first (in that order), each by address: what to read first.
        callouts=tuple(sorted(callouts, key=lambda c: (_CALLOUT_ORDER.index(c.action), c.address))),
        errored=bool(plan.get("errored", False)),
    )


_CALLOUT_ORDER = (Action.DESTROY, Action.REPLACE, Action.FORGET)
