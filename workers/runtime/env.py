"""Worker settings from environment variables: each read once, checked, with a clear error."""

from __future__ import annotations

import math
import os
import sys
from typing import TYPE_CHECKING, NoReturn, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

T = TypeVar("T")

USAGE_EXIT_CODE = 2


class EnvError(ValueError):
    """A missing or malformed environment variable."""


def _parse(name: str, raw: str, convert: Callable[[str], T], rule: str) -> T:
    try:
        return convert(raw)
    except ValueError:
        raise EnvError(f"{name}={raw!r} is not valid: must be {rule}") from None


def required_str(name: str, env: Mapping[str, str] | None = None) -> str:
    value = (os.environ if env is None else env).get(name, "").strip()
    if not value:
        raise EnvError(f"{name} is required but not set")
    return value


def optional_str(name: str, default: str, env: Mapping[str, str] | None = None) -> str:
    value = (os.environ if env is None else env).get(name, "").strip()
    return value or default


def number(
    name: str,
    default: float,
    *,
    minimum: float,
    maximum: float,
    integer: bool = False,
    env: Mapping[str, str] | None = None,
) -> float:
    """A number within [minimum, maximum]; `default` when the variable is unset or empty."""
    raw = (os.environ if env is None else env).get(name, "").strip()
    kind = "a whole number" if integer else "a number"
    rule = f"{kind} from {minimum:g} to {maximum:g}"
    if not raw:
        return default
    value: float = _parse(name, raw, int if integer else float, rule)
    if math.isnan(value) or not minimum <= value <= maximum:
        raise EnvError(f"{name}={raw!r} is not valid: must be {rule}")
    return value


def number_text(value: float) -> str:
    """How a settings class writes a number for `number` to read back: a whole number without a
    decimal point ("60", as a task definition has it), any other exactly."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def exit_with_usage_error(error: EnvError) -> NoReturn:
    """One clear line on stderr and exit code 2: a configuration mistake, not a crash."""
    print(f"error: {error}", file=sys.stderr)
    raise SystemExit(USAGE_EXIT_CODE)
