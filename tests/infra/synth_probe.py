"""A synth in a fresh interpreter that reports what Python loaded (for test_fast_synth.py).

    python tests/infra/synth_probe.py --root R --outdir A [--then-fail B]

1. Runs `main.main(["--root", R, "--outdir", A])`, as `python main.py` does.
2. With --then-fail: runs main.py as __main__ again (into B) with one more stack whose resource
   has no provider; cdktf's validation throws inside the node kernel during `app.synth()`. The
   exception must propagate: the interpreter prints it and exits with status 1.

At exit it writes $SYNTH_PROBE_REPORT: {"main_status", "pid", "engine", "package", "available",
"submodules", "assemblies_answered_at_start"}.
Both phases share one interpreter, so the plain-import variant pays its import cost once. Run it
with an engine's Python and CDK_ENGINE naming that engine (modules/engine.py).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import runpy
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
FAILING_STACK = "probe-unprovided"

report: dict[str, Any] = {"main_status": None}


def write_report() -> None:
    from modules import engine, fast_synth

    provider_package = engine.active().provider_package
    report["engine"] = engine.active().name
    package = sys.modules.get(provider_package)
    report["package"] = type(package).__name__ if package is not None else None
    report["available"] = len(getattr(package, "__all__", ()))
    report["submodules"] = sorted(
        name.split(".")[1]
        for name in sys.modules
        if name.startswith(f"{provider_package}.")
        and name.count(".") == 1
        and not name.endswith("._jsii")
    )
    report["pid"] = os.getpid()
    report["assemblies_answered_at_start"] = [
        name for kernel in fast_synth._STARTED for name in kernel.answered_at_start
    ]
    Path(os.environ["SYNTH_PROBE_REPORT"]).write_text(json.dumps(report))


def add_a_stack_that_fails_validation() -> None:
    import modules.app
    from modules.cdk import TerraformStack, aws

    build_app = modules.app.build_app

    def build_app_with_unprovided_resource(config: Any, outdir: Path) -> Any:
        app = build_app(config, outdir)
        aws.sns_topic.SnsTopic(TerraformStack(app, FAILING_STACK), "topic", name="no-provider")
        return app

    modules.app.build_app = build_app_with_unprovided_resource


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--outdir", required=True)
    parser.add_argument("--then-fail", metavar="OUTDIR")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO_ROOT))
    atexit.register(write_report)

    import main as app_main

    report["main_status"] = app_main.main(["--root", args.root, "--outdir", args.outdir])
    if args.then_fail:
        add_a_stack_that_fails_validation()
        sys.argv = ["main.py", "--root", args.root, "--outdir", args.then_fail]
        runpy.run_path(str(REPO_ROOT / "main.py"), run_name="__main__")


if __name__ == "__main__":
    main()
