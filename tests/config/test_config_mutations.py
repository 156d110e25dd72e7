"""Property: no mutation of the example configs makes the loader crash, hang or talk without end.

Each case takes one of the example files (platform.yaml, workers/*/service.yaml) in a copy of the
repository, applies a few random edits (seeded: a failure names its seed and replays exactly),
and loads the configuration in process, within a time limit. Whatever the edit, the answer is a
configuration or a ConfigError whose every line is one bounded `file: ...` line. A few cases also
run `main.py` itself: exit code 2, "nothing was written", and no output folder.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from modules.config import ConfigError, load_config
from tests.config.support import MAIN_TIMEOUT_SECONDS, run_main

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

CASES = 300
MAIN_CASES = 5
CASE_SECONDS = 5
MAX_LINE_CHARS = 600
# A file's problems are capped at 20 plus one "more not shown" line; the cross-file checks add a
# few per service.
MAX_LINES = 80
FILES = (
    "platform.yaml",
    "workers/consumer/service.yaml",
    "workers/producer/service.yaml",
    "workers/reporter/service.yaml",
    "workers/ingest/service.yaml",
    "workers/crunch/service.yaml",
)
LABELS = (*FILES, "workers/")
# Characters that mean something to YAML, plus a few that are trouble elsewhere.
SYNTAX = "&*<>!|{}[]:,-#'\"?%@`\t\n\\ ~=.0123456789e+"
ODD_TEXT = ("\x00", "\x1b[31m", "\u202e", "\ud7ff", "é", "💥", "\r\n", "\ufeff")
SNIPPETS = (
    "&a ",
    "*a",
    "<<: ",
    "!!python/object:os.system ",
    "!!binary ",
    "!!set ",
    "? ",
    "--- ",
    "... ",
    ".inf",
    "-.inf",
    ".nan",
    "1e999",
    "0x1F",
    "0o17",
    "1_000",
    "12:30:00",
    "2024-01-01",
    "~",
    "null",
    "yes",
    "aws:x",
    "${var.x}",
)


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """A YAML value of any shape, sometimes large or deep."""
    kind = rng.randrange(12 if depth < 3 else 8)
    scalars: list[Any] = [
        None,
        rng.choice((True, False)),
        rng.randint(-(10**30), 10**30),
        rng.choice((0, -1, 1, 2**31, 2**63)),
        rng.uniform(-1e6, 1e6),
        rng.choice((float("inf"), float("-inf"), float("nan"), 1e308, 5e-324)),
        "".join(rng.choice(SYNTAX) for _ in range(rng.randint(0, 40))),
        rng.choice(ODD_TEXT) * rng.randint(1, 5000),
    ]
    if kind < len(scalars):
        return scalars[kind]
    if kind == 8:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    if kind == 9:
        return {
            str(random_value(rng, depth + 1))[:20]: random_value(rng, depth + 1) for _ in range(3)
        }
    if kind == 10:
        return [[[[[[[[[["deep"]]]]]]]]]]
    return ["x" * 10] * rng.randint(100, 3000)


def key_paths(document: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = document.items() if isinstance(document, dict) else enumerate(document)
    for key, value in items:
        yield (*prefix, key)
        if isinstance(value, dict | list):
            yield from key_paths(value, (*prefix, key))


def mutate_structure(text: str, rng: random.Random) -> str:
    """Replace, drop or add one key or item of the parsed document."""
    document = yaml.safe_load(text) or {}
    paths = list(key_paths(document))
    path = rng.choice(paths) if paths else ("new_key",)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    action = rng.randrange(3)
    if action == 0:
        parent[path[-1]] = random_value(rng)
    elif action == 1 and isinstance(parent, dict):
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[rng.choice(("extra", str(path[-1]).upper(), f"{path[-1]}s", ""))] = random_value(rng)
    else:
        parent.append(random_value(rng))
    return yaml.safe_dump(document, allow_unicode=rng.random() < 0.5, sort_keys=False)


def mutate_text(text: str, rng: random.Random) -> str:
    """One edit of the text itself: what a slip of the keyboard or a bad merge does."""
    at = rng.randrange(len(text) + 1)
    end = min(len(text), at + rng.randint(1, 40))
    edits: list[Callable[[], str]] = [
        lambda: text[:at] + text[end:],
        lambda: text[:at] + text[at:end] * rng.randint(2, 500) + text[end:],
        lambda: text[:at]
        + "".join(rng.choice(SYNTAX) for _ in range(rng.randint(1, 8)))
        + text[at:],
        lambda: text[:at] + rng.choice(SNIPPETS) + text[at:],
        lambda: text[:at] + rng.choice(ODD_TEXT) + text[at:],
        lambda: text[:at],
        lambda: "\n".join(rng.sample(text.splitlines(), len(text.splitlines()))),
        lambda: text.replace("  ", rng.choice((" ", "\t", "   ", ""))),
        lambda: text[:at] + "[" * rng.randint(30, 3000) + text[at:],
        lambda: text[:at] + "x" * rng.randint(10_000, 200_000) + text[at:],
    ]
    return rng.choice(edits)()


@dataclass(frozen=True)
class Case:
    seed: int
    file: str
    content: bytes


def make_case(seed: int, originals: dict[str, str]) -> Case:
    rng = random.Random(seed)
    file = rng.choice(FILES)
    text = originals[file]
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.35:
            with contextlib.suppress(yaml.YAMLError, TypeError, KeyError, IndexError):
                text = mutate_structure(text, rng)
        else:
            text = mutate_text(text, rng)
    content = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.05:  # bytes that are not UTF-8
        cut = rng.randrange(len(content) + 1)
        content = content[:cut] + bytes([rng.randrange(0x80, 0x100)]) + content[cut:]
    return Case(seed, file, content)


class CaseTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise CaseTimeout in this (the main) thread if the block runs longer than `seconds`."""

    def expire(_signum: int, _frame: object) -> None:
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def unbounded(problems: list[str]) -> list[str]:
    """The problem lines that break the promise: too long, several lines, or not `file: ...`."""
    bad = [
        problem[:200]
        for problem in problems
        if len(problem) > MAX_LINE_CHARS or "\n" in problem or not problem.startswith(LABELS)
    ]
    if len(problems) > MAX_LINES:
        bad.append(f"{len(problems)} lines")
    return bad


def check(root: Path, case: Case) -> str | None:
    """What went wrong loading `case` (None: an answer that keeps every promise)."""
    (root / case.file).write_bytes(case.content)
    try:
        with time_limit(CASE_SECONDS):
            load_config(root, warn=lambda _warning: None)
    except ConfigError as error:
        bad = unbounded(error.problems)
        return f"seed {case.seed} ({case.file}): {bad}" if bad else None
    except CaseTimeout:
        return f"seed {case.seed} ({case.file}): no answer within {CASE_SECONDS} s"
    except Exception as error:  # any other exception is the failure looked for
        return f"seed {case.seed} ({case.file}): {type(error).__name__}: {str(error)[:300]}"
    return None


@pytest.fixture
def mutable_repo(repo_copy: Callable[[], Path]) -> tuple[Path, dict[str, str]]:
    root = repo_copy()
    return root, {file: (root / file).read_text() for file in FILES}


def test_random_mutations_of_the_examples_never_crash_hang_or_ramble(
    mutable_repo: tuple[Path, dict[str, str]],
) -> None:
    root, originals = mutable_repo
    failures = []
    for seed in range(CASES):
        case = make_case(seed, originals)
        failure = check(root, case)
        if failure is not None:
            failures.append(failure)
        (root / case.file).write_text(originals[case.file])

    assert failures == []


def rejected_cases(root: Path, originals: dict[str, str]) -> Iterator[Case]:
    """Cases the loader rejects, in the order of their random seeds."""
    for seed in range(CASES):
        case = make_case(seed, originals)
        (root / case.file).write_bytes(case.content)
        try:
            load_config(root, warn=lambda _warning: None)
        except ConfigError:
            yield case
        finally:
            (root / case.file).write_text(originals[case.file])


@pytest.mark.slow
def test_main_answers_a_few_mutations_with_exit_2_and_writes_nothing(
    mutable_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, originals = mutable_repo
    cases = list(itertools.islice(rejected_cases(root, originals), MAIN_CASES))
    assert len(cases) == MAIN_CASES
    for case in cases:
        (root / case.file).write_bytes(case.content)
        outdir = tmp_path / f"out-{case.seed}" / "cdktf.out"

        completed = run_main(root, outdir, MAIN_TIMEOUT_SECONDS)

        (root / case.file).write_text(originals[case.file])
        errors = [line for line in completed.stderr.splitlines() if line.startswith("error: ")]
        assert completed.returncode == 2, (case.seed, completed.stderr[-2000:])
        assert (
            completed.stderr.splitlines()[-1] == f"{len(errors)} problem(s); nothing was written."
        )
        assert "Traceback" not in completed.stderr
        assert all(len(line) <= MAX_LINE_CHARS + len("error: ") for line in errors)
        assert not outdir.parent.exists()
