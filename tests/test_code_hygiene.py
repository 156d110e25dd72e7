"""Code, comments and names speak of this repository alone.

Every source file git knows (tracked, or new and not ignored) is scanned line by line; a line
fails when it cites an issue tracker ("issue 5", "ISSUE-3", a GitHub issue link), names a path
outside the repository (a sibling `shared` folder, an upper-case document such as `NOTES.md`
that the repository does not hold), or says "seed" for anything but random-number seeding (the
design this project implements is "the reference design", or its policy's own name). A failure
names file:line and the rule.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

from tests.conftest import REPO_ROOT

SOURCE_SUFFIXES = frozenset({".py", ".js", ".sh", ".toml", ".yaml", ".yml", ".cfg"})
SOURCE_NAMES = frozenset({"Makefile", "Dockerfile"})
# This file spells out what it looks for.
SELF = PurePosixPath(Path(__file__).resolve().relative_to(REPO_ROOT).as_posix())

ISSUE_CITATION = re.compile(
    r"\bissues?\s*#?\s*\d+"  # issue 5, issue #12
    r"|\b(?:ISSUE|TICKET|BUG|JIRA)-\d+"  # ISSUE-3
    r"|github\.com/[\w.-]+/[\w.-]+/(?:issues|pull)/\d+",  # a tracker link
    re.IGNORECASE,
)
OUTSIDE_PATH = re.compile(r"(?:\.\./)+shared\b|/work/shared\b")
UPPER_CASE_DOCUMENT = re.compile(r"\b[A-Z][A-Z0-9_-]*\.md\b")
SEED_WORD = re.compile(r"\w*seed\w*", re.IGNORECASE)
# Names that can only be about a random-number seed, alone or within a longer name.
RANDOM_SEED_NAMES = frozenset({"hashseed", "fuzz_seed", "random_seed", "rng_seed"})
SEED_WORDS = frozenset({"seed", "seeds", "seeded", "seeding"})
# A line about random numbers: a generator, a fuzz, or the simulator's --seed option...
RANDOM_CONTEXT = re.compile(r"random|\brng\b|fuzz|--seed\b", re.IGNORECASE)
# ...or a lower-case seed variable: `seed: int`, `seed=...`, `options.seed`, `(seed`,
# `for seed in`, `"seed": 1`.
SEED_VARIABLE = re.compile(
    r"\.seed\b|\(seed\b|\bfor seed in\b|\bseed: int\b|\bseed\s*=[^=]|\"seed\":"
)
# Construct ids are Terraform addresses in applied states: GET /queue's keep their prefix.
CONSTRUCT_ID_FILES = frozenset(
    {"modules/constructs/ingest_api.py", "tests/infra/test_ingest_stack.py"}
)
GET_QUEUE_CONSTRUCT_ID = re.compile(r"\"seed(?:_[a-z0-9_]+)?\"")


@dataclass(frozen=True)
class Finding:
    """One line that breaks a rule."""

    path: str
    line_number: int
    rule: str
    line: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line_number}: {self.rule}: {self.line.strip()[:160]}"


def is_source(path: PurePosixPath) -> bool:
    return path.suffix in SOURCE_SUFFIXES or path.name in SOURCE_NAMES


def repository_files(root: Path) -> list[PurePosixPath]:
    """What git tracks, plus new files it does not ignore."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return sorted({PurePosixPath(name) for name in listing.split("\0") if name})


def seed_problem(path: str, line: str) -> bool:
    """Whether `line` says "seed" for something other than random-number seeding."""
    if path in CONSTRUCT_ID_FILES:
        line = GET_QUEUE_CONSTRUCT_ID.sub('""', line)
    for match in SEED_WORD.finditer(line):
        word = match.group().lower()
        if any(name in word for name in RANDOM_SEED_NAMES):
            continue
        if word in SEED_WORDS and (RANDOM_CONTEXT.search(line) or SEED_VARIABLE.search(line)):
            continue
        return True
    return False


def line_problems(path: str, line: str, documents: frozenset[str]) -> list[str]:
    """The rules `line` of `path` breaks; `documents` are the file names the repository holds."""
    rules = []
    if ISSUE_CITATION.search(line):
        rules.append("cites an issue tracker")
    missing = [name for name in UPPER_CASE_DOCUMENT.findall(line) if name not in documents]
    if OUTSIDE_PATH.search(line) or missing:
        rules.append("names a path outside the repository")
    if seed_problem(path, line):
        rules.append('says "seed" for the reference design (or a policy: name it)')
    return rules


def findings(root: Path) -> list[Finding]:
    files = repository_files(root)
    documents = frozenset(path.name for path in files)
    found = []
    for path in files:
        if path == SELF or not is_source(path) or not (root / path).is_file():
            continue
        text = (root / path).read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            for rule in line_problems(path.as_posix(), line, documents):
                found.append(Finding(path.as_posix(), number, rule, line))
    return found


def test_sources_cite_no_tracker_no_outside_path_and_no_seed() -> None:
    found = findings(REPO_ROOT)

    assert not found, "\n".join(str(finding) for finding in found)


@pytest.mark.parametrize(
    ("path", "line", "rule"),
    [
        ("modules/cdk.py", "# The fast path (issue 5): jsii adopts the kernel", "issue tracker"),
        ("pyproject.toml", "  # plots (issue #10); no display", "issue tracker"),
        ("Makefile", "\t@# see [ISSUE-3]", "issue tracker"),
        ("a.js", "// github.com/hashicorp/terraform-cdk/issues/1723", "issue tracker"),
        ("tests/a.py", '"""See ../shared/NOTES.md."""', "outside the repository"),
        ("tests/a.py", "# the method is in NOTES.md", "outside the repository"),
        ("simulator/a.py", '"""The seed\'s policy."""', '"seed"'),
        ("modules/a.py", "Queue depth reproduces the seed: target tracking", '"seed"'),
        ("simulator/cli.py", 'help="its defaults (queue-depth: the seed)",', '"seed"'),
        ("costs/prices.yaml", "  consumer_workload: seed", '"seed"'),
        ("simulator/a.py", "SEED_STEPS = (", '"seed"'),
        ("simulator/a.py", "def seed_policy() -> Spec:", '"seed"'),
        ("simulator/a.py", 'if kind == "seed" and not argument:', '"seed"'),
        ("modules/constructs/ingest_api.py", "    SEED = 'GET /queue'", '"seed"'),
    ],
)
def test_a_planted_line_is_named_with_its_rule(path: str, line: str, rule: str) -> None:
    problems = line_problems(path, line, frozenset({"README.md"}))

    assert any(rule in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("simulator/engine.py", "        self.rng = random.Random(scenario.seed)"),
        ("simulator/runner.py", "    seed: int = 1"),
        ("simulator/cli.py", '    common.add_argument("--seed", type=int, default=1)'),
        ("simulator/cli.py", '    "seed": 1,'),
        ("tests/a.py", "    for seed in range(CASES):"),
        ("tests/a.py", '    env = {**os.environ, "PYTHONHASHSEED": "0"}'),
        ("tests/a.py", "    rng = random.Random(FUZZ_SEED)"),
        ("tests/a.py", "Then a bounded, seeded fuzz of the same."),
        (
            "modules/constructs/ingest_api.py",
            'IDS = {Route.MESSAGES: "messages", Route.QUEUE: "seed"}',
        ),
        (
            "tests/infra/test_ingest_stack.py",
            '    method = by_construct(stack, METHOD)["seed_method"]',
        ),
        (
            "README.md",
            'Reference: README.md, "Configuration reference".',
        ),
        (".github/workflows/a.yml", '  gh api "repos/$REPO/issues/$PR/comments"'),
        ("modules/stacks/base.py", 'REPO_ROOT_FROM_STACK_DIR = PurePosixPath("../../..")'),
    ],
)
def test_a_line_about_the_repository_or_random_seeds_passes(path: str, line: str) -> None:
    assert line_problems(path, line, frozenset({"README.md"})) == []
