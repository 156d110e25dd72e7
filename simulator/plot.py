"""One PNG per simulate run: arrivals, backlog, running tasks and latency over time, a line per
policy.

matplotlib is imported here only, with the Agg backend: no display, and the CLI's other
commands (and the tests that do not plot) do not pay for the import.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.axes import Axes

    from simulator.engine import RunResult

__all__ = ["plot_runs"]

_MAX_BARS = 150


def plot_runs(
    results: list[RunResult],
    path: Path,
    title: str,
    window: tuple[float, float] | None = None,
) -> Path:
    """Write the figure to `path`; `window` (seconds from the start) limits the time axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start, end = window or (0.0, max(result.end for result in results))
    scale, unit = (1 / 60, "minutes") if (end - start) <= 3 * 3600 else (1 / 3600, "hours")
    figure, (arrivals, backlog, tasks, latency) = plt.subplots(
        4, 1, figsize=(10, 9), sharex=True, constrained_layout=True
    )
    _arrival_bars(arrivals, results[0], scale)
    for result in results:
        times = [sample.at * scale for sample in result.samples]
        backlog.plot(
            times, [s.visible for s in result.samples], label=result.scenario.label, linewidth=1.2
        )
        tasks.step(times, [s.running for s in result.samples], where="post", linewidth=1.2)
        handled = [m for m in result.messages if m.handled_at is not None]
        latency.plot(
            [m.handled_at * scale for m in handled],  # type: ignore[operator]
            [(m.handled_at - m.sent_at) / 60 for m in handled],  # type: ignore[operator]
            ".",
            markersize=2,
        )
    backlog.set_ylabel("visible messages\n(backlog)")
    backlog.legend(loc="upper right", fontsize="small")
    tasks.set_ylabel("running tasks")
    tasks.yaxis.get_major_locator().set_params(integer=True)
    latency.set_ylabel("latency (min)\nby time handled")
    latency.set_xlabel(f"simulated time ({unit})")
    latency.set_xlim(start * scale, end * scale)
    figure.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


def _arrival_bars(axes: Axes, result: RunResult, scale: float) -> None:
    """Every run saw the same arrivals; bin them so that a day is not 1,440 hair-thin bars."""
    samples = result.samples
    minutes = max(1, len(samples) // _MAX_BARS)
    starts = [index * 60.0 * minutes for index in range(math.ceil(len(samples) / minutes))]
    counts = [
        sum(sample.arrivals for sample in samples[index * minutes : (index + 1) * minutes])
        for index in range(len(starts))
    ]
    axes.bar(
        [start * scale for start in starts],
        counts,
        width=60 * minutes * scale,
        align="edge",
        color="0.55",
    )
    axes.set_ylabel(
        f"messages sent\nper {minutes} min" if minutes > 1 else "messages sent\nper minute"
    )
