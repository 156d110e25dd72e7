"""Benchmark: one simulated day of the producer workload through the scaling simulator.

`make bench-simulate` (or `python -m bench.simulate_day [--runs N]`). Target: a
24-hour day in a few seconds. Times the simulation only (arrivals, event loop, summary),
not the interpreter start or the plot; the wall clock is read here, never in the simulator.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from modules.config import QueueDepthScaling, ScalingMode
from simulator.cost import prices_for
from simulator.report import summarize
from simulator.runner import RunOptions, default_handler, load_service, run_spec
from simulator.workload import ExampleProducer

ROOT = Path(__file__).resolve().parent.parent
DAY = 24 * 3600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per policy (default 3)")
    parser.add_argument("--service", default="consumer")
    args = parser.parse_args()

    spec = load_service(ROOT, args.service)
    queue_depth_policy = spec.model_copy(
        update={"scaling": QueueDepthScaling(mode=ScalingMode.QUEUE_DEPTH)}
    )
    options = RunOptions(workload=ExampleProducer())
    handler = default_handler(spec)
    prices = prices_for("eu-west-1")
    for label, candidate in (("own policy", spec), ("queue-depth policy", queue_depth_policy)):
        walls = []
        for run in range(args.runs):
            started = time.perf_counter()
            arrivals = ExampleProducer().arrivals(random.Random(run + 1), DAY)
            result = run_spec(candidate, options, arrivals, DAY, handler)
            summary = summarize(result, prices)
            walls.append(time.perf_counter() - started)
        print(
            f"{args.service} {label} ({summary.label.split(': ', 1)[1]}): "
            "24 h of the producer workload, "
            f"{summary.sent} messages: median {statistics.median(walls):.2f} s wall "
            f"(min {min(walls):.2f}, max {max(walls):.2f}, {args.runs} runs)"
        )


if __name__ == "__main__":
    main()
