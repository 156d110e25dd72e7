"""One PNG per simulate run: arrivals, backlog and running tasks over time, a line per policy.

matplotlib is imported here only, with the Agg backend: no display, and the CLI's other
commands (and the tests that do not plot) do not pay for the import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from simulator.engine import RunResult

__all__ = ["plot_runs"]


def plot_runs(results: list[RunResult], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = max(result.end for result in results) / 3600
    scale, unit = (1 / 60, "minutes") if hours <= 3 else (1 / 3600, "hours")
    figure, (arrivals, backlog, tasks) = plt.subplots(
        3, 1, figsize=(10, 7), sharex=True, constrained_layout=True
    )
    first = results[0]
    arrivals.bar(
        [sample.at * scale for sample in first.samples],
        [sample.arrivals for sample in first.samples],
        width=60 * scale,
        color="0.55",
    )
    arrivals.set_ylabel("messages sent\nper minute")
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
