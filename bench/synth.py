"""make bench-synth: how long a whole-app synth takes, and how much memory, fast path vs plain,
with each engine (modules/engine.py: cdktf, and CDK Terrain with `engine: cdktn`).

Every run is a fresh `python main.py` (or `npx cdktf synth`, `cdktn synth`) process, as a
developer or CI runs it; with `engine: cdktn` that includes main.py starting again in the
engine's venv. For each variant it reports min and median wall time and the peak RSS of the whole
process tree (Python, the jsii kernel, the cdktf CLI if any), sampled from /proc every
20 ms; `max proc` is the largest single process (wait4's ru_maxrss), for comparison.
Then the cost per service: the fast path on a copy of the configuration with 0 and with N extra
consumer services, (median(N) - median(0)) / N. And one first run with a cold jsii package
cache (a fresh JSII_RUNTIME_PACKAGE_CACHE_ROOT, removed afterwards).

The machines are shared: read medians, and compare variants measured in the same run.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from modules import engine, fast_synth

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# Every 20 ms: both processes grow steadily and hold their peak until exit, and a sampler waking
# more often takes CPU from the two processes it measures on a 2-core machine.
SAMPLE_SECONDS = 0.02
RUN_TIMEOUT_SECONDS = 300
# The example consumer is the template for the extra services of the slope measurement.
TEMPLATE_SERVICE = "consumer"


@dataclass(frozen=True)
class Run:
    wall_seconds: float
    tree_peak_bytes: int  # peak of the summed RSS of the process and all its descendants
    max_process_bytes: int  # wait4 ru_maxrss: the largest single process of the tree
    app_started_seconds: float | None = None  # the CLI only: when it started the app


@dataclass(frozen=True)
class Variant:
    label: str
    command: list[str]
    env: dict[str, str]
    app_start_marker: Path | None = None  # the CLI's app writes the epoch time here first


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process tree from /proc until stopped; keeps the peak."""

    def __init__(self, root_pid: int) -> None:
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.peak_bytes = 0
        self._stop_event = threading.Event()
        self._parents: dict[int, int] = {}  # pid -> ppid, read once per pid

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak_bytes = max(self.peak_bytes, self._tree_rss())
            self._stop_event.wait(SAMPLE_SECONDS)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak_bytes

    def _tree_rss(self) -> int:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
        for pid in pids:
            if pid not in self._parents:
                self._parents[pid] = _parent_pid(pid)
        tree = {self.root_pid}
        grew = True
        while grew:  # descendants: any pid whose parent is in the tree, until nothing is added
            before = len(tree)
            tree.update(pid for pid in pids if self._parents.get(pid) in tree)
            grew = len(tree) > before
        return sum(_rss_bytes(pid) for pid in tree)


def _parent_pid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[1])  # the command may contain spaces and ")"


def _rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError):
        return 0


def run_once(variant: Variant, outdir: Path) -> Run:
    shutil.rmtree(outdir, ignore_errors=True)
    command = [part.replace("{outdir}", str(outdir)) for part in variant.command]
    started_epoch = time.time()
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=variant.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    sampler = TreeSampler(process.pid)
    sampler.start()
    assert process.stderr is not None
    stderr = process.stderr.read()  # drains the pipe; returns when the process closes it
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    tree_peak = sampler.stop()
    if process.returncode != 0 or not (outdir / "stacks").is_dir():
        message = stderr.decode(errors="replace")
        sys.exit(f"{variant.label} failed ({process.returncode}):\n{message}")
    app_started = None
    if variant.app_start_marker is not None:
        app_started = float(variant.app_start_marker.read_text()) - started_epoch
    return Run(wall, tree_peak, usage.ru_maxrss * 1024, app_started)


def measure(plan: list[tuple[Variant, int, Path]]) -> list[list[Run]]:
    """Run the variants in turns (A B A B ...) so that the machine's load drifts over all alike."""
    results: list[list[Run]] = [[] for _ in plan]
    for turn in range(max(runs for _, runs, _ in plan)):
        for index, (variant, runs, outdir) in enumerate(plan):
            if turn < runs:
                results[index].append(run_once(variant, outdir))
    for (variant, _, _), runs_of_variant in zip(plan, results, strict=True):
        walls = ", ".join(f"{run.wall_seconds:.2f}s" for run in runs_of_variant)
        print(f"  {variant.label}: {walls}", flush=True)
    return results


def python_variant(
    label: str, root: Path, *, plain: bool, extra_env: dict[str, str] | None = None
) -> Variant:
    """`python main.py` on the configuration at `root` (its platform.yaml names the engine)."""
    env = {**fast_synth.environment(plain=plain), **(extra_env or {})}
    env.pop(engine.ENGINE_ENV, None)
    command = [sys.executable, "main.py", "--root", str(root), "--outdir", "{outdir}"]
    return Variant(label, command, env)


def cli_variant(chosen: engine.Engine, app_start_marker: Path) -> Variant | None:
    """The engine's CLI `synth` (cdktf: the pinned cdktf-cli; cdktn: its own, see
    modules/engine.py), if installed, running cdktf.json's app command behind a shell that
    first notes the time: the CLI's own part is then known."""
    if chosen.cli_packages:
        if not (engine.venv(chosen) / "cli" / "node_modules" / ".bin" / chosen.cli).exists():
            return None
        cli, env = engine.ensure_cli(chosen)  # installed: nothing to do
    elif (REPO_ROOT / "node_modules" / ".bin" / chosen.cli).exists():
        cli, env = ["npx", "--no-install", chosen.cli], dict(os.environ)
    else:
        return None
    env = {
        **fast_synth.environment(plain=False),
        "PATH": env.get("PATH", ""),  # the CLI's: cdktn's brings its own Node.js
        # The CLI's version check calls HashiCorp, which is unreachable here.
        "CHECKPOINT_DISABLE": "1",
        engine.ENGINE_ENV: chosen.name,  # the app is the repository's own configuration
    }
    app = json.loads((REPO_ROOT / "cdktf.json").read_text())["app"]
    noted = f"sh -c 'date +%s.%N > {app_start_marker}; exec {app}'"
    command = [*cli, "synth", "--output", "{outdir}", "--app", noted]
    return Variant(f"{chosen.cli} synth, {chosen.name} (fast)", command, env, app_start_marker)


def config_copy(
    destination: Path, extra_services: int, chosen: engine.Engine = engine.DEFAULT
) -> Path:
    """platform.yaml (naming `chosen`) and workers/ copied to `destination`, plus
    `extra_services` consumers."""
    project = (REPO_ROOT / "platform.yaml").read_text()
    if chosen is not engine.DEFAULT:
        project += f"engine: {chosen.name}\n"
    (destination / "platform.yaml").write_text(project)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO_ROOT / "workers", destination / "workers", ignore=ignore)
    for number in range(1, extra_services + 1):
        shutil.copytree(
            REPO_ROOT / "workers" / TEMPLATE_SERVICE,
            destination / "workers" / f"extra-{number:02d}",
            ignore=ignore,
        )
    return destination


def row(label: str, results: list[Run]) -> str:
    walls = [run.wall_seconds for run in results]
    trees = [run.tree_peak_bytes for run in results]
    single = max(run.max_process_bytes for run in results)
    return (
        f"| {label} | {len(results)} | {min(walls):.2f} s | {statistics.median(walls):.2f} s "
        f"| {statistics.median(trees) / 1e9:.2f} GB | {max(trees) / 1e9:.2f} GB "
        f"| {single / 1e9:.2f} GB |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="runs per fast variant (default 7)")
    parser.add_argument("--plain-runs", type=int, default=3, help="plain-import runs (default 3)")
    parser.add_argument("--extra-services", type=int, default=10, help="for the slope (default 10)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-cache run")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLIs' synth")
    parser.add_argument(
        "--engines", default=",".join(engine.ENGINES), help="comma-separated (default: all)"
    )
    args = parser.parse_args(argv)
    chosen = [engine.named(name) for name in args.engines.split(",")]

    table: list[str] = []
    notes: list[str] = []
    identical = True
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as scratch:
        print("Measuring (wall time of each run):", flush=True)
        if len(chosen) > 1:  # the engines in turns: the fairest comparison on a shared machine
            table += side_by_side(chosen, _mkdir(Path(scratch) / "side-by-side"), args.runs)
        for each in chosen:
            rows, engine_notes, same = measure_engine(each, _mkdir(Path(scratch) / each.name), args)
            table += rows
            notes += engine_notes
            identical = identical and same

    print_table(table)
    print("\n".join(notes))
    return 0 if identical else 1


def side_by_side(chosen: list[engine.Engine], work: Path, runs: int) -> list[str]:
    """One fast-path row per engine, their runs taken in turns (cdktf, cdktn, cdktf, ...)."""
    plan = [
        (
            python_variant(
                f"python main.py, {each.name} (fast), engines in turns",
                config_copy(_mkdir(work / f"base-{each.name}"), 0, each),
                plain=False,
            ),
            runs,
            work / f"out-{each.name}",
        )
        for each in chosen
    ]
    results = measure(plan)
    return [row(variant.label, found) for (variant, _, _), found in zip(plan, results, strict=True)]


def measure_engine(
    chosen: engine.Engine, work: Path, args: argparse.Namespace
) -> tuple[list[str], list[str], bool]:
    """The table rows and notes of one engine; True when fast and plain wrote the same bytes."""
    name = chosen.name
    base = config_copy(_mkdir(work / "base"), 0, chosen)
    grown = config_copy(_mkdir(work / "grown"), args.extra_services, chosen)
    fast = python_variant(f"python main.py, {name} (fast)", base, plain=False)
    plain = python_variant(f"python main.py, {name} (CDK_PLAIN_IMPORTS=1)", base, plain=True)

    rows: list[str] = []
    notes: list[str] = []
    fast_runs, plain_runs = measure(
        [(fast, args.runs, work / "out-fast"), (plain, args.plain_runs, work / "out-plain")]
    )
    rows.append(row(fast.label, fast_runs))
    if plain_runs:
        rows.append(row(plain.label, plain_runs))
    identical = not plain_runs or _same_tree(work / "out-fast", work / "out-plain")
    if plain_runs:
        speedup = median_wall(plain_runs) / median_wall(fast_runs)
        notes.append(f"{name}: speed-up (median plain / median fast): {speedup:.1f}x")
        notes.append(
            f"{name}: fast and plain output byte-identical: {'yes' if identical else 'NO'}"
        )

    cli = None if args.no_cli else cli_variant(chosen, work / "app-started")
    if cli is not None:
        (cli_runs,) = measure([(cli, max(3, args.runs // 2), work / "out-cli")])
        rows.append(row(cli.label, cli_runs))
        before_app = statistics.median(run.app_started_seconds or 0.0 for run in cli_runs)
        notes.append(f"{name}: the CLI ran {before_app:.2f} s (median) before it started the app")

    grown_variant = python_variant(
        f"{name} fast, +{args.extra_services} consumers", grown, plain=False
    )
    base_again, grown_runs = measure(
        [(fast, args.runs, work / "out-fast"), (grown_variant, args.runs, work / "out-grown")]
    )
    rows.append(row(f"{fast.label}, again beside the next", base_again))
    rows.append(row(grown_variant.label, grown_runs))
    slope = (median_wall(grown_runs) - median_wall(base_again)) / args.extra_services
    notes.append(
        f"{name}: cost per consumer service: {slope * 1000:+.0f} ms "
        f"(median with {args.extra_services} extra minus median without, / {args.extra_services})"
    )

    if not args.no_cold:
        cache = _mkdir(work / "cold-cache")
        cold_env = {  # jsii's package cache and our version-check cache, both empty
            "JSII_RUNTIME_PACKAGE_CACHE_ROOT": str(cache / "jsii"),
            "XDG_CACHE_HOME": str(cache),
        }
        cold_label = f"{name} fast, cold jsii cache (first run)"
        cold = python_variant(cold_label, base, plain=False, extra_env=cold_env)
        (cold_runs,) = measure([(cold, 1, work / "out-cold")])
        rows.append(row(cold.label, cold_runs))
        shutil.rmtree(cache, ignore_errors=True)
    return rows, notes, identical


def median_wall(runs: list[Run]) -> float:
    return statistics.median(run.wall_seconds for run in runs)


def print_table(rows: list[str]) -> None:
    print()
    print(
        "| variant | runs | min wall | median wall "
        "| median tree peak RSS | max tree peak RSS | max proc |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _same_tree(left: Path, right: Path) -> bool:
    comparison = filecmp.dircmp(left, right)
    if comparison.left_only or comparison.right_only or comparison.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, comparison.common_files, shallow=False)
    return (
        not mismatch
        and not errors
        and all(_same_tree(left / name, right / name) for name in comparison.common_dirs)
    )


if __name__ == "__main__":
    sys.exit(main())
