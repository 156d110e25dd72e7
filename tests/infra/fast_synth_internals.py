"""Checks each private part of modules/fast_synth.py's INTERNALS in this interpreter's engine.

    CDK_ENGINE=<engine> <engine's python> tests/infra/fast_synth_internals.py

Prints one JSON object: "mismatches" (fast_synth.version_mismatches of the active engine) and
"problems", for each internal the engine's fast path uses: null when it is there as the fast
path uses it, else what is wrong. Run by tests/infra/test_fast_synth_guard.py with each engine's
Python, since each engine has its own jsii, constructs and bindings.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import types
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from modules import engine, fast_synth

if TYPE_CHECKING:
    from collections.abc import Callable

    from modules.engine import Engine

NODE_TIMEOUT_SECONDS = 60
# What each engine's core requires to zip a directory, and what its tokens call for a stack.
ZIP_LIBRARY = {"cdktf": "archiver", "cdktn": "fflate"}
TOKEN_STACK_EXPORT = {"cdktf": "captureStackTrace", "cdktn": "captureCreationStack"}
# The provider binding has one submodule per resource; the index must list them all.
MIN_PROVIDER_EXPORTS = 1000


def jsii_submodule_fqn_map(_chosen: Engine) -> str | None:
    from jsii import _reference_map

    found = getattr(_reference_map, "_submodule_fqn_map", None)
    return None if isinstance(found, dict) else f"it is {type(found).__name__}, not a dict"


def jsii_node_process(_chosen: Engine) -> str | None:
    """jsii's process class over an in-memory channel: a handshake, then one load request."""
    from jsii._kernel.providers.process import __jsii_runtime_version__, _NodeProcess
    from jsii._kernel.types import LoadRequest, LoadResponse

    hello = {"hello": f"@jsii/runtime@{__jsii_runtime_version__}"}
    answer = {"ok": {"assembly": "fake", "types": 0}}
    process = _NodeProcess()
    process.stop = lambda: None  # its __del__ stops the process it would have started
    stdin = io.BytesIO()
    stdout = io.BytesIO(f"{json.dumps(hello)}\n{json.dumps(answer)}\n".encode())
    process._process = types.SimpleNamespace(stdin=stdin, stdout=stdout)
    process.handshake()
    response = process.send(LoadRequest("fake", "1.0.0", "fake.tgz"), LoadResponse)
    sent = json.loads(stdin.getvalue())
    if response.assembly != "fake" or sent.get("api") != "load":
        return f"the load went as {sent} and came back as {response}"
    return None


def jsii_process_provider(_chosen: Engine) -> str | None:
    from jsii._kernel.providers.process import ProcessProvider

    if "_process" not in vars(ProcessProvider):
        return "ProcessProvider has no _process of its own"
    if "self._process.send(" not in inspect.getsource(ProcessProvider):
        return "ProcessProvider does not send its requests through self._process"
    return None


def jsii_request_fields(kind: str, wanted: tuple[str, ...]) -> Callable[[Engine], str | None]:
    def check(_chosen: Engine) -> str | None:
        import attr
        from jsii._kernel import types as kernel_types

        fields = tuple(field.name for field in attr.fields(getattr(kernel_types, kind)))
        return None if fields[: len(wanted)] == wanted else f"its fields are {fields}"

    return check


def jsii_embedded_kernel(_chosen: Engine) -> str | None:
    from jsii._embedded.jsii import EMBEDDED_FILES

    folder = embedded_folder()
    wanted = {"lib__program.js": "lib/program.js", "lib__runtime-index-worker.js": None}
    for name, path in wanted.items():
        if not (folder / name).is_file():
            return f"{name} is not in {folder}"
        if path is not None and EMBEDDED_FILES.get(name) != path:
            return f"jsii lays {name} out as {EMBEDDED_FILES.get(name)}, not {path}"
    return None


def jsii_relay_api_channel(_chosen: Engine) -> str | None:
    relay = (embedded_folder() / "bin__jsii-runtime.js").read_text(encoding="utf-8")
    channel = 'stdio:["ignore","pipe","pipe","pipe"]'
    return None if channel in relay else f"the relay no longer starts program.js with {channel}"


def embedded_folder() -> Path:
    import jsii

    return Path(jsii.__file__).parent / "_embedded" / "jsii"


def assembly_load_call(package_of: Callable[[Engine], str]) -> Callable[[Engine], str | None]:
    def check(chosen: Engine) -> str | None:
        package = package_of(chosen)
        assembly = fast_synth.Assembly.of_package(package)
        if assembly is None:
            return f"{package}/_jsii/__init__.py has no call ASSEMBLY_LOAD_CALL matches"
        return None if Path(assembly.tarball).is_file() else f"no tarball {assembly.tarball}"

    return check


def binding_type_hints_calls(chosen: Engine) -> str | None:
    import importlib.util

    spec = importlib.util.find_spec(chosen.provider_package)
    assert spec is not None and spec.submodule_search_locations
    source = Path(spec.submodule_search_locations[0], "sqs_queue", "__init__.py").read_text()
    call = "typing.get_type_hints(_typecheckingstub__"
    return None if call in source else f"the binding's sqs_queue never calls {call}...)"


def typing_get_type_hints(_chosen: Engine) -> str | None:
    import typing

    parameters = tuple(inspect.signature(typing.get_type_hints).parameters)
    wanted = ("obj", "globalns", "localns", "include_extras")
    return None if parameters == wanted else f"its parameters are {parameters}"


def atexit_run_exitfuncs(_chosen: Engine) -> str | None:
    import atexit

    return None if callable(getattr(atexit, "_run_exitfuncs", None)) else "it is gone"


def node_function(expression: str, parameters: int) -> Callable[[Engine], str | None]:
    """`expression` (of node's module system) is a function of `parameters` parameters."""

    def check(_chosen: Engine) -> str | None:
        script = (
            'const Module = require("module");'
            f"const f = {expression};"
            'console.log(typeof f === "function" ? f.length : typeof f);'
        )
        found = run_node(["-e", script]).strip()
        return None if found == str(parameters) else f"node says {found}"

    return check


def run_node(arguments: list[str], **env: str) -> str:
    completed = subprocess.run(
        ["node", *arguments],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_SECONDS,
        env={**os.environ, **env},
        check=True,
    )
    return completed.stdout


def core_file(path: str, pattern: Callable[[Engine], str]) -> Callable[[Engine], str | None]:
    """The core's `path` (in its jsii tarball, as the kernel installs it) matches `pattern`."""

    def check(chosen: Engine) -> str | None:
        text = read_from_tarball(chosen.core_package, f"package/{path}")
        if text is None:
            return f"{chosen.core_package} has no {path}"
        wanted = pattern(chosen)
        return None if re.search(wanted, text) else f"{path} has nothing matching {wanted}"

    return check


def read_from_tarball(package: str, member: str) -> str | None:
    assembly = fast_synth.Assembly.of_package(package)
    assert assembly is not None
    with tarfile.open(assembly.tarball) as tarball:
        try:
            extracted = tarball.extractfile(member)
        except KeyError:
            return None
        return None if extracted is None else extracted.read().decode("utf-8")


def provider_index(chosen: Engine) -> str | None:
    """The provider's real lib/index.js, laid out in a kernel's folder, loaded with the preload:
    every export lazy, none required."""
    source = read_from_tarball(chosen.provider_package, "package/lib/index.js")
    if source is None:
        return f"{chosen.provider_assembly} has no lib/index.js"
    with tempfile.TemporaryDirectory() as folder:
        package = Path(folder, "jsii-kernel-check", "node_modules", chosen.provider_assembly)
        (package / "lib").mkdir(parents=True)
        (package / "lib" / "index.js").write_text(source, encoding="utf-8")
        report = Path(folder, "report.json")
        script = "try { require(process.argv[1]); } catch {}"
        run_node(
            [
                "--require",
                str(fast_synth.NODE_PRELOAD),
                "-e",
                script,
                str(package / "lib/index.js"),
            ],
            **{fast_synth.REPORT_ENV: str(report)},
        )
        if not report.exists():
            return "the preload did not recognise the provider's index"
        seen = json.loads(report.read_text())
    if seen["fallback"] is not None:
        return f"the preload keeps the index whole: {seen['fallback']}"
    exports = seen["exports"]
    return None if exports >= MIN_PROVIDER_EXPORTS else f"only {exports} lazy exports"


CHECKS: dict[str, Callable[[Engine], str | None]] = {
    "jsii._reference_map._submodule_fqn_map": jsii_submodule_fqn_map,
    "jsii._kernel.providers.process._NodeProcess": jsii_node_process,
    "jsii._kernel.providers.process.ProcessProvider._process": jsii_process_provider,
    "jsii._kernel.types.LoadRequest": jsii_request_fields(
        "LoadRequest", ("name", "version", "tarball")
    ),
    "jsii._kernel.types.CreateRequest": jsii_request_fields("CreateRequest", ("fqn",)),
    "jsii/_embedded/jsii/lib__program.js": jsii_embedded_kernel,
    "jsii/_embedded/jsii/bin__jsii-runtime.js": jsii_relay_api_channel,
    "constructs/_jsii/__init__.py: JSIIAssembly.load(name, version, module, tarball)": (
        assembly_load_call(lambda _chosen: "constructs")
    ),
    "<core>/_jsii/__init__.py: JSIIAssembly.load(name, version, module, tarball)": (
        assembly_load_call(lambda chosen: chosen.core_package)
    ),
    "<provider>/_jsii/__init__.py: JSIIAssembly.load(name, version, module, tarball)": (
        assembly_load_call(lambda chosen: chosen.provider_package)
    ),
    "<provider>/<submodule>: typing.get_type_hints(_typecheckingstub__...)": (
        binding_type_hints_calls
    ),
    "typing.get_type_hints(obj, globalns, localns, include_extras)": typing_get_type_hints,
    "atexit._run_exitfuncs": atexit_run_exitfuncs,
    "Module._load(request, parent, isMain)": node_function("Module._load", 3),
    "Module.prototype._compile(content, filename, format)": node_function(
        "Module.prototype._compile", 3
    ),
    "lib/index.js: one exports.<name> = require(...) line per submodule": provider_index,
    "lib/private/fs.js: requires archiver (cdktf) or fflate (cdktn)": core_file(
        "lib/private/fs.js", lambda chosen: rf'require\("{ZIP_LIBRARY[chosen.name]}"\)'
    ),
    "lib/tokens/private/stack-trace.js: captureStackTrace, captureCreationStack": core_file(
        "lib/tokens/private/stack-trace.js",
        lambda chosen: rf"exports\.{TOKEN_STACK_EXPORT[chosen.name]} = ",
    ),
    "lib/validations/validate-binary-version.js: ValidateBinaryVersion.prototype.validate": (
        core_file(
            "lib/validations/validate-binary-version.js",
            lambda _chosen: r"^(?=[\s\S]*exports\.ValidateBinaryVersion = ValidateBinaryVersion;)"
            r"(?=[\s\S]*validate\(\) \{[^}]*\(0, \w+\.execSync\)\(this\.versionCommand)",
        )
    ),
}


def problem(check: Callable[[Engine], str | None], chosen: Engine) -> str | None:
    try:
        return check(chosen)
    except Exception as error:  # a moved internal fails in any way: report it
        return f"{type(error).__name__}: {error}"


def main() -> None:
    chosen = engine.active()
    problems = {
        internal.name: problem(CHECKS[internal.name], chosen)
        for internal in fast_synth.INTERNALS
        if chosen.name in internal.engines and internal.name in CHECKS
    }
    mismatches = fast_synth.version_mismatches(chosen)
    print(json.dumps({"engine": chosen.name, "mismatches": mismatches, "problems": problems}))


if __name__ == "__main__":
    main()
