"""Job status for people: `python -m workers.runtime.jobs --table NAME list|show ID`.

`make jobs` runs this through devtools/jobs.py, which finds the table from the configuration.

    list [--state STATE ...] [--limit N]   recent jobs, newest first: state, attempts, task,
                                           when created, how long the (last) attempt ran
    show ID                                one job in full: every field, its payload, and
                                           each ended attempt with its reason

Exit codes: 0 done, 1 not found or AWS failed, 2 usage (no table, no credentials).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, TextIO

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from workers.runtime.aws import aws_client
from workers.runtime.jobs.limits import Limits
from workers.runtime.jobs.model import JobState
from workers.runtime.jobs.table import StatusTable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from workers.runtime.jobs.model import JobRecord

__all__ = ["main", "render_job", "render_list"]

NOT_FOUND_EXIT = 1
USAGE_EXIT = 2
DEFAULT_LIMIT = 20
MISSING = "-"


def timestamp(epoch: float | None) -> str:
    if epoch is None:
        return MISSING
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{seconds:.1f}s"


def short_task(task_arn: str | None) -> str:
    """The task id (the ARN's last part): what the ECS console and log stream names show."""
    return MISSING if not task_arn else task_arn.rsplit("/", 1)[-1]


def render_list(records: Sequence[JobRecord], slot_holders: Sequence[str], now: float) -> str:
    header = ("JOB", "STATE", "ATTEMPT", "TASK", "CREATED", "DURATION")
    rows = [
        (
            record.id,
            str(record.state),
            f"{record.attempt}/{record.max_attempts}",
            short_task(record.task_arn),
            timestamp(record.created_at),
            duration(record.duration(now)),
        )
        for record in records
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in (header, *rows)]  # fmt: skip
    if not rows:
        lines.append("(no jobs)")
    held = ", ".join(slot_holders) if slot_holders else "none"
    lines.append(f"parallel slots held: {len(slot_holders)} ({held})")
    return "\n".join(lines)


def render_job(record: JobRecord, now: float) -> str:
    fields = [
        ("job", record.id),
        ("state", str(record.state)),
        ("attempt", f"{record.attempt} of {record.max_attempts}"),
        ("group", record.group or MISSING),
        ("task", record.task_arn or MISSING),
        ("created", timestamp(record.created_at)),
        ("updated", timestamp(record.updated_at)),
        ("started", timestamp(record.started_at)),
        ("finished", timestamp(record.finished_at)),
        ("duration", duration(record.duration(now))),
        ("next attempt", timestamp(record.next_attempt_at)),
        ("reason", record.reason or MISSING),
        ("message", record.message_id or MISSING),
    ]
    width = max(len(name) for name, _ in fields)
    lines = [f"{name.ljust(width)}  {value}" for name, value in fields]
    payload = json.dumps(json.loads(record.payload), indent=2, sort_keys=True)
    lines += ["payload:", *(f"  {line}" for line in payload.splitlines())]
    lines.append("attempts:" if record.history else "attempts: none ended yet")
    for entry in record.history:
        started, finished = entry.get("started_at"), entry.get("finished_at")
        ran = None if started is None or finished is None else finished - started
        lines.append(
            f"  {entry.get('attempt')}: {entry.get('outcome')} after {duration(ran)}, "
            f"task {short_task(entry.get('task_arn'))}"
            + (f": {entry['reason']}" if entry.get("reason") else "")
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m workers.runtime.jobs", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--table", required=True, help="the job family's status table")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="recent jobs, newest first")
    listing.add_argument(
        "--state",
        action="append",
        choices=[str(state) for state in JobState],
        help="only jobs in this state (repeatable). Default: every state",
    )
    listing.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="Default: 20")
    show = commands.add_parser("show", help="one job in full")
    show.add_argument("job_id")
    return parser.parse_args(argv)


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """`out`/`err`: where to print. Default: sys.stdout / sys.stderr at the time of the call."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    args = parse_args(argv)
    try:
        return _command(args, out, err)
    except (NoCredentialsError, NoRegionError) as error:
        print(f"error: {error} (set AWS_PROFILE or credentials, and AWS_REGION)", file=err)
        return USAGE_EXIT
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            print(
                f"error: no table {args.table!r} in this account and region: apply the job's "
                "stack first, or check the name",
                file=err,
            )
            return USAGE_EXIT
        print(f"error: DynamoDB: {error}", file=err)
        return NOT_FOUND_EXIT
    except BotoCoreError as error:
        print(f"error: {error}", file=err)
        return NOT_FOUND_EXIT


def _command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    client = aws_client("dynamodb")
    table = StatusTable(client, args.table, retention_days=1)
    now = time.time()
    if args.command == "list":
        states = [JobState(state) for state in args.state] if args.state else list(JobState)
        records = table.recent(states, max(1, args.limit))
        print(render_list(records, Limits(client, args.table).slot_holders(), now), file=out)
        return 0
    record = table.get(args.job_id)
    if record is None:
        print(
            f"error: no job {args.job_id!r} in table {args.table} (a finished job is deleted "
            "when its status retention ends)",
            file=err,
        )
        return NOT_FOUND_EXIT
    print(render_job(record, now), file=out)
    return 0
