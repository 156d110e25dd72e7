"""What a synth tells its user: before the first synth on a machine, that jsii's package cache is
being filled (the wait is otherwise silent); after writing, one line per stack (resources, and
new, changed, unchanged or removed since the last synth) and the time taken.

`STARTED` is read when main.py imports this module, at the start of the process.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

STARTED = time.monotonic()

STACK_FILE = "cdk.tf.json"
# jsii's package cache: where the kernel unpacks each assembly once per machine (jsii runtime).
CACHE_ROOT_VARIABLE = "JSII_RUNTIME_PACKAGE_CACHE_ROOT"
CACHE_SWITCH_VARIABLE = "JSII_RUNTIME_PACKAGE_CACHE"
# Measured on the 2-core development machine: the AWS provider's assembly unpacked.
FIRST_FILL = "about 410 MB, once per machine; under a minute"


def jsii_cache_root() -> Path:
    """The folder jsii unpacks assemblies into (its own default, or the variable's)."""
    configured = os.environ.get(CACHE_ROOT_VARIABLE, "")
    if configured:
        return Path(configured)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "com.amazonaws.jsii" / "package-cache"
    return Path.home() / ".cache" / "aws" / "jsii" / "package-cache"


_first_fill: list[Path] = []  # the cache folder, when note_jsii_cache found it empty


def note_jsii_cache(root: Path | None = None) -> None:
    """Before the kernel starts: remember whether the cache holds no AWS provider yet (then this
    synth fills it, and `announce_jsii_cache` says so once the config is known to be valid)."""
    if os.environ.get(CACHE_SWITCH_VARIABLE, "enabled").lower() == "disabled":
        return
    root = jsii_cache_root() if root is None else root
    if not any(root.glob("*/provider-aws/*")):
        _first_fill[:] = [root]


def announce_jsii_cache(out: TextIO = sys.stdout) -> None:
    for root in _first_fill:
        where = _shown(root)
        print(
            f"first synth on this machine: filling the jsii cache in {where} ({FIRST_FILL})",
            file=out,
        )
        out.flush()


def _shown(path: Path) -> str:
    home = str(Path.home())
    text = str(path)
    return f"~{text[len(home) :]}" if text.startswith(f"{home}/") else text


@dataclass(frozen=True)
class StackChange:
    name: str
    resources: int  # managed resources in the new stack (0 when removed)
    status: str  # new, changed, unchanged or removed


def stack_changes(written: Path, previous: Path) -> list[StackChange]:
    """Each stack of `written` (a synth's `stacks/` folder) against `previous` (the last one)."""
    names = {path.parent.name for path in written.glob(f"*/{STACK_FILE}")}
    before = {path.parent.name for path in previous.glob(f"*/{STACK_FILE}")}
    changes = [_change(name, written, previous, name in before) for name in sorted(names)]
    changes += [StackChange(name, 0, "removed") for name in sorted(before - names)]
    return changes


def _change(name: str, written: Path, previous: Path, existed: bool) -> StackChange:
    content = (written / name / STACK_FILE).read_bytes()
    if not existed:
        status = "new"
    elif content == (previous / name / STACK_FILE).read_bytes():
        status = "unchanged"
    else:
        status = "changed"
    return StackChange(name, resource_count(content), status)


def resource_count(content: bytes) -> int:
    """Managed resources (not data sources) in a synthesized stack."""
    resources = json.loads(content).get("resource", {})
    return sum(len(instances) for instances in resources.values())


def report_lines(changes: list[StackChange], stacks_dir: str, seconds: float) -> list[str]:
    """One line per stack, then the summary, in the order `stack_changes` gives."""
    width = max((len(change.name) for change in changes), default=0)
    lines = [
        f"{change.name:<{width}}  {change.resources:>4} resources  {change.status}"
        if change.status != "removed"
        else f"{change.name:<{width}}  {'':>4}            removed"
        for change in changes
    ]
    counts = {
        status: sum(change.status == status for change in changes)
        for status in ("new", "changed", "unchanged", "removed")
    }
    summary = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
    written = sum(change.status != "removed" for change in changes)
    lines.append(f"wrote {written} stacks to {stacks_dir} in {seconds:.1f} s ({summary})")
    return lines


def print_report(written: Path, previous: Path, stacks_dir: str, out: TextIO = sys.stdout) -> None:
    changes = stack_changes(written, previous)
    for line in report_lines(changes, stacks_dir, time.monotonic() - STARTED):
        print(line, file=out)
    out.flush()
