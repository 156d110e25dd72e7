"""The engines that can synthesize the stacks: CDKTF, and CDK Terrain, its maintained fork.

CDKTF (`cdktf`, `cdktf-cdktf-provider-aws`) was archived upstream in December 2025. CDK Terrain
(`cdktn`, `cdktn-provider-aws`) is its community fork, API-compatible up to the package names;
modules/cdk.py imports whichever this interpreter runs, under the same names. Both write the
same stacks: tests/infra/test_engines.py compares them and lists the few differences, and why.

cdktf is the default and lives in the project's venv. cdktn needs newer `constructs` and `jsii`
than the project pins, so it lives in a venv of its own, `<venv>/tools/cdktn`, installed on first
use from pyproject.toml: its dependency group `cdktn`, plus the project's own pins of what a synth
imports besides the engine (SYNTH_DEPENDENCIES). Its CLI (npm `cdktn-cli`, with the Node.js 22
it requires) is installed beside it, also on first use, for `make deploy`.

Which engine synthesizes: `CDK_ENGINE` if set (to try one without editing a file), else
`engine:` in platform.yaml. main.py reads that one line first, so that it can start the right
jsii kernel before the configuration loads, and checks it against the loaded configuration
afterwards; when the engine is not installed in this interpreter, main.py runs again with the
engine venv's Python.

Only the standard library is imported here: main.py runs this before anything else.

    python -m modules.engine install cdktn   # the engine's venv (and nothing when it is current)
    python -m modules.engine cli deploy producer   # the configured engine's CLI, e.g. deploy
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

__all__ = [
    "CDKTF",
    "CDKTN",
    "DEFAULT",
    "ENGINES",
    "ENGINE_ENV",
    "SYNTH_DEPENDENCIES",
    "WHEN_CHOSEN",
    "Engine",
    "EngineError",
    "active",
    "choose",
    "configured",
    "confirm",
    "ensure_cli",
    "ensure_installed",
    "installed_here",
    "named",
    "requirements",
    "run_main_with",
    "venv",
    "wanted",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = REPO_ROOT / "pyproject.toml"
PROJECT_FILE = "platform.yaml"
MAIN = REPO_ROOT / "main.py"
ENGINE_ENV = "CDK_ENGINE"
TOOLS_DIR = "tools"  # <venv>/tools/<name>: beside the project's venv, and gone with it
# What a synth imports besides the engine (checked: tests/infra/test_engines.py synthesizes in
# the engine's venv, which holds nothing else).
SYNTH_DEPENDENCIES = ("pydantic", "PyYAML", "jsonschema")
# The installs take about a minute each; a slow mirror gets the rest.
INSTALL_TIMEOUT_SECONDS = 900.0
# The `engine:` line of platform.yaml, as written there; anything else is left to the config
# loader (main.py then corrects a wrong guess, see `confirm`).
ENGINE_LINE = re.compile(r"^engine:[ \t]*([\"']?)([a-z]+)\1[ \t]*(?:#.*)?$", re.MULTILINE)
# Enough for any platform.yaml; the config loader bounds and checks the whole file.
ENGINE_LINE_SEARCH_BYTES = 65536


class EngineError(Exception):
    """An engine is unknown, not installed here, or could not be installed; the message says
    which and what to do."""


@dataclass(frozen=True)
class Engine:
    """One engine: its packages, where it is installed, and its CLI."""

    name: str  # as platform.yaml's `engine` and CDK_ENGINE name it
    title: str
    core_package: str  # the Python package (and npm package) of the core library
    provider_package: str  # the Python package of the prebuilt AWS provider binding
    provider_assembly: str  # the binding's jsii assembly (and npm package)
    cli: str  # the CLI's command (cdktf deploy, cdktn deploy)
    # npm packages of the CLI, installed beside the engine's venv on first use and run with
    # their own bin folder first on PATH; empty: the project's package.json pins it (`npm ci`).
    cli_packages: tuple[str, ...] = ()

    @property
    def own_venv(self) -> bool:
        """True when the engine lives in `<venv>/tools/<name>`, not in the project's venv."""
        return self.name != DEFAULT.name

    @property
    def assembly_packages(self) -> tuple[str, ...]:
        """Its jsii packages in the order jsii loads them (each `_jsii` imports its
        dependencies' first)."""
        return ("constructs", self.core_package, self.provider_package)


CDKTF = Engine(
    "cdktf", "CDKTF", "cdktf", "cdktf_cdktf_provider_aws", "@cdktf/provider-aws", cli="cdktf"
)
CDKTN = Engine(
    "cdktn",
    "CDK Terrain",
    "cdktn",
    "cdktn_provider_aws",
    "@cdktn/provider-aws",
    cli="cdktn",
    # npm, so not in pyproject.toml: the CLI of the same release, and the Node.js it requires
    # (>= 22.19; its bundle fails on Node 20), which the `node` package ships as a binary.
    cli_packages=("cdktn-cli@0.24.0", "node@22.23.3"),
)
DEFAULT = CDKTF
ENGINES = {engine.name: engine for engine in (CDKTF, CDKTN)}


def named(name: str) -> Engine:
    """The engine called `name`, or EngineError listing the known ones."""
    try:
        return ENGINES[name]
    except KeyError:
        known = ", ".join(ENGINES)
        raise EngineError(f"unknown engine '{name[:40]}'; known: {known}") from None


def override() -> Engine | None:
    """The engine CDK_ENGINE names, if it is set."""
    name = os.environ.get(ENGINE_ENV, "")
    return named(name) if name else None


def installed_here(engine: Engine) -> bool:
    """True when this interpreter can import the engine and its provider binding."""
    return all(
        importlib.util.find_spec(package) is not None
        for package in (engine.core_package, engine.provider_package)
    )


# The engine main.py chose for this process (see `choose`), once it did.
_CHOSEN: list[Engine] = []
# Told the engine as soon as main.py has chosen it, before the configuration loads (the fast
# synth path starts its jsii kernel then, so that node boots meanwhile).
WHEN_CHOSEN: list[Callable[[Engine], None]] = []


def active() -> Engine:
    """The engine this interpreter synthesizes with: the one main.py chose, else CDK_ENGINE's
    if it is installed here, else the first installed here.

    Tools import modules/cdk.py too (the pipeline reads image tags from modules/constructs):
    they need its classes, not the engine main.py would run, so CDK_ENGINE naming an engine
    this interpreter lacks is no error there. main.py itself always runs in an interpreter that
    has the engine it chose.
    """
    if _CHOSEN:
        return _CHOSEN[-1]
    preferred = override()
    for candidate in (*([preferred] if preferred else []), *ENGINES.values()):
        if installed_here(candidate):
            return candidate
    raise EngineError(f"{sys.executable} has no engine installed: run `make synth` once")


def configured(root: Path) -> Engine:
    """The engine `root`'s platform.yaml names on an `engine:` line (default: cdktf).

    Only that line is read, so that main.py can start the engine's kernel before the whole
    configuration loads; `confirm` checks the guess against the loaded configuration.
    """
    try:
        with (root / PROJECT_FILE).open("rb") as project:
            head = project.read(ENGINE_LINE_SEARCH_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return DEFAULT  # the config loader reports a missing or unreadable file
    found = ENGINE_LINE.search(head)
    return ENGINES.get(found.group(2), DEFAULT) if found else DEFAULT


def wanted(root: Path) -> Engine:
    """The engine to synthesize `root`'s configuration with: CDK_ENGINE's, else platform.yaml's."""
    chosen = override()
    return chosen if chosen is not None else configured(root)


# --- where each engine is installed -------------------------------------------------------


def project_prefix() -> Path:
    """The project's venv, also when this interpreter is an engine's own venv inside it."""
    prefix = Path(sys.prefix)
    if prefix.parent.name == TOOLS_DIR and prefix.name in ENGINES:
        return prefix.parent.parent
    return prefix


def venv(engine: Engine) -> Path:
    return project_prefix() / TOOLS_DIR / engine.name if engine.own_venv else project_prefix()


def python(engine: Engine) -> Path:
    return venv(engine) / "bin" / "python"


def requirements(engine: Engine, pyproject: Path = PYPROJECT) -> list[str]:
    """What the engine's own venv holds: its dependency group, then the project's pins of
    SYNTH_DEPENDENCIES (so that both engines read the configuration with the same code)."""
    try:
        data = tomllib.loads(pyproject.read_text())
        group = [str(item) for item in data["dependency-groups"][engine.name]]
        project = [str(item) for item in data["project"]["dependencies"]]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as error:
        raise EngineError(f"{pyproject}: no pins for {engine.name} ({error!r})") from None
    wanted_names = {name.lower() for name in SYNTH_DEPENDENCIES}
    shared = [item for item in project if _requirement_name(item) in wanted_names]
    if len(shared) != len(wanted_names):
        raise EngineError(f"{pyproject}: [project] dependencies lack one of {SYNTH_DEPENDENCIES}")
    return [*group, *shared]


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].strip().lower()


def ensure_installed(engine: Engine, pyproject: Path = PYPROJECT) -> Path:
    """The engine's Python, its venv installed first if missing or not what pyproject pins."""
    if not engine.own_venv:
        return python(engine)  # the project's venv: `make` installs it
    folder = venv(engine)
    stamp, wanted_text = folder / "requirements.txt", "\n".join(requirements(engine, pyproject))
    with _install_lock(folder):
        if python(engine).is_file() and _read(stamp) == wanted_text:
            stamp.touch()  # for make: the target is current
            return python(engine)
        print(
            f"installing {engine.title} into {folder} (about a minute, once)",
            file=sys.stderr,
            flush=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(folder)], f"creating {folder}")
        pip = [str(python(engine)), "-m", "pip", "install", "--quiet"]
        _run([*pip, "--disable-pip-version-check", *wanted_text.split("\n")], "pip install")
        stamp.write_text(wanted_text)  # last: an interrupted install is redone next time
    return python(engine)


def ensure_cli(engine: Engine) -> tuple[list[str], dict[str, str]]:
    """The command that runs the engine's CLI and its environment, the CLI installed first
    (beside the engine's venv) if missing."""
    if not engine.cli_packages:
        return ["npx", "--no-install", engine.cli], dict(os.environ)  # package.json's (`npm ci`)
    folder = venv(engine) / "cli"
    bin_dir, stamp = folder / "node_modules" / ".bin", folder / "installed.txt"
    wanted_text = "\n".join(engine.cli_packages)
    with _install_lock(folder):
        if not ((bin_dir / engine.cli).exists() and _read(stamp) == wanted_text):
            print(f"installing {', '.join(engine.cli_packages)} into {folder}", file=sys.stderr)
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            npm = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder)]
            _run([*npm, *engine.cli_packages], f"npm install {' '.join(engine.cli_packages)}")
            stamp.write_text(wanted_text)
    path = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "/usr/bin:/bin")])
    return [str(bin_dir / engine.cli)], {**os.environ, "PATH": path}


@contextlib.contextmanager
def _install_lock(folder: Path) -> Iterator[None]:
    """One install at a time (a test session and a synth may both want the engine)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with (folder.parent / f".{folder.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _run(command: list[str], what: str) -> None:
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EngineError(f"{what} failed: {error}") from None
    if completed.returncode != 0:
        lines = (completed.stderr or completed.stdout).strip().splitlines()
        raise EngineError(f"{what} failed (exit {completed.returncode}): {' / '.join(lines[-5:])}")


# --- main.py: synthesize with the wanted engine --------------------------------------------


def choose(root: Path, argv: Sequence[str]) -> Engine:
    """The engine main.py synthesizes `root` with; runs main.py again with that engine's Python
    (installed first, if need be) when this interpreter does not have it."""
    chosen = wanted(root)
    if not installed_here(chosen):
        run_main_with(chosen, argv)
    _CHOSEN.append(chosen)
    for listener in WHEN_CHOSEN:
        listener(chosen)
    return chosen


def confirm(chosen: Engine, configured_name: str) -> Engine | None:
    """The engine to run main.py again with, if the loaded configuration names another than
    the one `choose` read from its `engine:` line (an unusual spelling); else None."""
    if override() is not None or configured_name == chosen.name:
        return None
    return named(configured_name)


def run_main_with(engine: Engine, argv: Sequence[str]) -> NoReturn:
    """Replace this process with main.py run by `engine`'s Python, told its engine."""
    executable = str(ensure_installed(engine))
    atexit._run_exitfuncs()  # this program ends here (a jsii kernel it started stops)
    sys.stdout.flush()
    sys.stderr.flush()
    env = {**os.environ, ENGINE_ENV: engine.name}
    os.execve(executable, [executable, str(MAIN), *argv], env)


# --- the command line ---------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["install"] and len(args) <= 2:
            engine = named(args[1]) if len(args) == 2 else wanted(REPO_ROOT)
            print(ensure_installed(engine))
            return 0
        if args[:1] == ["cli"]:
            return _run_cli(args[1:])
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("usage: python -m modules.engine install [ENGINE] | cli ARGS...", file=sys.stderr)
    return 2


def _run_cli(args: list[str]) -> int:
    """The configured engine's CLI with `args` (e.g. `deploy producer`), in the repository."""
    from modules.config import ConfigError, load_config

    chosen = override()
    if chosen is None:
        try:
            chosen = named(load_config(REPO_ROOT).project.engine)
        except ConfigError as error:
            raise EngineError("; ".join(error.problems)) from None
    command, env = ensure_cli(chosen)
    return subprocess.run([*command, *args], cwd=REPO_ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
