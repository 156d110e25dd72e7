"""Load a prebuilt cdktf provider binding lazily, on both sides of jsii (issue 5).

Why: importing ``cdktf_cdktf_provider_aws`` runs its ``__init__``, which imports all ~2,200
submodules in Python, and loading its assembly makes the jsii kernel (node) run the
provider's ``lib/index.js``, which requires all of them again. A synth uses a few dozen: on
a 4-stack app plain imports cost about 13 s and 1.2 GB, this about 0.7 s and 0.23 GB, with
byte-identical output (../shared/FACTS.md, "Import cost dominates synth"; README, "Synth speed"
for this app's figures from `make bench-synth`).

- Python: :func:`lazy_package` creates the package module without executing its ``__init__``,
  imports only its ``_jsii`` module (which loads the assembly into the kernel) and imports a
  submodule on first attribute access (module ``__getattr__``). Every submodule's jsii name is
  registered in ``jsii._reference_map._submodule_fqn_map`` so that jsii imports the module of a
  type the kernel returns before Python has touched it.
- Node: :func:`node_preload` puts ``lazy_provider_index.js`` into ``NODE_OPTIONS`` while the
  kernel starts; that preload answers the provider's ``lib/index.js`` with lazy getters.

``CDK_PLAIN_IMPORTS=1`` switches both off (benchmarks and the equivalence test compare).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from jsii import _reference_map

if TYPE_CHECKING:
    from collections.abc import Iterator

PLAIN_IMPORTS_ENV = "CDK_PLAIN_IMPORTS"
# The preload writes what it replaced and which submodules node loaded to this file, if set.
REPORT_ENV = "LAZY_PROVIDER_REPORT"
NODE_PRELOAD = Path(__file__).with_name("lazy_provider_index.js")


def plain_imports() -> bool:
    """True when CDK_PLAIN_IMPORTS asks for the plain, eager imports (for comparison only)."""
    return os.environ.get(PLAIN_IMPORTS_ENV, "") not in ("", "0")


def jsii_name(python_name: str) -> str:
    """The jsii name of a submodule from its Python name: ``sqs_queue`` → ``sqsQueue``."""
    head, *rest = python_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@contextlib.contextmanager
def node_preload() -> Iterator[None]:
    """NODE_OPTIONS with the lazy-index preload, around the start of the jsii kernel.

    The kernel copies the environment once, when the first assembly loads (``import
    constructs``). The user's NODE_OPTIONS is kept in front and restored afterwards, so that no
    other child process of ours inherits the preload.
    """
    previous = os.environ.get("NODE_OPTIONS")
    quoted = '"' + str(NODE_PRELOAD).replace("\\", "\\\\").replace('"', '\\"') + '"'
    os.environ["NODE_OPTIONS"] = " ".join(filter(None, (previous, f"--require {quoted}")))
    try:
        yield
    finally:
        if previous is None:
            del os.environ["NODE_OPTIONS"]
        else:
            os.environ["NODE_OPTIONS"] = previous


class LazyPackage(ModuleType):
    """A provider package whose submodules are imported on first attribute access."""

    __all__: list[str]

    def __getattr__(self, name: str) -> ModuleType:
        if name not in self.__all__:
            raise AttributeError(f"module {self.__name__!r} has no submodule {name!r}")
        # The import system also binds the submodule as an attribute: this runs once per name.
        return importlib.import_module(f"{self.__name__}.{name}")

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.__all__})


def lazy_package(name: str) -> ModuleType:
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
    _reference_map._submodule_fqn_map.update(
        {f"{assembly.name}.{jsii_name(sub)}": f"{name}.{sub}" for sub in package.__all__}
    )
    return package
