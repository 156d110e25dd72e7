"""`python -m devtools.new_service NAME KIND [--sends-to CONSUMER]` (what `make new-service` runs).

Exit codes: 0 written; 2 refused (a bad NAME or KIND, an existing folder, a configuration with
problems), with one line per reason and nothing written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devtools.new_service import USAGE, Refused, plan, write
from modules.config import WORKERS_DIR, ConfigError, load_config

REPO_ROOT = Path(__file__).resolve().parents[2]
REFUSED_EXIT_CODE = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make new-service", usage=USAGE, description=__doc__)
    parser.add_argument("name", nargs="?", default="", help="the service's folder name")
    parser.add_argument("kind", nargs="?", default="", help="consumer, producer, scheduled, job")
    parser.add_argument("--sends-to", default="", help="a producer's consumer (if several)")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        config = load_config(args.root, warn=lambda _warning: None)
        folder = write(args.root, plan(config, args.name, args.kind, args.sends_to or None))
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        print("fix the configuration first; nothing was written.", file=sys.stderr)
        return REFUSED_EXIT_CODE
    except Refused as error:
        print(f"error: {error}; nothing was written.", file=sys.stderr)
        return REFUSED_EXIT_CODE
    shown = f"{WORKERS_DIR}/{folder.name}"
    print(f"wrote {shown}/: {', '.join(sorted(path.name for path in folder.iterdir()))}")
    print(
        f"next: write the handler in {shown}/handler.py and its test, then `make synth` (a new "
        f"stack {folder.name}; the logs stack gains its log group) and `make test`"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
