"""`make jobs [SERVICE=<name>] [ID=<job id>]`: the job status CLI for a job family of this repo.

Finds the family's status table and region from the configuration (`kind: job` services; the
only one when SERVICE is not given), then runs the platform's CLI (workers/runtime/jobs/status.py)
with them: `list` recent jobs, or `show` one. AWS credentials come from the environment as for
any AWS CLI (AWS_PROFILE, ...); the table is read in the project's region.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from modules.config import ConfigError, JobSpec, load_config
from modules.naming import jobs_table_name
from workers.runtime.jobs import status

REPO_ROOT = Path(__file__).resolve().parent.parent
USAGE_EXIT = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make jobs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--service", help="the job family (default: the only kind: job service)")
    args, rest = parser.parse_known_args(argv)
    try:
        config = load_config(REPO_ROOT)
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return USAGE_EXIT
    families = sorted(job.name for job in config.of_kind(JobSpec))
    known = f"job families: {', '.join(families) or 'none'}"
    if args.service is not None and args.service not in families:
        print(f"error: no job family named {args.service!r}; {known}", file=sys.stderr)
        return USAGE_EXIT
    if args.service is None and len(families) != 1:
        print(f"error: say which job family: SERVICE=<name>; {known}", file=sys.stderr)
        return USAGE_EXIT
    service = args.service if args.service is not None else families[0]
    # The table lives in the project's region, whatever region the shell is set to.
    os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = config.project.region
    return status.main(["--table", jobs_table_name(config.project.project, service), *rest])


if __name__ == "__main__":
    raise SystemExit(main())
