"""A Lambda function's code: a zip of repository files, built at synth, byte for byte the same
on every run and every machine.

No `archive` provider (Terraform's usual way) is needed: the zip is written here, stored without
compression (deflate output can differ between zlib versions) and with fixed timestamps and
permissions, then handed to cdktf as a file asset, which copies it into the stack's directory
(`assets/<id>/<content hash>/<file>`, a relative path). Its SHA-256 goes into the function's
`source_code_hash`, so the plan shows a code change exactly when a file changed.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from modules.cdk import AssetType, Construct, TerraformAsset

if TYPE_CHECKING:
    from collections.abc import Iterable

# Every entry gets the same timestamp (zip's earliest) and regular-file permissions.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
UNIX = 3  # zip's "made by" system: fixed, or it would follow the machine
EXCLUDED_NAMES = frozenset({"__pycache__"})
EXCLUDED_SUFFIXES = frozenset({".pyc"})


def bundle_files(root: Path, entries: Iterable[str]) -> dict[str, Path]:
    """`entries` (files or folders, relative to `root`) as {name in the zip: file}, sorted.

    Names keep `root`'s own name as their first part (`workers/runtime/env.py`), so the zip
    holds the package as the code imports it.
    """
    found: dict[str, Path] = {}
    for entry in entries:
        path = root / entry
        if not path.exists():
            raise FileNotFoundError(f"{path} is listed for a Lambda bundle but does not exist")
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        for candidate in candidates:
            relative = candidate.relative_to(root)
            if not candidate.is_file() or _excluded(relative):
                continue
            found[str(PurePosixPath(root.name, *relative.parts))] = candidate
    return dict(sorted(found.items()))


def _excluded(relative: Path) -> bool:
    return bool(EXCLUDED_NAMES.intersection(relative.parts)) or relative.suffix in EXCLUDED_SUFFIXES


def deterministic_zip(files: dict[str, Path]) -> bytes:
    """The zip of `files` ({name: file}); the same bytes for the same names and contents."""
    with tempfile.SpooledTemporaryFile() as buffer:
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
                info.create_system = UNIX
                info.external_attr = FILE_MODE << 16
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, files[name].read_bytes())
        buffer.seek(0)
        return buffer.read()


@cache
def _scratch() -> Path:
    """Where bundles wait for cdktf to copy them at synth; removed when the process exits."""
    folder = Path(tempfile.mkdtemp(prefix="lambda-bundles-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@dataclass(frozen=True)
class LambdaCodeProps:
    """What a Lambda bundle holds.

    root: the folder the entries are relative to; its own name starts every name in the zip.
    entries: files or folders under `root` to bundle (`bundle_files`).
    name: the zip's file name in the stack's assets.
    """

    root: Path
    entries: tuple[str, ...]
    name: str


class LambdaCode(Construct):
    """The zip of `props.entries` under `props.root`, as a file asset of the stack.

    Public fields: `files` (what the zip holds), `path` (the asset's path, relative to the
    stack's directory: a Lambda function's `filename`), `source_code_hash` (base64 SHA-256).
    """

    def __init__(self, scope: Construct, construct_id: str, props: LambdaCodeProps) -> None:
        super().__init__(scope, construct_id)
        self.files = bundle_files(props.root, props.entries)
        content = deterministic_zip(self.files)
        digest = hashlib.sha256(content)
        self.source_code_hash = base64.b64encode(digest.digest()).decode()
        folder = _scratch() / digest.hexdigest()
        folder.mkdir(exist_ok=True)
        source = folder / props.name
        source.write_bytes(content)
        self.asset = TerraformAsset(self, "asset", path=str(source), type=AssetType.FILE)
        self.path: str = self.asset.path
