"""Job status for people against moto_server: `list` and `show` of the platform's CLI, its
errors, and `make jobs` finding the table from the configuration."""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from devtools import jobs as make_jobs
from devtools.local_jobs import create_job_resources
from tests.workers.jobs_testing import clients
from workers.runtime.jobs import status
from workers.runtime.jobs.model import JobMessage, JobState
from workers.runtime.jobs.table import StatusTable

if TYPE_CHECKING:
    from devtools.moto_server import MotoServer

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
TASK = "arn:aws:ecs:eu-west-1:123456789012:task/workers/"


@pytest.fixture
def aws_env(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in moto_server.env().items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = status.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def fill(table: StatusTable) -> None:
    """Three jobs: one done in 2m05s, one out of attempts, one waiting."""
    done = table.record(
        JobMessage("report-1"), group=None, message_id="m-1", max_attempts=3, now=T0
    )
    assert done is not None and table.claim_start(done, 1, T0 + 1)
    table.record_task("report-1", 1, f"{TASK}aaa111", T0 + 2)
    running = table.mark_running("report-1", 1, f"{TASK}aaa111", T0 + 10)
    assert running is not None and table.mark_succeeded(running, T0 + 135)

    spent = table.record(
        JobMessage("etl-7", '{"customer":"acme"}'),
        group="tenant-a",
        message_id="m-2",
        max_attempts=2,
        now=T0 + 60,
    )
    assert spent is not None
    for attempt in (1, 2):
        assert table.claim_start(spent, attempt, T0 + 60 * attempt)
        run = table.mark_running("etl-7", attempt, f"{TASK}bbb{attempt}", T0 + 70 * attempt)
        assert run is not None
        reason = f"the task stopped before the job finished: exit code 137 (attempt {attempt})"
        assert table.mark_failed(run, reason, T0 + 80 * attempt)
        spent = replace(run, state=JobState.FAILED)
        if attempt == 1:
            assert table.mark_retrying(spent, T0 + 120, T0 + 81)
            spent = replace(spent, state=JobState.RETRYING)
    assert table.mark_dead_lettered(spent, T0 + 161)

    table.record(JobMessage("queued-3"), group=None, message_id="m-3", max_attempts=3, now=T0 + 120)


@pytest.fixture
def table(moto_server: MotoServer) -> StatusTable:
    dynamodb, sqs = clients(moto_server)
    resources = create_job_resources(dynamodb, sqs, "status", uuid.uuid4().hex[:12], fifo=False)
    filled = StatusTable(dynamodb, resources.table, retention_days=1)
    fill(filled)
    return filled


def test_list_shows_recent_jobs_newest_first_with_attempts_task_and_duration(
    table: StatusTable, aws_env: None
) -> None:
    code, out, err = run_cli("--table", table.name, "list")

    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "JOB       STATE          ATTEMPT  TASK    CREATED               DURATION",
        "queued-3  QUEUED         1/3      -       2023-11-14 22:15:20Z  -",
        "etl-7     DEAD_LETTERED  2/2      bbb2    2023-11-14 22:14:20Z  20.0s",
        "report-1  SUCCEEDED      1/3      aaa111  2023-11-14 22:13:20Z  2m05s",
        "parallel slots held: 0 (none)",
    ]


def test_list_can_keep_one_state(table: StatusTable, aws_env: None) -> None:
    code, out, _ = run_cli("--table", table.name, "list", "--state", "SUCCEEDED")

    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[1:-1]] == ["report-1"]


def test_show_prints_one_job_in_full_with_each_ended_attempt(
    table: StatusTable, aws_env: None
) -> None:
    code, out, err = run_cli("--table", table.name, "show", "etl-7")

    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "job           etl-7",
        "state         DEAD_LETTERED",
        "attempt       2 of 2",
        "group         tenant-a",
        f"task          {TASK}bbb2",
        "created       2023-11-14 22:14:20Z",
        "updated       2023-11-14 22:16:01Z",
        "started       2023-11-14 22:15:40Z",
        "finished      2023-11-14 22:16:00Z",
        "duration      20.0s",
        "next attempt  -",
        "reason        the task stopped before the job finished: exit code 137 (attempt 2)",
        "message       m-2",
        "payload:",
        "  {",
        '    "customer": "acme"',
        "  }",
        "attempts:",
        "  1: FAILED after 10.0s, task bbb1: the task stopped before the job finished: exit code "
        "137 (attempt 1)",
        "  2: FAILED after 20.0s, task bbb2: the task stopped before the job finished: exit code "
        "137 (attempt 2)",
    ]


def test_show_of_an_unknown_job_says_so(table: StatusTable, aws_env: None) -> None:
    code, out, err = run_cli("--table", table.name, "show", "nope-1")

    assert (code, out) == (1, "")
    assert err == (
        f"error: no job 'nope-1' in table {table.name} (a finished job is deleted when its "
        "status retention ends)\n"
    )


def test_an_unknown_table_says_to_apply_the_stack(aws_env: None) -> None:
    code, _, err = run_cli("--table", "workers-missing-jobs", "list")

    assert code == 2
    assert err == (
        "error: no table 'workers-missing-jobs' in this account and region: apply the job's "
        "stack first, or check the name\n"
    )


def test_make_jobs_finds_the_familys_table_from_the_configuration(
    moto_server: MotoServer, aws_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the repository's job family `crunch`, its table (workers-crunch-jobs) in moto
    dynamodb, sqs = clients(moto_server)
    resources = create_job_resources(dynamodb, sqs, "workers", "crunch", fifo=False)
    StatusTable(dynamodb, resources.table, 1).record(
        JobMessage("crunch-1"), group=None, message_id="m", max_attempts=3, now=T0
    )

    # When `make jobs` lists it, and names a family that does not exist
    listed = make_jobs.main(["list"])
    listing = capsys.readouterr().out
    unknown = make_jobs.main(["--service", "reporter", "list"])

    # Then it read the right table, and the unknown family is named with the known ones
    assert listed == 0
    assert "crunch-1" in listing.splitlines()[1]
    assert unknown == 2
    assert capsys.readouterr().err == (
        "error: no job family named 'reporter'; job families: crunch\n"
    )
