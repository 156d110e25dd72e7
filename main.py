"""Synthesize every stack: `python main.py` (what `cdktf synth` and `make synth` run)."""

from __future__ import annotations

import argparse
import atexit
import os
import sys
from pathlib import Path
from typing import NoReturn

from modules import fast_synth
from modules.config import ConfigError, load_config

REPO_ROOT = Path(__file__).resolve().parent
CONFIG_ERROR_EXIT_CODE = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository to read config from"
    )
    parser.add_argument(
        "--outdir",
        type=Path,
        default=Path(os.environ.get("CDKTF_OUTDIR", REPO_ROOT / "cdktf.out")),
        help="where to write the stacks (default: $CDKTF_OUTDIR or cdktf.out)",
    )
    args = parser.parse_args(argv)
    fast_synth.start_kernel()  # node boots and loads the assemblies while the config loads
    try:
        config = load_config(args.root)
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(error.problems)} problem(s); nothing was written.", file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE

    from modules.app import synth  # imported after validation: a bad config fails fast

    synth(config, args.outdir)
    return 0


def exit_without_teardown(status: int) -> NoReturn:
    """Exit with `status` after the exit handlers, skipping the interpreter's teardown.

    Tearing down the interpreter after a synth costs about 0.1 s (issue 5). The exit handlers
    still run: jsii's stops the node kernel and removes its temporary files. Only reached when
    main() returned; an exception propagates as usual (traceback, exit status 1).
    """
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    exit_without_teardown(main())
