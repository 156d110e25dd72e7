"""The command line: results on stdout, a PNG, a pasteable snippet; errors are one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from modules.config import BacklogPerTaskScaling
from simulator.cli import main

REPO = Path(__file__).resolve().parents[2]


def exit_code(argv: list[str]) -> int | str | None:
    """main's return value, or the code argparse exits with."""
    try:
        return main(argv)
    except SystemExit as exited:
        return exited.code


def write_repo(root: Path, scaling: str = "") -> Path:
    """A minimal repository: platform.yaml and one consumer."""
    (root / "workers/worker").mkdir(parents=True)
    (root / "platform.yaml").write_text("project: sim\nregion: eu-west-1\n")
    (root / "workers/worker/service.yaml").write_text(
        "kind: consumer\nconcurrency: 5\ncontainers:\n  - name: worker\n"
        + (scaling or "scaling:\n  mode: backlog-per-task\n  max_tasks: 4\n")
    )
    return root


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--workload", "poisson:fast"], "RATE must be a positive number"),
        (["--workload", "trace:absent.csv"], "absent.csv: file not found"),
        (["--workload", "producer", "--handler", "fixed:-1"], "handler time 'fixed:-1'"),
        (["--workload", "producer", "--timing", "nonsense=1"], "--timing 'nonsense=1'"),
        (["--workload", "producer", "--timing", "task_start_seconds=-5"], "must be a number >= 0"),
        (["--workload", "producer", "--hours", "0"], "must be a positive number"),
        (["--workload", "producer", "--failure-rate", "1"], "below 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    root = write_repo(tmp_path)

    code = exit_code(["simulate", "--service", "worker", "--root", str(root), *argv])

    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err
    assert err.count("\n") == 1


def test_argparse_errors_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["simulate", "--workload", "producer"])

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--service" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("service", "fragment"),
    [("nobody", "service 'nobody' does not exist; consumers: worker")],
)
def test_unknown_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], service: str, fragment: str
) -> None:
    root = write_repo(tmp_path)

    code = main(["simulate", "--service", service, "--workload", "producer", "--root", str(root)])

    assert code == 2
    assert fragment in capsys.readouterr().err


def test_invalid_config_and_compare_file_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repo_stacks: Path
) -> None:
    root = write_repo(tmp_path, "scaling:\n  mode: backlog-per-task\n  max_tasks: 0\n")
    compare = tmp_path / "other.yaml"
    compare.write_text("scaling:\n  mode: queue-depth\n  target_visible_messages: 0\n")

    bad_config = main(
        ["simulate", "--service", "worker", "--workload", "producer", "--root", str(root)]
    )
    bad_config_err = capsys.readouterr().err
    good = write_repo(tmp_path / "good")
    bad_compare = main(
        [
            "simulate",
            "--service",
            "worker",
            "--workload",
            "producer",
            "--root",
            str(good),
            "--stacks",
            str(repo_stacks),
            "--compare",
            str(compare),
        ]
    )
    bad_compare_err = capsys.readouterr().err

    assert (bad_config, bad_compare) == (2, 2)
    assert "workers/worker/service.yaml: scaling.max_tasks" in bad_config_err
    assert "other.yaml: scaling.target_visible_messages: Input should be greater" in bad_compare_err
    assert bad_config_err.count("\n") == bad_compare_err.count("\n") == 1


def test_the_process_prints_no_traceback_for_a_bad_trace(tmp_path: Path) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text("0\n20\n10\n")

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator",
            "simulate",
            "--service",
            "consumer",
            "--workload",
            f"trace:{trace}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr == (
        f"simulator: error: trace {trace}, line 3: 10 is earlier than the row before; "
        "send times must be in order\n"
    )


def test_simulate_compares_policies_in_one_table_and_one_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repo_stacks: Path
) -> None:
    root = write_repo(tmp_path)
    queue_depth_policy = tmp_path / "queue-depth.yaml"
    queue_depth_policy.write_text("scaling:\n  mode: queue-depth\n")
    plot = tmp_path / "out/plot.png"

    code = main(
        [
            "simulate",
            "--service",
            "worker",
            "--workload",
            "burst:200@5m",
            "--hours",
            "1",
            "--root",
            str(root),
            "--stacks",
            str(repo_stacks),
            "--compare",
            str(queue_depth_policy),
            "--plot",
            str(plot),
        ]
    )

    out = capsys.readouterr().out
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("|  "))
    assert "backlog-per-task (target 25/task, 0-4 tasks)" in header
    assert "queue-depth (target 3 visible, 1-3 tasks)" in header
    assert "latency p95" in out and "estimated cost (USD)" in out
    assert f"plot: {plot}" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plan_capacity_prints_a_valid_scaling_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repo_stacks: Path
) -> None:
    root = write_repo(tmp_path)

    code = main(
        [
            "plan-capacity",
            "--service",
            "worker",
            "--workload",
            "burst:300@5m",
            "--hours",
            "1",
            "--p95",
            "900",
            "--queue-at-start",
            "active",
            "--root",
            str(root),
            "--stacks",
            str(repo_stacks),
        ]
    )

    out = capsys.readouterr().out
    assert code == 0
    snippet = yaml.safe_load(out.split("# workers/worker/service.yaml\n", 1)[1])
    scaling = BacklogPerTaskScaling.model_validate(
        {**snippet["scaling"], "mode": snippet["scaling"]["mode"]}, strict=False
    )
    assert scaling.max_tasks >= 1


def test_plan_capacity_says_so_when_no_setting_meets_the_goal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repo_stacks: Path
) -> None:
    root = write_repo(tmp_path)

    code = main(
        [
            "plan-capacity",
            "--service",
            "worker",
            "--workload",
            "burst:300@5m",
            "--hours",
            "1",
            "--p95",
            "30",
            "--root",
            str(root),
            "--stacks",
            str(repo_stacks),
        ]
    )

    assert code == 1
    assert "no setting tried meets the goal" in capsys.readouterr().out


def test_a_run_that_hits_its_time_cap_warns_and_the_plot_takes_a_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repo_stacks: Path
) -> None:
    # queue-depth from 0: target tracking never starts a task, the message waits for ever
    root = write_repo(tmp_path, "scaling:\n  mode: queue-depth\n  min_tasks: 0\n  max_tasks: 1\n")
    plot = tmp_path / "capped.png"

    code = main(
        [
            "simulate",
            "--service",
            "worker",
            "--workload",
            "burst:1@5m",
            "--hours",
            "1",
            "--window",
            "0-30m",
            "--root",
            str(root),
            "--stacks",
            str(repo_stacks),
            "--plot",
            str(plot),
        ]
    )

    captured = capsys.readouterr()
    assert code == 0
    assert "stopped at the time cap (25 h) with 1 messages not handled" in captured.err
    assert "fixed cost for the same hours" in captured.out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_names_differ_by_options_and_omit_defaults() -> None:
    from simulator.cli import _parser, _plot_name

    def name(*extra: str) -> str:
        args = _parser().parse_args(
            [
                "simulate",
                "--service",
                "consumer",
                "--workload",
                "producer+burst:1000@2h~60s",
                *extra,
            ]
        )
        return _plot_name("consumer", args)

    plain, other = name(), name("--idle-task-metric", "zero", "--hours", "6")
    assert plain.startswith("consumer-producer-burst-1000-2h-60s-")
    assert "idle-task-metric" not in plain
    assert "idle-task-metric-zero" in other and "hours-6.0" in other
    assert plain != other != name("--idle-task-metric", "zero", "--hours", "7")


@pytest.mark.parametrize("window", ["3h-1h", "x-2h", "2h"])
def test_a_bad_window_is_one_line(window: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = exit_code(
        ["simulate", "--service", "consumer", "--workload", "producer", "--window", window]
    )

    assert code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_without_a_synth_the_fixed_costs_are_missing_and_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import costs.estimate

    def failing(root: Path, outdir: Path) -> Path:
        raise RuntimeError(f"synth of {root} failed:\nerror: workers/Dockerfile is missing")

    monkeypatch.setattr(costs.estimate, "synthesize", failing)
    root = write_repo(tmp_path)

    code = main(
        [
            *("simulate", "--service", "worker", "--workload", "burst:10@5m", "--hours", "1"),
            *("--root", str(root), "--plot", str(tmp_path / "p.png")),
        ]
    )

    captured = capsys.readouterr()
    assert code == 0
    assert "warning: fixed costs not counted: the synth failed: error: workers/Dockerfile" in (
        captured.err
    )
    assert "fixed: NOT COUNTED" in captured.out
    assert "(usage only)" in captured.out
