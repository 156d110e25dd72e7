"""What `make synth` checks in each container service's folder before writing anything.

The platform runs a service's code by convention (workers.runtime.kinds): its handler module
(`handler.py`, or what `handler:` in service.yaml names) must define the kind's function with a
signature the runtime can call, its `requirements.txt` must exist (the image installs it), and a
Dockerfile of its own, if it has one, must build from its own folder and the shared runtime and
keep the platform's entry point. Found at synth, each is a line of the same report as a config
problem; found after apply, it is a task that never starts.

The handler is read with `ast`, never imported: checking it needs none of its dependencies.
"""

from __future__ import annotations

import ast
import json
import posixpath
import re
from typing import TYPE_CHECKING

from modules.config.discovery import SERVICE_FILE, WORKERS_DIR
from modules.config.services import ServiceBase

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from workers.runtime.kinds import Kind

REQUIREMENTS_FILE = "requirements.txt"
DOCKERFILE = "Dockerfile"
# What an image may take from the build context (workers/) besides the service's own folder.
SHARED_SOURCES = ("__init__.py", "runtime")
PLATFORM_ENTRYPOINT = ["python", "-m", "workers.runtime"]
# The build argument workers/build_and_push.sh passes: the service's folder name.
SERVICE_ARG = "SERVICE"
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
# ADD's remote sources are not the build context.
_REMOTE = re.compile(r"[a-z][a-z0-9+.-]*://|git@")


def code_problems(root: Path, services: Iterable[object]) -> list[str]:
    """Every problem of every container service's code under `root`, one line each."""
    problems: list[str] = []
    for service in services:
        if isinstance(service, ServiceBase):
            folder = root / WORKERS_DIR / service.name
            problems += handler_problems(folder, service)
            problems += requirements_problems(folder)
            problems += dockerfile_problems(folder)
    return problems


# --- The handler ----------------------------------------------------------------------------


def handler_problems(folder: Path, service: ServiceBase) -> list[str]:
    kind = service.runtime_kind
    module = service.handler_module
    path = _module_file(folder, module)
    label = f"{WORKERS_DIR}/{folder.name}/{_relative(folder, path, module)}"
    if path is None:
        return [_missing_module(folder.name, service, kind)]
    try:
        tree = ast.parse(path.read_bytes(), filename=label)
    except SyntaxError as error:
        return [f"{label}: line {error.lineno}: {error.msg}; the handler must be valid Python"]
    except (OSError, ValueError) as error:
        return [f"{label}: cannot be read ({error})"]
    problem = signature_problem(tree, service.handler_function, kind)
    return [] if problem is None else [f"{label}: {problem}"]


def _module_file(folder: Path, module: str) -> Path | None:
    base = folder.joinpath(*module.split("."))
    for candidate in (base.with_name(f"{base.name}.py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _relative(folder: Path, path: Path | None, module: str) -> str:
    if path is None:
        return f"{module.replace('.', '/')}.py"
    return path.relative_to(folder).as_posix()


def _missing_module(service: str, spec: ServiceBase, kind: Kind) -> str:
    expected = f"{spec.handler_module.replace('.', '/')}.py"
    if spec.handler is None:
        return (
            f"{WORKERS_DIR}/{service}/{expected}: missing; a {spec.kind_name} service defines "
            f"`def {kind.signature}` there (or names another module in {SERVICE_FILE}: handler)"
        )
    return (
        f"{WORKERS_DIR}/{service}/{SERVICE_FILE}: handler: no module "
        f"'{spec.handler_module}' in {WORKERS_DIR}/{service} (no {expected})"
    )


def signature_problem(tree: ast.Module, name: str, kind: Kind) -> str | None:
    """Why the module's top-level `name` cannot be called as the runtime calls it, or None."""
    binding = _last_binding(tree, name)
    if binding is None:
        return f"defines no function '{name}'; the runtime calls `{kind.signature}`"
    if isinstance(binding, ast.AsyncFunctionDef):
        return f"'{name}' is async; the runtime calls a plain function, `{kind.signature}`"
    if not isinstance(binding, ast.FunctionDef):
        return (
            f"'{name}' is not defined here with def (line {binding.lineno}), so its signature "
            f"cannot be checked; define `def {kind.signature}` in this module"
        )
    if not _callable_with(binding.args, len(kind.parameters)):
        return (
            f"'{name}' cannot be called as `{kind.signature}` (line {binding.lineno}): it must "
            f"take exactly {len(kind.parameters)} positional argument(s)"
        )
    return None


def _last_binding(tree: ast.Module, name: str) -> ast.stmt | None:
    """The last top-level statement that binds `name` (Python keeps the last one)."""
    found = None
    for statement in tree.body:
        if name in _bound_names(statement):
            found = statement
    return found


def _bound_names(statement: ast.stmt) -> set[str]:
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign | ast.AugAssign):
        targets = [statement.target]
    return {
        node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)
    }


def _callable_with(arguments: ast.arguments, count: int) -> bool:
    """Whether a function with these parameters accepts `count` positional arguments alone."""
    positional = [*arguments.posonlyargs, *arguments.args]
    required = len(positional) - len(arguments.defaults)
    keyword_only_required = any(default is None for default in arguments.kw_defaults)
    fits = required <= count and (count <= len(positional) or arguments.vararg is not None)
    return fits and not keyword_only_required


# --- requirements.txt -----------------------------------------------------------------------


def requirements_problems(folder: Path) -> list[str]:
    if (folder / REQUIREMENTS_FILE).is_file():
        return []
    return [
        f"{WORKERS_DIR}/{folder.name}/{REQUIREMENTS_FILE}: missing; the image installs it: list "
        "the service's own pinned dependencies, or leave it empty (the runtime's come with "
        f"every image, {WORKERS_DIR}/runtime/{REQUIREMENTS_FILE})"
    ]


# --- A Dockerfile of the service's own ------------------------------------------------------


def dockerfile_problems(folder: Path) -> list[str]:
    """A service's own Dockerfile (optional) builds from its folder and the shared runtime, with
    the workers/ folder as context, and keeps the platform's entry point."""
    path = folder / DOCKERFILE
    if not path.is_file():
        return []
    label = f"{WORKERS_DIR}/{folder.name}/{DOCKERFILE}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as error:
        return [f"{label}: cannot be read ({error})"]
    instructions = list(_instructions(text))
    if not any(keyword == "FROM" for _, keyword, _ in instructions):
        return [f"{label}: has no FROM instruction"]
    variables = {**_arg_defaults(instructions), SERVICE_ARG: folder.name}
    problems = [
        f"{label}: line {line}: {problem}"
        for line, keyword, rest in instructions
        if keyword in ("COPY", "ADD")
        for problem in _copy_problems(folder, keyword, rest, variables)
    ]
    entrypoints = [rest for _, keyword, rest in instructions if keyword == "ENTRYPOINT"]
    if not entrypoints or _json_list(entrypoints[-1]) != PLATFORM_ENTRYPOINT:
        problems.append(
            f"{label}: the final ENTRYPOINT must be {json.dumps(PLATFORM_ENTRYPOINT)}, the "
            "platform's entry point (the task definition says which kind and handler it runs)"
        )
    return problems


def _instructions(text: str) -> Iterator[tuple[int, str, str]]:
    """(line, KEYWORD, arguments) of each instruction: comments dropped, continuations joined."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        start = start if pending else number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        keyword, _, rest = " ".join([*pending, stripped]).partition(" ")
        pending = []
        yield start, keyword.upper(), rest.strip()


def _arg_defaults(instructions: list[tuple[int, str, str]]) -> dict[str, str]:
    defaults = {}
    for _, keyword, rest in instructions:
        if keyword == "ARG":
            for item in rest.split():
                name, has_default, value = item.partition("=")
                if has_default:
                    defaults[name] = value.strip("\"'")
    return defaults


def _copy_problems(folder: Path, keyword: str, rest: str, variables: dict[str, str]) -> list[str]:
    words = rest.split()
    flags = [word for word in words if word.startswith("--")]
    if any(flag.startswith("--from") for flag in flags):
        return []  # from another stage or image, not the build context
    items = _json_list(rest[len(" ".join(flags)) :].strip()) or words[len(flags) :]
    problems = []
    for source in items[:-1]:
        if keyword == "ADD" and _REMOTE.match(source):
            continue
        expanded = _VARIABLE.sub(lambda match: variables.get(match[1] or match[2], ""), source)
        problem = _source_problem(folder, source, expanded)
        if problem is not None:
            problems.append(f"{keyword} {source}: {problem}")
    return problems


def _source_problem(folder: Path, source: str, expanded: str) -> str | None:
    relative = posixpath.normpath(expanded.lstrip("/") or ".")
    top = relative.split("/")[0]
    if top not in (folder.name, *SHARED_SOURCES):
        return (
            f"an image is built from its own folder ({folder.name}/, or ${{{SERVICE_ARG}}}/) and "
            f"the shared {', '.join(SHARED_SOURCES)}; the build context is {WORKERS_DIR}/"
        )
    if (
        not any(character in relative for character in "*?[")
        and not (folder.parent / relative).exists()
    ):
        return f"{WORKERS_DIR}/{relative} does not exist"
    return None


def _json_list(text: str) -> list[str] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None
