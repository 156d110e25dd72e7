"""Code, comments and names speak of this repository alone.

Every source file git knows (tracked, or new and not ignored) is scanned line by line; a line
fails when it cites an issue tracker ("issue 5", "ISSUE-3", a GitHub issue link), names a path
outside the repository (a sibling `shared` folder, an upper-case document such as `NOTES.md`
that the repository does not hold), or says "seed" for anything but random-number seeding (the
design this project implements is "the reference design", or its policy's own name). A failure
names file:line and the rule.

No Python file imports a test module (`test_*.py`, `*_test.py`): what tests share lives in a
conftest.py (fixtures) or a helper module beside them, so running or moving one test file never
depends on another. A failure names file:line and the module imported.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers.repository import repository_files

if TYPE_CHECKING:
    from collections.abc import Iterator

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


def source_files() -> list[PurePosixPath]:
    return [PurePosixPath(name) for name in repository_files()]


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
    files = source_files()
    documents = frozenset(path.name for path in files)
    found = []
    for path in files:
        if path == SELF or not is_source(path):
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


# --- no test module imports another ------------------------------------------------------------


def is_test_module(dotted: str) -> bool:
    """Whether `dotted` names what pytest collects: a test_*.py or *_test.py module, or a test
    function imported from one."""
    name = dotted.rpartition(".")[2]
    return name.startswith("test_") or name.endswith("_test")


def imported_names(path: str, source: str) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every module `source` (the file at `path`) imports, relative
    imports resolved against its package. `from package import name` yields `package.name` as
    well: the name may be a module."""
    package = list(PurePosixPath(path).parent.parts)
    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def imports_of_test_modules(path: str, source: str) -> list[str]:
    """`path:line: imports <module>` for each import of a test module in `source`."""
    return sorted(
        {
            f"{path}:{line}: imports {name}, a test module"
            for line, name in imported_names(path, source)
            if is_test_module(name)
        }
    )


def test_no_python_file_imports_a_test_module() -> None:
    found = [
        problem
        for path in source_files()
        if path.suffix == ".py"
        for problem in imports_of_test_modules(
            path.as_posix(), (REPO_ROOT / path).read_text(encoding="utf-8")
        )
    ]

    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("path", "source", "imported"),
    [
        (
            "tests/config/test_a.py",
            "from tests.config.test_bad_configs import run_main\n",
            "tests/config/test_a.py:1: imports tests.config.test_bad_configs,",
        ),
        (
            "tests/devtools/test_a.py",
            "import os\n\nfrom .test_local import LocalRun\n",
            "tests/devtools/test_a.py:3: imports tests.devtools.test_local,",
        ),
        (
            "tests/devtools/test_a.py",
            "from . import conftest, test_local\n",
            "tests/devtools/test_a.py:1: imports tests.devtools.test_local,",
        ),
        (
            "tests/infra/parts/test_a.py",
            "from ..test_consumer_stack import queue_ref\n",
            "tests/infra/parts/test_a.py:1: imports tests.infra.test_consumer_stack,",
        ),
        (
            "tests/infra/conftest.py",
            "if TYPE_CHECKING:\n    import tests.infra.test_consumer_stack as consumer\n",
            "tests/infra/conftest.py:2: imports tests.infra.test_consumer_stack,",
        ),
        (
            "tests/a.py",
            "def helper():\n    from tests.config.support import test_edit\n",
            "tests/a.py:2: imports tests.config.support.test_edit,",
        ),
        (
            "workers/a/handler.py",
            "from workers.a.handler_test import CASES\n",
            "workers/a/handler.py:1: imports workers.a.handler_test,",
        ),
    ],
)
def test_a_planted_test_module_import_is_named_with_its_line(
    path: str, source: str, imported: str
) -> None:
    problems = imports_of_test_modules(path, source)

    assert any(problem.startswith(imported) for problem in problems), problems


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("tests/infra/test_a.py", "from tests.infra.stack_json import queue_ref\n"),
        ("tests/config/test_a.py", "from .support import run_main, set_key\n"),
        ("tests/devtools/test_a.py", "from . import conftest\nfrom .local_run import LocalRun\n"),
        ("tests/a.py", "import pytest\nfrom tests.conftest import REPO_ROOT\n"),
        ("tests/a.py", "from tests.helpers.toolchains import linter\n"),
        ("tests/a.py", '"""from tests.config.test_bad_configs import run_main"""\n'),
    ],
)
def test_an_import_of_a_helper_or_conftest_passes(path: str, source: str) -> None:
    assert imports_of_test_modules(path, source) == []
