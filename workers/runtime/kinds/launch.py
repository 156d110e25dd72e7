"""Start the entry point of the kind WORKER_KIND names (what `python -m workers.runtime` runs)."""

from __future__ import annotations

import importlib

from workers.runtime import env
from workers.runtime.kinds import KIND_VARIABLE, KINDS


def main() -> None:
    try:
        kind = env.required_str(KIND_VARIABLE)
        if kind not in KINDS:
            rule = f"must be one of {', '.join(KINDS)}"
            raise env.EnvError(f"{KIND_VARIABLE}={kind!r} is not valid: {rule}")
    except env.EnvError as error:
        env.exit_with_usage_error(error)
    importlib.import_module(f"workers.runtime.kinds.{kind}").main()
