"""The pull request's sticky plan comment: one table over the changed stacks, then each stack's
plan folded below it.

Reads what the plan jobs left: `changed.json` (from `changed --json`, with each stack's monthly
cost estimate before and after the change) and, per planned stack,
its downloaded artifact `<plans>/plan-<stack>/` holding `summary.json`
(pipeline/plan_summary.py) and `plan.txt` (`terraform show -no-color`, sensitive values redacted
by Terraform). A stack whose plan job failed has no summary: its row says so instead of showing
numbers nobody computed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.errors import PipelineError
from pipeline.plan_summary import PlanSummary

if TYPE_CHECKING:
    from pathlib import Path

# The workflow finds its earlier comment by this first line and edits it instead of adding one.
MARKER = "<!-- fargate-worker-platform: plan summary -->"
# GitHub rejects comment bodies over 65,536 characters; keep room for the truncation notes.
MAX_CHARS = 60_000
SUMMARY_FILE = "summary.json"
PLAN_TEXT_FILE = "plan.txt"
# Each plan job uploads its folder as the artifact `plan-<stack>`; downloaded, it is this folder.
PLAN_FOLDER_PREFIX = "plan-"


@dataclass(frozen=True)
class StackPlan:
    stack: str
    change: str  # added, modified, removed, provisional (pipeline/changed.py)
    provisional: bool
    summary: PlanSummary | None  # None: no plan (removed, or the plan job failed)
    text: str
    # {"before": {"fixed", "usage"} | None, "after": ...} from changed.json; None: not estimated
    monthly_cost: dict[str, Any] | None = None


def load(changed_file: Path, plans_dir: Path) -> list[StackPlan]:
    """The listed stacks in apply order, each with whatever its plan job wrote."""
    try:
        entries: list[dict[str, Any]] = json.loads(changed_file.read_text())
    except (OSError, ValueError) as error:
        raise PipelineError(f"cannot read {changed_file}: {error}") from None
    plans = []
    for entry in sorted(entries, key=lambda item: item["order"]):
        folder = plans_dir / f"{PLAN_FOLDER_PREFIX}{entry['stack']}"
        summary_file, text_file = folder / SUMMARY_FILE, folder / PLAN_TEXT_FILE
        plans.append(
            StackPlan(
                stack=entry["stack"],
                change=entry["change"],
                provisional=bool(entry["provisional"]),
                summary=(
                    PlanSummary.from_json(json.loads(summary_file.read_text()))
                    if summary_file.is_file()
                    else None
                ),
                text=text_file.read_text() if text_file.is_file() else "",
                monthly_cost=entry.get("monthly_cost"),
            )
        )
    return plans


def cost_change(monthly: dict[str, Any] | None) -> str:
    """`+$1.20 ($12.00 → $13.20)`: the stack's monthly estimate after minus before.

    Totals when both sides have their usage part, else the fixed parts (and says so).
    """
    before, after = (monthly or {}).get("before"), (monthly or {}).get("after")
    if before is None and after is None:
        return "not estimated"
    both_usage = all(side is None or side.get("usage") is not None for side in (before, after))

    def amount(side: dict[str, Any] | None) -> float:
        if side is None:
            return 0.0
        return side["fixed"] + (side["usage"] if both_usage else 0.0)

    old, new = amount(before), amount(after)
    delta = new - old
    sign = "+" if delta > 0.005 else "-" if delta < -0.005 else "±"
    span = "new" if before is None else "removed" if after is None else f"${old:,.2f} → ${new:,.2f}"
    scope = "" if both_usage else ", fixed part"
    return f"{sign}${abs(delta):,.2f} ({span}{scope})"


def _row(plan: StackPlan) -> str:
    provisional = "yes" if plan.provisional else ""
    cost = cost_change(plan.monthly_cost)
    if plan.summary is None:
        why = "removed: not planned, destroy is manual" if plan.change == "removed" else "no plan"
        return f"| `{plan.stack}` | {why} | | | | {cost} | {provisional} |"
    s = plan.summary
    if s.errored:
        return f"| `{plan.stack}` | plan errored | | | | {cost} | {provisional} |"
    counts = f"{s.adds} | {s.changes} | {s.destroys} | {s.replaces}"
    return f"| `{plan.stack}` | {counts} | {cost} | {provisional} |"


def fence_for(text: str) -> str:
    """A code fence longer than any run of backticks in `text`, so the text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _details(plan: StackPlan, budget: int, run_url: str) -> str:
    if plan.summary is None:
        return ""
    headline = f"{plan.summary.headline()}; monthly cost {cost_change(plan.monthly_cost)}"
    if plan.provisional:
        headline += " (provisional: planned again after its upstream is applied)"
    lines = [f"<details><summary><code>{plan.stack}</code>: {headline}</summary>", ""]
    lines += [f"- {callout.line()}" for callout in plan.summary.callouts]
    text = plan.text
    if len(text) > budget:
        where = f" ([full plan in the run]({run_url}))" if run_url else ""
        text = text[: max(budget, 0)] + "\n…"
        lines += ["", f"Plan truncated to fit the comment{where}."]
    fence = fence_for(text)
    lines += ["", f"{fence}text", text.rstrip("\n"), fence, "", "</details>"]
    return "\n".join(lines)


def render(plans: list[StackPlan], run_url: str = "") -> str:
    """The comment body: marker, table, then each plan folded, within GitHub's size limit."""
    head = [
        MARKER,
        "### Terraform plan of the changed stacks",
        "",
    ]
    if not plans:
        return "\n".join([*head, "No stack's synthesized Terraform changed: nothing to plan."])
    head += [
        "| Stack | Adds | Changes | Destroys | Replaces | Monthly cost | Provisional |",
        "|---|---:|---:|---:|---:|---|---|",
        *(_row(plan) for plan in plans),
        "",
        "Provisional: unchanged itself, but reads outputs of a changed stack; after merge it is "
        "planned again once that stack is applied, and applied only if the plan is still this one.",
        "",
        "Monthly cost: the estimate of `make cost` on each side (costs/prices.yaml; the fixed part "
        "from the stack itself, the usage part from the configuration at its stated volumes).",
        "",
    ]
    if run_url:
        head += [f"Run: {run_url}", ""]
    body = "\n".join(head)
    # Share what is left among the plans in order; a short plan leaves its unused share to the rest.
    remaining = MAX_CHARS - len(body)
    sections = []
    for index, plan in enumerate(plans):
        overhead = 400 + 200 * len(plan.summary.callouts if plan.summary else ())
        budget = remaining // (len(plans) - index) - overhead
        section = _details(plan, budget, run_url)
        remaining -= len(section) + 1
        sections.append(section)
    return body + "\n".join(section for section in sections if section) + "\n"
