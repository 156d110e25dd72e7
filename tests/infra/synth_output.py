"""Helpers for tests that read `cdktf.out` as files: which stacks to expect, and their bytes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.config import PLATFORM_STACKS, load_config
from tests.conftest import REPO_ROOT
from tests.infra.stack_json import synth_stacks

if TYPE_CHECKING:
    from pathlib import Path

    from modules.config import PlatformConfig

MANIFEST = "manifest.json"


def stack_names(config: PlatformConfig) -> list[str]:
    """Every stack the app builds for `config`: the platform's own, then one per service."""
    return [*PLATFORM_STACKS, *sorted(service.name for service in config.services)]


def repository_stack_names() -> list[str]:
    """The stacks of the repository's own configuration, known before anything is synthesized.

    Tests are parametrized with these at collection time; `test_output_quality` checks that the
    synthesized output holds exactly these stacks, so a new kind of stack cannot slip past.
    """
    return stack_names(load_config(REPO_ROOT))


def synth_into(config: PlatformConfig, folder: Path) -> Path:
    """Synthesize `config` into `folder/cdktf.out` (in-process) and return that outdir."""
    folder.mkdir(parents=True, exist_ok=True)
    outdir = folder / "cdktf.out"
    synth_stacks(config, outdir)
    return outdir


def output_files(outdir: Path) -> dict[str, bytes]:
    """What determinism covers: every file under `stacks/` and the manifest, by relative path."""
    files = {
        path.relative_to(outdir).as_posix(): path.read_bytes()
        for path in sorted((outdir / "stacks").rglob("*"))
        if path.is_file()
    }
    files[MANIFEST] = (outdir / MANIFEST).read_bytes()
    return files
