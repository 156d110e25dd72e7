"""What `make synth` checks in each container service's folder before writing anything.

The platform runs a service's code by convention (workers.runtime.kinds): its handler module
(`handler.py`, or what `handler:` in service.yaml names) must define the kind's function with a
signature the runtime can call, its `requirements.txt` must exist (the image installs it), and a
Dockerfile of its own, if it has one, must build from its own folder and the shared runtime and
keep the platform's entry point. Found at synth, each is a line of the same report as a config
problem; found after apply, it is a task that never starts.

The handler is read with `ast`, never imported: checking it needs none of its dependencies. The
Dockerfile is split as docker splits it (modules.dockerfile), so its line numbers are docker's.
"""

from __future__ import annotations

import ast
import json
import posixpath
from typing import TYPE_CHECKING

from modules import dockerfile
from modules.config.discovery import SERVICE_FILE, WORKERS_DIR
from modules.config.services import ServiceBase
from modules.dockerfile import DockerfileSyntaxError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from modules.dockerfile import Dockerfile, Instruction
    from workers.runtime.kinds import Kind

REQUIREMENTS_FILE = "requirements.txt"
DOCKERFILE = "Dockerfile"
# What an image may take from the build context (workers/) besides the service's own folder.
SHARED_SOURCES = ("__init__.py", "runtime")
PLATFORM_ENTRYPOINT = ["python", "-m", "workers.runtime"]
# The build argument workers/build_and_push.sh passes: the service's folder name.
SERVICE_ARG = "SERVICE"


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
    try:
        parsed = dockerfile.parse(text)
        return [f"{label}: {problem}" for problem in _parsed_dockerfile_problems(folder, parsed)]
    except DockerfileSyntaxError as error:
        where = "" if error.line is None else f"line {error.line}: "
        return [f"{label}: {where}{error.reason}"]


def _parsed_dockerfile_problems(folder: Path, parsed: Dockerfile) -> list[str]:
    instructions = parsed.instructions
    if not any(instruction.keyword == "FROM" for instruction in instructions):
        return ["has no FROM instruction"]
    variables = {**_arg_defaults(parsed), SERVICE_ARG: folder.name}
    problems = [
        f"line {instruction.line}: {problem}"
        for instruction in instructions
        for problem in _instruction_problems(folder, instruction, variables, parsed.escape)
    ]
    entrypoints = [i.arguments for i in instructions if i.keyword == "ENTRYPOINT"]
    if not entrypoints or dockerfile.json_list(entrypoints[-1]) != PLATFORM_ENTRYPOINT:
        problems.append(
            f"the final ENTRYPOINT must be {json.dumps(PLATFORM_ENTRYPOINT)}, the "
            "platform's entry point (the task definition says which kind and handler it runs)"
        )
    return problems


def _arg_defaults(parsed: Dockerfile) -> dict[str, str]:
    """Each ARG's default, the earlier ones expanded in the later (docker's order)."""
    defaults: dict[str, str] = {}
    for instruction in parsed.instructions:
        if instruction.keyword != "ARG":
            continue
        try:
            items = dockerfile.words(instruction.arguments, defaults, parsed.escape)
        except DockerfileSyntaxError as error:
            raise DockerfileSyntaxError(error.reason, instruction.line) from error
        for item in items:
            name, has_default, value = item.partition("=")
            if has_default:
                defaults[name] = value
    return defaults


def _instruction_problems(
    folder: Path, instruction: Instruction, variables: dict[str, str], escape: str
) -> list[str]:
    keyword = instruction.keyword
    if keyword not in dockerfile.KEYWORDS:
        return [f"unknown instruction {keyword}: docker refuses to build this Dockerfile"]
    if keyword not in ("COPY", "ADD"):
        return []
    flags, rest = dockerfile.split_flags(instruction.arguments)
    if any(flag.name == "from" for flag in flags):
        return []  # from another stage or image, not the build context
    problems = []
    for source in (dockerfile.json_list(rest) or rest.split())[:-1]:
        if (keyword == "ADD" and dockerfile.is_remote_source(source)) or _is_heredoc(
            instruction, source
        ):
            continue
        problem = _source_problem(folder, source, dockerfile.expand(source, variables, escape))
        if problem is not None:
            problems.append(f"{keyword} {source}: {problem}")
    return problems


def _is_heredoc(instruction: Instruction, source: str) -> bool:
    """`<<EOF`: a file the Dockerfile writes inline, not one from the build context."""
    return bool(instruction.heredocs) and source.lstrip("0123456789").startswith("<<")


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
