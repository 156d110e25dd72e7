"""Workload specs and trace files: what they produce, and one clear line when they are wrong."""

from __future__ import annotations

import itertools
import random
from typing import TYPE_CHECKING

import pytest

from simulator.workload import (
    Burst,
    Combined,
    ExampleProducer,
    Poisson,
    WorkloadError,
    parse_workload,
)

if TYPE_CHECKING:
    from pathlib import Path


def test_producer_workload_sends_every_10_to_60_seconds() -> None:
    times = parse_workload("producer").arrivals(random.Random(3), 24 * 3600)

    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 10
    assert max(gaps) <= 60
    # Mean gap 35 s: about 2,470 messages a day.
    assert 2300 < len(times) < 2650


def test_same_random_seed_same_arrivals_other_seed_other_arrivals() -> None:
    workload = parse_workload("producer+poisson:2")

    first = workload.arrivals(random.Random(7), 3600)
    again = workload.arrivals(random.Random(7), 3600)
    other = workload.arrivals(random.Random(8), 3600)

    assert first == again
    assert first != other


@pytest.mark.parametrize(
    ("spec", "per_second"),
    [("poisson:30", 0.5), ("poisson:30/min", 0.5), ("poisson:0.5/s", 0.5), ("poisson:1800/h", 0.5)],
)
def test_poisson_rate_units(spec: str, per_second: float) -> None:
    workload = parse_workload(spec)

    assert isinstance(workload, Poisson)
    assert workload.rate_per_second == pytest.approx(per_second)


def test_burst_sends_n_messages_at_t() -> None:
    workload = parse_workload("burst:500@10m")

    assert workload == Burst(500, 600.0, label="burst:500@10m")
    assert workload.arrivals(random.Random(1), 3600) == [600.0] * 500


def test_combined_workloads_merge_in_time_order() -> None:
    workload = parse_workload("producer+burst:100@1h")

    times = workload.arrivals(random.Random(1), 2 * 3600)

    assert isinstance(workload, Combined)
    assert isinstance(workload.parts[0], ExampleProducer)
    assert times == sorted(times)
    assert times.count(3600.0) == 100


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("", "expected producer, poisson:RATE"),
        ("uniform", "expected producer, poisson:RATE"),
        ("producer:5", "expected producer, poisson:RATE"),
        ("poisson:", "RATE must be a positive number"),
        ("poisson:-1", "RATE must be a positive number"),
        ("poisson:0", "RATE must be a positive number"),
        ("poisson:fast", "RATE must be a positive number"),
        ("burst:100", "expected burst:N@T"),
        ("burst:0@10m", "expected burst:N@T"),
        ("burst:ten@10m", "expected burst:N@T"),
        ("burst:10@soon", "is not a duration"),
        ("producer+", "expected producer, poisson:RATE"),
        ("trace:", "expected producer, poisson:RATE"),
    ],
)
def test_bad_workload_specs_say_what_is_allowed(spec: str, fragment: str) -> None:
    with pytest.raises(WorkloadError) as raised:
        parse_workload(spec)

    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)


def test_trace_with_header_seconds_and_iso_times(tmp_path: Path) -> None:
    seconds = tmp_path / "seconds.csv"
    seconds.write_text("sent_at,size\n1700000000,10\n1700000000.5,10\n1700000060,12\n")
    iso = tmp_path / "iso.csv"
    iso.write_text("2025-01-31T09:00:00Z\n2025-01-31T09:00:30Z\n2025-01-31T10:00:00\n")

    assert parse_workload(f"trace:{seconds}").arrivals(random.Random(1), 1e9) == [0, 0.5, 60]
    assert parse_workload(f"trace:{iso}").arrivals(random.Random(1), 1e9) == [0, 30, 3600]


def test_trace_span_sets_the_default_horizon(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("0\n100\n7200\n")

    assert parse_workload(f"trace:{trace}").span() == 7201


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "no send times"),
        ("timestamp\n", "no send times"),
        ("0\n10\n5\n", "line 3: 5 is earlier than the row before"),
        ("0\nlater\n", "line 2: 'later' is neither seconds nor an ISO 8601 time"),
        ("0\nnan\n", "line 2: nan must be a finite number of seconds >= 0"),
        ("0\n-5\n", "line 2: -5 must be a finite number of seconds >= 0"),
    ],
)
def test_bad_traces_name_the_file_and_line(tmp_path: Path, content: str, fragment: str) -> None:
    trace = tmp_path / "bad.csv"
    trace.write_text(content)

    with pytest.raises(WorkloadError) as raised:
        parse_workload(f"trace:{trace}")

    assert str(trace) in str(raised.value)
    assert fragment in str(raised.value)


def test_missing_and_binary_traces(tmp_path: Path) -> None:
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01")

    with pytest.raises(WorkloadError, match="file not found"):
        parse_workload(f"trace:{tmp_path / 'absent.csv'}")
    with pytest.raises(WorkloadError, match="cannot read it as UTF-8 text"):
        parse_workload(f"trace:{binary}")
