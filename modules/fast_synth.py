"""Fast synth: the jsii costs of a synth, and what we do about each.

A synth is Python driving a node process (the jsii kernel) one request at a time. Plain, a
7-stack synth takes about 11.5 s and 1.4 GB; README "Synth speed" has today's figures from
`make bench-synth`. Everything that makes it fast is here and in ``fast_synth_preload.js``, and
reaches into other projects' private parts: each is listed in :data:`INTERNALS`, and none is used
unless every component has exactly the version of :data:`WRITTEN_FOR`. Two entry points:
main.py runs under :func:`run`, and modules/cdk.py imports the provider through
:func:`provider_binding`; each takes the plain path when :func:`enabled` says no.

1. The provider binding's ``__init__`` imports all ~2,200 submodules in Python, and its node
   ``lib/index.js`` requires them all again (measured: import cost dominates a plain synth).
   :func:`lazy_package` imports the package without its ``__init__``: a submodule loads on first
   attribute access, and its jsii name is registered in ``jsii._reference_map`` so that jsii can
   import a type the kernel returns. The preload answers ``lib/index.js`` with lazy getters.
2. Python waits while node boots and loads three assemblies (~0.3 s). :func:`start_kernel`
   launches the kernel as soon as main.py has chosen the engine and queues the three load
   requests at once, and names the provider submodules this app's code uses so that node
   requires them while idle; meanwhile Python loads the config and its modules. The first jsii
   import adopts that kernel.
3. jsii's node entry point is a relay: it starts the kernel (``lib/program.js``) as a second node
   process and forwards every message through itself. We start ``program.js`` directly, its API
   channel (fd 3) a socket to us: one node process, and each of the ~500 calls is faster.
4. During the build Python waits for the kernel's answer to each request, while the first use
   of each provider submodule costs Python ~2 ms to import. When jsii is asked to create the
   App (the app's modules are all imported by then), :func:`import_provider_submodules_ahead`
   imports them in a background thread, in about the order the build will want them, so that
   most imports happen while Python would be waiting.
5. Every constructor of a binding checks its arguments' types against annotations it evaluates
   anew each call (``typing.get_type_hints`` on a ``_typecheckingstub__`` function: a quarter of
   Python's time per resource). :func:`memoize_binding_type_hints` evaluates each stub once, in
   the binding modules only: their global ``typing`` is a copy whose ``get_type_hints`` keeps
   the stubs' answers; every other module sees typing unchanged. The checks themselves still run.
6. The process: Python's cyclic garbage collector makes ~40 ms of passes over the objects of a
   run that lasts a second, and tearing the interpreter down costs ~0.1 s more.
   :func:`run` runs main.py without either.

``CDK_PLAIN_IMPORTS=1`` switches all six off (benchmarks and the equivalence test compare); a
component of another version does too, with one warning line. All six work alike for both
engines of modules/engine.py (CDKTF and CDK Terrain): the packages come from the active engine,
and the preload knows both layouts. (cdktn's provider binding is already lazy in Python and
memoizes its own type hints; 1 and 5 then cost nothing and change nothing.) Only the standard
library is imported here: main.py starts the kernel before anything else.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import functools
import gc
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from modules import engine

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

PLAIN_IMPORTS_ENV = "CDK_PLAIN_IMPORTS"
# The preload writes what it did to this file, if set (tests read it).
REPORT_ENV = "FAST_SYNTH_REPORT"
# The jsii names of the provider submodules node requires while Python is busy.
WARM_ENV = "FAST_SYNTH_WARM_SUBMODULES"
NODE_PRELOAD = Path(__file__).with_name("fast_synth_preload.js")
# jsii's kernel reads requests from and writes answers to file descriptor 3 (lib/program.js).
KERNEL_API_FD = 3
KERNEL_STOP_SECONDS = 5
NODE_VERSION_TIMEOUT_SECONDS = 30
# Under $XDG_CACHE_HOME (default ~/.cache): node's version per binary, as the preload keeps
# `terraform version`'s.
CACHE_FOLDER_NAME = "fargate-worker-platform"
NODE_VERSIONS_FILE = "node-versions.json"
# The code that uses provider classes, always through `aws.<submodule>` (modules/cdk.py).
APP_CODE = Path(__file__).parent
AWS_ATTRIBUTE = re.compile(r"\baws\.([a-z][a-z0-9_]*)\b")
# How each package's generated _jsii/__init__.py loads its assembly.
ASSEMBLY_LOAD_CALL = re.compile(
    r'JSIIAssembly\.load\(\s*"([^"]+)",\s*"([^"]+)",\s*__name__\[0:-6\],\s*"([^"]+)"\s*\)'
)


def plain_imports() -> bool:
    """True when CDK_PLAIN_IMPORTS asks for the plain, eager imports (for comparison only)."""
    return os.environ.get(PLAIN_IMPORTS_ENV, "") not in ("", "0")


def environment(*, plain: bool) -> dict[str, str]:
    """This process's environment for a synth of the other kind: CDK_PLAIN_IMPORTS=1 or unset."""
    env = {key: value for key, value in os.environ.items() if key != PLAIN_IMPORTS_ENV}
    return {**env, PLAIN_IMPORTS_ENV: "1"} if plain else env


def provider_package() -> str:
    """The Python package of the active engine's AWS provider binding."""
    return engine.active().provider_package


def jsii_name(python_name: str) -> str:
    """The jsii name of a submodule from its Python name: ``sqs_queue`` → ``sqsQueue``."""
    head, *rest = python_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def provider_submodules_in_code(files: Iterable[Path] | None = None) -> list[str]:
    """Python names of the provider submodules `files` use as ``aws.<name>``, in order of
    first appearance (default: every module of the app, modules/**/*.py)."""
    spec = importlib.util.find_spec(provider_package())
    if spec is None or not spec.submodule_search_locations:
        return []
    package = Path(spec.submodule_search_locations[0])
    named = (
        match.group(1)
        for path in (sorted(APP_CODE.rglob("*.py")) if files is None else files)
        for match in AWS_ATTRIBUTE.finditer(path.read_text(encoding="utf-8"))
    )
    return [name for name in dict.fromkeys(named) if (package / name).is_dir()]


# --- 0. when it runs: the versions it was written for, and the internals it relies on ---------

# The exact version of each component the fast path was written and tested for, per engine: the
# assemblies' as their packages' _jsii modules load them, jsii's Python runtime's, node's major
# and Python's minor. Another version of any one switches the whole fast path off.
WRITTEN_FOR: dict[str, dict[str, str]] = {
    "cdktf": {
        "python": "3.11",
        "node": "20",
        "jsii": "1.142.0",
        "constructs": "10.4.2",
        "core": "0.21.0",
        "provider": "21.22.1",
    },
    "cdktn": {
        "python": "3.11",
        "node": "20",
        "jsii": "1.142.0",
        "constructs": "10.7.2",
        "core": "0.24.0",
        "provider": "25.8.1",
    },
}


@dataclass(frozen=True)
class Internal:
    """One private part of another project that the fast path relies on.

    tests/infra/test_fast_synth_guard.py checks each against the versions of WRITTEN_FOR.
    """

    component: str  # the key of WRITTEN_FOR whose version brings it
    name: str  # where it is, as its project names it
    needed_for: str  # what of the fast path breaks without it
    engines: tuple[str, ...] = ("cdktf", "cdktn")  # the engines whose fast path uses it


INTERNALS = (
    Internal(
        "jsii",
        "jsii._reference_map._submodule_fqn_map",
        "jsii imports a provider submodule the lazy package has not loaded (1)",
    ),
    Internal(
        "jsii",
        "jsii._kernel.providers.process._NodeProcess",
        "the adopted kernel is jsii's process class reading and writing _process.stdout and "
        "_process.stdin, with its handshake() and send() (2, 3)",
    ),
    Internal(
        "jsii",
        "jsii._kernel.providers.process.ProcessProvider._process",
        "jsii's kernel process, replaced by the adopted one (2, 3)",
    ),
    Internal(
        "jsii",
        "jsii._kernel.types.LoadRequest",
        "load requests (name, version, tarball) answered from those queued at start (2)",
    ),
    Internal(
        "jsii",
        "jsii._kernel.types.CreateRequest",
        "the App's creation (fqn) starts the import-ahead thread (4)",
    ),
    Internal(
        "jsii",
        "jsii/_embedded/jsii/lib__program.js",
        "the kernel, started without jsii's relay, with its worker beside it (3)",
    ),
    Internal(
        "jsii",
        "jsii/_embedded/jsii/bin__jsii-runtime.js",
        "the relay gives program.js its API channel as fd 3, which we do (3)",
    ),
    Internal(
        "constructs",
        "constructs/_jsii/__init__.py: JSIIAssembly.load(name, version, module, tarball)",
        "the assembly's load request, queued at start (2)",
    ),
    Internal(
        "core",
        "<core>/_jsii/__init__.py: JSIIAssembly.load(name, version, module, tarball)",
        "the assembly's load request, queued at start (2)",
    ),
    Internal(
        "provider",
        "<provider>/_jsii/__init__.py: JSIIAssembly.load(name, version, module, tarball)",
        "the assembly's load request, queued at start (2); the lazy package (1)",
    ),
    Internal(
        "provider",
        "<provider>/<submodule>: typing.get_type_hints(_typecheckingstub__...)",
        "the memo of type-checking stubs (5)",
        engines=("cdktf",),
    ),
    Internal(
        "python",
        "typing.get_type_hints(obj, globalns, localns, include_extras)",
        "the memo of type-checking stubs answers exactly these calls (5)",
    ),
    Internal(
        "python",
        "atexit._run_exitfuncs",
        "the exit handlers (the kernel's stop) run before the teardown is skipped (6)",
    ),
    Internal(
        "node",
        "Module._load(request, parent, isMain)",
        "the preload defers the core's zip library",
    ),
    Internal(
        "node",
        "Module.prototype._compile(content, filename, format)",
        "the preload's lazy provider index, token stacks and cached version check",
    ),
    Internal(
        "provider",
        "lib/index.js: one exports.<name> = require(...) line per submodule",
        "the preload's lazy provider index (1)",
    ),
    Internal(
        "core",
        "lib/private/fs.js: requires archiver (cdktf) or fflate (cdktn)",
        "the preload defers the zip library",
    ),
    Internal(
        "core",
        "lib/tokens/private/stack-trace.js: captureStackTrace, captureCreationStack",
        "the preload skips the stacks tokens keep",
    ),
    Internal(
        "core",
        "lib/validations/validate-binary-version.js: ValidateBinaryVersion.prototype.validate",
        "the preload runs `terraform version` once per binary (its execSync)",
    ),
)


def component_name(component: str, chosen: engine.Engine) -> str:
    """How a key of WRITTEN_FOR is called for `chosen`: its package, for the engine's own."""
    return {"core": chosen.core_package, "provider": chosen.provider_assembly}.get(
        component, component
    )


def installed_versions(chosen: engine.Engine) -> dict[str, str | None]:
    """The version of each component of WRITTEN_FOR here (None: not found), read without
    importing any: a few small files, and `node --version`."""
    assemblies = dict(
        zip(("constructs", "core", "provider"), _assemblies(chosen.assembly_packages), strict=True)
    )
    return {
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "node": _node_major(),
        "jsii": _jsii_version(),
        **{key: None if found is None else found.version for key, found in assemblies.items()},
    }


def version_mismatches(chosen: engine.Engine) -> list[str]:
    """What differs from WRITTEN_FOR for `chosen`, each as `<component> <here> (written for
    <version>)`; empty when the fast path may run."""
    expected = WRITTEN_FOR.get(chosen.name, {})
    here = installed_versions(chosen)
    return [
        f"{component_name(key, chosen)} {here.get(key) or 'missing'} (written for {version})"
        for key, version in expected.items()
        if here.get(key) != version
    ]


_DECIDED: list[bool] = []  # enabled()'s answer, once given


def enabled() -> bool:
    """True when the fast path runs in this process: CDK_PLAIN_IMPORTS is not set, and every
    component has the version of WRITTEN_FOR. Decided once per process, for the active engine;
    a mismatch prints one warning line saying what differs.

    Raises KernelStartError when node cannot be run at all (the plain path could not either).
    """
    if not _DECIDED:
        mismatches = [] if plain_imports() else version_mismatches(engine.active())
        if mismatches:
            print(
                "warning: fast synth is off, so this synth is slower (same output): it was "
                f"written for other versions than these: {'; '.join(mismatches)}",
                file=sys.stderr,
                flush=True,
            )
        _DECIDED.append(not plain_imports() and not mismatches)
    return _DECIDED[0]


def run(main: Callable[[], int]) -> NoReturn:
    """Run main.py's `main` as the whole program, fast when :func:`enabled`; exit with its status.

    As soon as main.py has chosen the engine (modules/engine.py), the kernel starts and cyclic
    garbage collection stops: a synth is over in a second and leaves little cyclic garbage (peak
    RSS unchanged, README "Synth speed"). At the end the exit handlers run (ours stops the
    kernel, which removes its temporary files) and the interpreter's teardown is skipped. An
    exception propagates as usual: traceback, exit status 1. Plain, an ordinary program.
    """
    if plain_imports():  # the reference: nothing of the fast path is even looked at
        sys.exit(main())
    engine.WHEN_CHOSEN.append(_start_when_enabled)
    status = main()
    if not (_DECIDED and _DECIDED[0]):
        sys.exit(status)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _start_when_enabled(_chosen: engine.Engine) -> None:
    if enabled():
        gc.disable()
        start_kernel()


def provider_binding() -> types.ModuleType:
    """The active engine's AWS provider binding for modules/cdk.py: when :func:`enabled`, the
    lazy package with memoized type hints, on the kernel started early; else imported plainly."""
    package = provider_package()
    if not enabled():
        return importlib.import_module(package)
    adopt_kernel()
    active = engine.active()
    memoize_binding_type_hints(("constructs", active.core_package, package))
    return lazy_package(package)


def _assemblies(packages: Iterable[str]) -> list[Assembly | None]:
    return [Assembly.of_package(package) for package in packages]  # each package read once


def _jsii_version() -> str | None:
    spec = importlib.util.find_spec("jsii")
    if spec is None or not spec.submodule_search_locations:
        return None
    metadata = Path(spec.submodule_search_locations[0], "_metadata.json")
    try:
        return str(json.loads(metadata.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


def _node_major() -> str | None:
    """The major version of the node jsii's runtime runs, asked once per binary (its path, size
    and mtime; `node --version` costs ~6 ms, the look-up well under one)."""
    node = os.environ.get("JSII_NODE", "node")  # as jsii's runtime finds it
    found = shutil.which(node)
    if found is None:
        return _run_node_version(node)  # raises KernelStartError saying why
    binary = os.path.realpath(found)
    status = os.stat(binary)
    key = f"{binary} {status.st_size} {status.st_mtime_ns}"
    cache_file = _cache_folder() / NODE_VERSIONS_FILE
    known = _read_json_object(cache_file)
    if key not in known:
        major = _run_node_version(binary)
        if major is None:
            return None
        known[key] = major
        _write_json_atomically(cache_file, known)
    return str(known[key])


def _run_node_version(node: str) -> str | None:
    try:
        completed = subprocess.run(
            [node, "--version"],
            capture_output=True,
            text=True,
            timeout=NODE_VERSION_TIMEOUT_SECONDS,
            check=False,
        )
    except OSError as error:
        raise KernelStartError.no_node(node, error) from None
    version = completed.stdout.strip().removeprefix("v")
    return version.split(".")[0] if completed.returncode == 0 and version else None


def _cache_folder() -> Path:
    """Where the preload keeps its `terraform version` answers too."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base, CACHE_FOLDER_NAME)


def _read_json_object(path: Path) -> dict[str, object]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _write_json_atomically(path: Path, value: object) -> None:
    """Concurrent synths never read half a file; an unwritable cache only costs a look-up."""
    partial = path.with_name(f"{path.name}.{os.getpid()}")
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(value), encoding="utf-8")
        partial.replace(path)


# --- 1. the provider package, lazily ------------------------------------------------------


class LazyPackage(types.ModuleType):
    """A provider package whose submodules are imported on first attribute access."""

    __all__: list[str]

    def __getattr__(self, name: str) -> types.ModuleType:
        if name not in self.__all__:
            raise AttributeError(f"module {self.__name__!r} has no submodule {name!r}")
        # The import system also binds the submodule as an attribute: this runs once per name.
        return importlib.import_module(f"{self.__name__}.{name}")

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.__all__})


def lazy_package(name: str) -> types.ModuleType:
    """Import the jsii package `name` without its ``__init__``; submodules load on first use."""
    if name in sys.modules:  # imported already (plainly, or by an earlier call)
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not an installed package")
    package = importlib.util.module_from_spec(spec)
    package.__class__ = LazyPackage
    package.__all__ = sorted(
        entry.name
        for location in spec.submodule_search_locations
        for entry in os.scandir(location)
        if entry.is_dir() and not entry.name.startswith(("_", "."))
    )
    sys.modules[name] = package
    try:
        assembly = importlib.import_module(f"{name}._jsii").__jsii_assembly__
    except BaseException:
        del sys.modules[name]
        raise
    from jsii import _reference_map

    _reference_map._submodule_fqn_map.update(
        {f"{assembly.name}.{jsii_name(sub)}": f"{name}.{sub}" for sub in package.__all__}
    )
    return package


# --- 2 and 3. the kernel, started early and without the relay -----------------------------


@dataclass(frozen=True)
class Assembly:
    """What a package's ``_jsii`` module asks the kernel to load (jsii's LoadRequest)."""

    name: str
    version: str
    tarball: str

    @classmethod
    @functools.cache
    def of_package(cls, package: str) -> Assembly | None:
        """The package's assembly, read from its generated code without importing it."""
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            return None
        jsii_folder = Path(spec.submodule_search_locations[0], "_jsii")
        found = ASSEMBLY_LOAD_CALL.search((jsii_folder / "__init__.py").read_text("utf-8"))
        if found is None:
            return None
        name, version, filename = found.groups()
        return cls(name, version, str(jsii_folder / filename))

    def request(self) -> bytes:
        fields = {"name": self.name, "version": self.version, "tarball": self.tarball}
        return json.dumps({**fields, "api": "load"}).encode() + b"\n"


class KernelStartError(engine.EngineError):
    """The jsii kernel could not be started (no Node.js where JSII_NODE or PATH says)."""

    @classmethod
    def no_node(cls, node: str, error: OSError) -> KernelStartError:
        return cls(
            f"cannot start the jsii kernel with {node!r}: {error.strerror}. "
            "It needs Node.js: install it, or set JSII_NODE to its path."
        )


class StartedKernel:
    """A jsii kernel (node ``lib/program.js``) started before jsii itself was imported.

    Its load requests are written at once and answered in order; :meth:`answer_to_load` hands
    each answer out when jsii asks for that load, and :meth:`drain` sets aside any jsii never
    asks for, so that the next answer read is always the one to jsii's latest request.
    """

    def __init__(self, assemblies: list[Assembly], warm_submodules: list[str]) -> None:
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="jsii-runtime-"))
        program = self._copy_runtime()
        channel, kernel_end = socket.socketpair()
        self.channel = channel
        self.reader = channel.makefile("rb")
        self.writer = channel.makefile("wb")
        env = {
            **os.environ,
            "JSII_AGENT": f"Python/{platform.python_version()}",  # as jsii's runtime sets it
            WARM_ENV: ",".join(jsii_name(name) for name in warm_submodules),
        }
        node = os.environ.get("JSII_NODE", "node")  # as jsii's runtime finds it
        with kernel_end:
            try:
                self.process = self._spawn(node, program, env, kernel_end.fileno())
            except OSError as error:
                shutil.rmtree(self.runtime_dir, ignore_errors=True)
                channel.close()
                raise KernelStartError.no_node(node, error) from None
        self.pending = collections.deque(assemblies)
        self.answers: dict[Assembly, bytes] = {}
        self.answered_at_start: list[str] = []  # names of the assemblies loaded that way
        self.stopped = False
        for assembly in assemblies:
            self.writer.write(assembly.request())
        self.writer.flush()

    @staticmethod
    def _spawn(node: str, program: Path, env: dict[str, str], api_fd: int) -> subprocess.Popen:
        return subprocess.Popen(
            [
                node,
                "--max-old-space-size=4069",  # what jsii's runtime gives its kernel
                "--preserve-symlinks",
                "--require",
                str(NODE_PRELOAD),
                str(program),
            ],
            stdin=subprocess.DEVNULL,
            env=env,
            close_fds=False,  # it would close fd 3; our other descriptors are not inheritable
            # Safe with threads: between fork and exec the child only moves one descriptor.
            preexec_fn=_api_channel_on_fd3(api_fd),  # noqa: PLW1509
        )

    def _copy_runtime(self) -> Path:
        """jsii's embedded kernel files, laid out as program.js expects; returns program.js."""
        spec = importlib.util.find_spec("jsii")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("jsii is not installed")
        embedded = Path(spec.submodule_search_locations[0], "_embedded", "jsii")
        (self.runtime_dir / "lib").mkdir()
        for name in ("program.js", "runtime-index-worker.js"):  # the worker builds jsii's index
            shutil.copyfile(embedded / f"lib__{name}", self.runtime_dir / "lib" / name)
        return self.runtime_dir / "lib" / "program.js"

    def _read_pending(self) -> None:
        self.answers[self.pending.popleft()] = self.reader.readline()

    def answer_to_load(self, assembly: Assembly) -> bytes | None:
        """The kernel's answer to `assembly`'s load if it was requested at start, else None."""
        if assembly not in self.pending and assembly not in self.answers:
            return None
        while assembly not in self.answers:
            self._read_pending()
        self.answered_at_start.append(assembly.name)
        return self.answers.pop(assembly)

    def drain(self) -> None:
        """Read the answers to start-up loads still in the channel (before any other request)."""
        while self.pending:
            self._read_pending()

    def stop(self) -> None:
        """Ask the kernel to exit (it removes its own temporary folder), then tidy up ours.

        The channel stays open for reading until the kernel is gone: a kernel stopped before it
        said hello (a bad config) would otherwise die writing it, with a screenful of stack.
        """
        if self.stopped:
            return
        self.stopped = True
        with contextlib.suppress(OSError):
            self.writer.write(b'{"exit":0}\n')
            self.writer.flush()
            self.channel.shutdown(socket.SHUT_WR)
        try:
            self.process.wait(timeout=KERNEL_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.writer, self.reader, self.channel):
            with contextlib.suppress(OSError):
                stream.close()
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


def _api_channel_on_fd3(fd: int) -> object:
    """For Popen's preexec_fn: make `fd` the child's fd 3, inheritable across exec."""
    if fd == KERNEL_API_FD:  # dup2 onto itself would leave it close-on-exec
        return lambda: os.set_inheritable(fd, True)
    return lambda: os.dup2(fd, KERNEL_API_FD)


_STARTED: list[StartedKernel] = []  # the kernel start_kernel started, if it did
_ADOPTED: list[object] = []  # jsii's process object for it, once jsii adopted it


def start_kernel() -> None:
    """Start the jsii kernel now, so that it boots while Python does other work.

    Does nothing unless :func:`enabled`, when started already, once jsii is running, or when
    JSII_RUNTIME names another kernel to run. Raises KernelStartError when node cannot start.
    """
    if _STARTED or "jsii" in sys.modules or os.environ.get("JSII_RUNTIME") or not enabled():
        return
    assemblies = [Assembly.of_package(package) for package in engine.active().assembly_packages]
    started = StartedKernel([a for a in assemblies if a], provider_submodules_in_code())
    _STARTED.append(started)
    atexit.register(started.stop)


def adopt_kernel() -> None:
    """Make jsii use the kernel :func:`start_kernel` started, before jsii's first request."""
    start_kernel()
    if not _STARTED or "constructs" in sys.modules:  # jsii has a kernel of its own
        return
    from jsii._kernel.providers import process as jsii_process
    from jsii._kernel.types import CreateRequest, LoadRequest

    started = _STARTED[0]
    app_fqn = f"{engine.active().core_package}.App"
    pipes = types.SimpleNamespace(stdin=started.writer, stdout=started.reader)

    class AdoptedKernel(jsii_process._NodeProcess):
        """jsii's process class, talking to the kernel started early; only loads differ."""

        def __init__(self) -> None:
            super().__init__()
            self._process = pipes
            self.handshake()  # the kernel's hello, the first line in the channel

        def send(self, request: object, response_type: type) -> object:
            if threading.current_thread().name == IMPORT_AHEAD_THREAD:
                # One channel, one conversation: the main thread may be mid-request.
                raise RuntimeError("the jsii kernel is not to be called while importing ahead")
            if isinstance(request, CreateRequest) and request.fqn == app_fqn:
                import_provider_submodules_ahead()  # the app's modules are all imported
            if isinstance(request, LoadRequest):
                answer = started.answer_to_load(
                    Assembly(request.name, request.version, request.tarball)
                )
                if answer is not None:  # requested at start: jsii reads its stored answer
                    self._process = types.SimpleNamespace(
                        stdin=io.BytesIO(), stdout=io.BytesIO(answer)
                    )
                    try:
                        return super().send(request, response_type)
                    finally:
                        self._process = pipes
            started.drain()
            return super().send(request, response_type)

        def stop(self) -> None:
            started.stop()

    kernel = AdoptedKernel()
    jsii_process.ProcessProvider._process = property(lambda _provider: kernel)
    _ADOPTED.append(kernel)


# --- 4. Python's imports, ahead of the build ---------------------------------------------

IMPORT_AHEAD_THREAD = "fast-synth-import-ahead"
_AHEAD: list[threading.Thread] = []  # the import-ahead thread, once started


def import_provider_submodules_ahead() -> threading.Thread | None:
    """Import the provider submodules the app's code uses, in a background thread.

    The adopted kernel calls it when jsii is asked to create the App: the app's modules are
    imported by then, and their order of import, and within each the order of `aws.<submodule>`
    in the text, is about the order the build needs them. The main thread imports any it needs
    first itself (Python's import locks keep each import single). The thread may not call the
    kernel: a submodule whose import tries stops it, and is imported again where the build uses
    it. Runs once per process, and only on an adopted kernel.
    """
    package = sys.modules.get(provider_package())
    if not isinstance(package, LazyPackage) or not _ADOPTED or _AHEAD:
        return None
    files = _app_files_in_import_order()
    thread = threading.Thread(
        target=_import_all, args=(package, files), name=IMPORT_AHEAD_THREAD, daemon=True
    )
    _AHEAD.append(thread)
    thread.start()
    return thread


def _app_files_in_import_order() -> list[Path]:
    app = str(APP_CODE)
    return [
        Path(file)
        for module in list(sys.modules.values())
        if (file := getattr(module, "__file__", None)) and file.startswith(app)
    ]


def _import_all(package: LazyPackage, files: list[Path]) -> None:
    with contextlib.suppress(Exception):  # whatever failed here fails again where it is used
        for name in provider_submodules_in_code(files):
            getattr(package, name)


# --- 5. the bindings' type checks --------------------------------------------------------

# The prefix jsii gives the functions whose annotations describe a member's parameters.
TYPE_CHECKING_STUB_PREFIX = "_typecheckingstub__"


def memoize_binding_type_hints(packages: Iterable[str]) -> None:
    """In the modules of `packages` (and their submodules) only, evaluate the annotations of each
    jsii type-checking stub once, not on every call.

    Each such module imported after this call runs with :func:`binding_typing` as its global
    ``typing`` (one imported already keeps typing: correct, only slower). The stubs are
    module-level functions whose annotations never change after import, so a cached answer is
    the same answer.
    """
    if not any(isinstance(finder, _BindingImports) for finder in sys.meta_path):
        sys.meta_path.insert(0, _BindingImports(frozenset(packages)))


@functools.cache
def binding_typing() -> types.ModuleType:
    """The ``typing`` the binding modules see: typing's names, with get_type_hints answering a
    type-checking stub from a memo. Any other call goes to typing.get_type_hints unchanged."""
    evaluate = typing.get_type_hints
    hints: dict[object, dict[str, object]] = {}

    def get_type_hints(
        obj: object,
        globalns: dict[str, object] | None = None,
        localns: dict[str, object] | None = None,
        include_extras: bool = False,
    ) -> dict[str, object]:
        stub = getattr(obj, "__name__", "").startswith(TYPE_CHECKING_STUB_PREFIX)
        if not stub or globalns is not None or localns is not None or include_extras:
            return evaluate(obj, globalns, localns, include_extras)
        if obj not in hints:
            hints[obj] = evaluate(obj)
        return hints[obj]

    view = types.ModuleType(typing.__name__, typing.__doc__)
    vars(view).update(vars(typing))
    view.get_type_hints = get_type_hints  # type: ignore[attr-defined]
    return view


class _BindingImports(importlib.abc.MetaPathFinder):
    """Finds the binding packages' modules as Python's path finder does, with a loader that
    gives each its binding ``typing`` once it has run (its own ``import typing`` is over)."""

    def __init__(self, roots: frozenset[str]) -> None:
        self.roots = roots

    def find_spec(
        self, fullname: str, path: typing.Sequence[str] | None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.roots:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _BindingLoader(spec.loader.name, spec.loader.path)
        return spec


class _BindingLoader(importlib.machinery.SourceFileLoader):
    def exec_module(self, module: types.ModuleType) -> None:
        super().exec_module(module)
        # The namespace the module's functions run in, also when jsii's `publication` has put a
        # module of only the public names in its place in sys.modules.
        namespace = vars(module)
        if namespace.get("typing") is typing:
            namespace["typing"] = binding_typing()
