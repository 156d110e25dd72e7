"""One PNG per simulate run: arrivals, backlog and running tasks over time, a line per policy.

matplotlib is imported here only, with the Agg backend: no display, and the CLI's other
commands (and the tests that do not plot) do not pay for the import.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from simulator.engine import RunResult

__all__ = ["plot_runs"]

_MAX_BARS = 150


def plot_runs(results: list[RunResult], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = max(result.end for result in results) / 3600
    scale, unit = (1 / 60, "minutes") if hours <= 3 else (1 / 3600, "hours")
    figure, (arrivals, backlog, tasks) = plt.subplots(
        3, 1, figsize=(10, 7), sharex=True, constrained_layout=True
    )
    # Every run saw the same arrivals; bin them so that a day is not 1,440 hair-thin bars.
    first = results[0]
    minutes = max(1, len(first.samples) // _MAX_BARS)
    starts = [index * 60.0 * minutes for index in range(math.ceil(len(first.samples) / minutes))]
    counts = [
        sum(sample.arrivals for sample in first.samples[index * minutes : (index + 1) * minutes])
        for index in range(len(starts))
    ]
    arrivals.bar(
        [start * scale for start in starts],
        counts,
        width=60 * minutes * scale,
        align="edge",
        color="0.55",
    )
    arrivals.set_ylabel(
        f"messages sent\nper {minutes} min" if minutes > 1 else "messages sent\nper minute"
    )
    for result in results:
        times = [sample.at * scale for sample in result.samples]
        backlog.plot(
            times, [s.visible for s in result.samples], label=result.scenario.label, linewidth=1.2
        )
        tasks.step(times, [s.running for s in result.samples], where="post", linewidth=1.2)
    backlog.set_ylabel("visible messages\n(backlog)")
    backlog.legend(loc="upper right", fontsize="small")
    tasks.set_ylabel("running tasks")
    tasks.set_xlabel(f"simulated time ({unit})")
    tasks.yaxis.get_major_locator().set_params(integer=True)
    figure.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path
