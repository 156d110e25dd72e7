"""The round trip's live per-stack table, and its summary.

On a terminal the table is redrawn in place after every change; elsewhere (CI logs, pytest)
each change is one line, so the log reads in order without control characters.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Iterable

PHASES = ("apply", "re-plan", "change", "destroy")
RUNNING = "…"
HEADER = ("stack", "resources", *PHASES)


@dataclass
class StackRow:
    stack: str
    resources: int | None = None
    cells: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def values(self) -> tuple[str, ...]:
        resources = "" if self.resources is None else str(self.resources)
        return (self.stack, resources, *(self.cells.get(phase, "") for phase in PHASES))


class Progress:
    """Thread-safe: steps of several stacks report at once."""

    def __init__(self, stacks: Iterable[str], out: TextIO | None = None) -> None:
        self.out = out if out is not None else sys.stdout
        self.rows = {stack: StackRow(stack) for stack in stacks}
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._live = self.out.isatty()
        self._drawn_lines = 0

    def started(self, stack: str, phase: str) -> None:
        self._set(stack, phase, RUNNING)

    def finished(self, stack: str, phase: str, cell: str, seconds: float | None = None) -> None:
        self._set(stack, phase, cell, seconds)

    def resources(self, stack: str, count: int) -> None:
        with self._lock:
            self.rows[stack].resources = count

    def note(self, text: str) -> None:
        """A line about the whole round trip (a phase starting, the workers' result)."""
        with self._lock:
            self._clear()
            print(f"[{self._elapsed()}] {text}", file=self.out, flush=True)
            self._draw()

    def table(self) -> str:
        rows = [HEADER, *(row.values() for row in self.rows.values())]
        widths = [max(len(row[column]) for row in rows) for column in range(len(HEADER))]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            for row in rows
        ]
        return "\n".join(line.rstrip() for line in lines)

    def _set(self, stack: str, phase: str, cell: str, seconds: float | None = None) -> None:
        with self._lock:
            row = self.rows[stack]
            row.cells[phase] = cell
            if seconds is not None:
                row.seconds[phase] = seconds
            if self._live:
                self._clear()
                self._draw()
            else:
                print(f"[{self._elapsed()}] {stack}: {phase} {cell}", file=self.out, flush=True)

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self._started:6.1f}s"

    def _clear(self) -> None:
        if self._live and self._drawn_lines:
            # Up to the table's first line, then clear to the end of the screen.
            self.out.write(f"\x1b[{self._drawn_lines}F\x1b[J")

    def _draw(self) -> None:
        if not self._live:
            return
        table = self.table()
        self.out.write(table + "\n")
        self.out.flush()
        self._drawn_lines = table.count("\n") + 1
