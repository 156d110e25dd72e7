"""Synthesize every stack: `python main.py` (what `cdktf synth` and `make synth` run)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from modules import engine, fast_synth, synth_report

REPO_ROOT = Path(__file__).resolve().parent
CONFIG_ERROR_EXIT_CODE = 2
KERNEL_ERROR_EXIT_CODE = 1


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
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    synth_report.note_jsii_cache()  # before the kernel fills it on a machine's first synth
    try:  # the engine platform.yaml names; in its own venv, main.py runs again there
        chosen = engine.choose(args.root, argv)
    except engine.EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return KERNEL_ERROR_EXIT_CODE
    from modules.config import ConfigError, load_config

    try:
        config = load_config(args.root, check_code=True)
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(error.problems)} problem(s); nothing was written.", file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE
    other = engine.confirm(chosen, config.project.engine)
    if other is not None:  # `engine:` spelled so that choose() did not read it
        try:
            engine.run_main_with(other, argv)
        except engine.EngineError as error:
            print(f"error: {error}", file=sys.stderr)
            return KERNEL_ERROR_EXIT_CODE

    from modules.app import synth  # imported after validation: a bad config fails fast

    synth(config, args.outdir, report=True)
    return 0


if __name__ == "__main__":
    fast_synth.run(main)  # the same synth, faster (modules/fast_synth.py)
