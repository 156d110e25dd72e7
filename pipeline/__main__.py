"""`python -m pipeline <command>`: change detection, plans and their checks (pipeline/README.md).

Every failure ends with one `error:` line on stderr (and what the failed tool said, indented)
and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.errors import PipelineError

# Exit statuses: 0 done; 1 a negative answer (plans differ, checks failed); 2 could not answer.
DIFFERENT = 1
ERROR = 2


def _changed(args: argparse.Namespace) -> int:
    from pipeline.changed import changed_stacks

    changes = changed_stacks(args.repo.resolve(), args.base)
    if args.json:
        print(json.dumps([change.to_json() for change in changes], indent=2))
    else:
        for change in changes:
            print(change.describe())
    return 0


def _write(path: Path | None, text: str) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _plan(args: argparse.Namespace) -> int:
    from pipeline.plan import plan_stack, show_text

    result = plan_stack(
        args.repo.resolve(),
        args.stack,
        synthesize=args.synth,
        lock=args.lock,
        local_aws=args.local_aws,
    )
    _write(args.summary_json, json.dumps(result.summary.to_json(), indent=2) + "\n")
    _write(args.digest, json.dumps(result.digest.to_json(), indent=2) + "\n")
    if args.plan_text is not None:
        _write(args.plan_text, show_text(result.plan_file.parent, result.plan_file))
    print(f"\n{args.stack}: " + "\n".join(result.summary.lines()))
    print(f"Saved plan: {result.plan_file.relative_to(args.repo.resolve())}")
    return 0


def _stacks(args: argparse.Namespace) -> int:
    from pipeline.stack_list import apply_order, require_stack

    repo = args.repo.resolve()
    if args.need is not None:
        require_stack(repo, args.need, args.command_name)
        return 0
    from modules.config import load_config

    print("\n".join(apply_order(load_config(repo))))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from pipeline.reviewed import PlanDigest, differences

    current = PlanDigest.load(args.current)
    if args.reviewed is None or not args.reviewed.is_file():
        print(f"{current.stack}: no reviewed plan to compare with; approval needed.")
        return DIFFERENT
    found = differences(PlanDigest.load(args.reviewed), current)
    if not found:
        print(f"{current.stack}: the plan is the reviewed plan.")
        return 0
    print(f"{current.stack}: the plan differs from the reviewed plan; approval needed:")
    for line in found:
        print(f"  {line}")
    return DIFFERENT


def _comment(args: argparse.Namespace) -> int:
    from pipeline.comment import load, render

    body = render(load(args.changed, args.plans), run_url=args.run_url)
    if args.out is None:
        sys.stdout.write(body)
    else:
        _write(args.out, body)
    return 0


def _checkov(args: argparse.Namespace) -> int:
    from pipeline.checkov import CONFIG_FILE, ensure_checkov, scan

    repo = args.repo.resolve()
    if not args.stacks_dir.is_dir():
        raise PipelineError(f"{args.stacks_dir} is not a folder (run `make synth` first)")
    report = scan(
        ensure_checkov(repo / "pyproject.toml"), args.stacks_dir.resolve(), repo / CONFIG_FILE
    )
    print("\n".join(report.lines()))
    return DIFFERENT if report.failed or report.parsing_errors else 0


def _install_checkov(args: argparse.Namespace) -> int:
    from pipeline.checkov import ensure_checkov

    print(f"checkov: {ensure_checkov(args.repo.resolve() / 'pyproject.toml')}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    root.add_argument("--repo", type=Path, default=Path("."), help="repository root (default: .)")
    commands = root.add_subparsers(dest="command", required=True)

    changed = commands.add_parser(
        "changed", help="stacks whose synthesized output differs from BASE, in apply order"
    )
    changed.add_argument("--base", required=True, help="git ref to compare with, e.g. origin/main")
    changed.add_argument("--json", action="store_true", help="a JSON list for a CI matrix")
    changed.set_defaults(run=_changed)

    plan = commands.add_parser("plan", help="synth, init, plan -out=<stack>.tfplan, summary")
    plan.add_argument("stack")
    plan.add_argument("--no-synth", dest="synth", action="store_false", help="use cdktf.out as is")
    plan.add_argument(
        "--no-lock", dest="lock", action="store_false", help="plan without the state lock"
    )
    plan.add_argument(
        "--local-aws",
        metavar="URL",
        help="plan against a local AWS (moto_server at URL, e.g. one `make e2e` starts)",
    )
    plan.add_argument("--summary-json", type=Path, help="write the summary (counts, addresses)")
    plan.add_argument("--digest", type=Path, help="write the plan digest (pipeline/reviewed.py)")
    plan.add_argument("--plan-text", type=Path, help="write `terraform show -no-color` of the plan")
    plan.set_defaults(run=_plan)

    stacks = commands.add_parser("stacks", help="the stacks, in the order a first apply takes")
    stacks.add_argument(
        "--need", metavar="STACK", help="exit 2, listing the stacks, unless STACK is one"
    )
    stacks.add_argument(
        "--for", dest="command_name", default="make deploy", help="the command, for the message"
    )
    stacks.set_defaults(run=_stacks)

    compare = commands.add_parser(
        "compare", help="exit 0 if a plan digest equals the reviewed one, 1 if not"
    )
    compare.add_argument("current", type=Path, help="digest of the plan about to be applied")
    compare.add_argument("--reviewed", type=Path, help="digest of the reviewed plan (if any)")
    compare.set_defaults(run=_compare)

    comment = commands.add_parser("comment", help="the pull request's plan comment (Markdown)")
    comment.add_argument("--changed", type=Path, required=True, help="output of `changed --json`")
    comment.add_argument("--plans", type=Path, required=True, help="folder of <stack>/ plans")
    comment.add_argument("--run-url", default="", help="link for truncated plans")
    comment.add_argument("--out", type=Path, help="write here instead of stdout")
    comment.set_defaults(run=_comment)

    checkov = commands.add_parser("checkov", help="checkov over synthesized stacks (.checkov.yaml)")
    checkov.add_argument("stacks_dir", type=Path, nargs="?", default=Path("cdktf.out/stacks"))
    checkov.set_defaults(run=_checkov)

    install = commands.add_parser(
        "install-checkov", help="install the pinned checkov into its own venv (make test does)"
    )
    install.set_defaults(run=_install_checkov)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except PipelineError as error:
        print(f"error: {error.message}", file=sys.stderr)
        if error.detail:
            print("  " + error.detail.replace("\n", "\n  "), file=sys.stderr)
        return ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return ERROR


if __name__ == "__main__":
    sys.exit(main())
