"""`python3 -m devtools.bootstrap [VENV]`: the project's virtual environment, made or brought up
to date by `make` before any target runs, saying what it does, since the first time takes minutes.

    creating the virtual environment .venv (python3 -m venv) ... done in 3 s
    installing 97 packages from pyproject.toml into .venv: 265 MB to download (less when pip's
    cache has them) ...
    installed in 58 s; .venv is 1.1 GB

What pip is about to install comes from `pip install --dry-run --report` (the same resolution the
install then makes); each file's size from its index: the file itself for a local index, a HEAD
request's Content-Length for PyPI. A size that cannot be had is left out and said so.

Runs with the system's python3 before the venv exists: the standard library only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT = ".[dev]"
PIP = ("-m", "pip", "--disable-pip-version-check")
SIZE_TIMEOUT_SECONDS = 10
SIZE_LOOKUPS_AT_ONCE = 8


@dataclass(frozen=True)
class Download:
    """One distribution pip is about to install."""

    name: str
    url: str


def create_venv(venv: Path) -> None:
    print(f"creating the virtual environment {venv} (python3 -m venv) ...", flush=True)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    print(f"  done in {time.monotonic() - started:.0f} s", flush=True)


def planned(python: Path) -> list[Download]:
    """What `pip install .[dev]` would install now (not what is installed), from pip's report."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        subprocess.run(
            [
                str(python),
                *PIP,
                "install",
                "--quiet",
                "--dry-run",
                "--report",
                str(report),
                REQUIREMENT,
            ],
            cwd=REPO_ROOT,
            check=True,
        )
        entries = json.loads(report.read_text()).get("install", [])
    return [
        Download(entry["metadata"]["name"], entry["download_info"]["url"])
        for entry in entries
        if "archive_info" in entry.get("download_info", {})  # the project itself is a folder
    ]


def size_of(url: str) -> int | None:
    """Bytes of the file at `url` (a local index's file, or Content-Length), None if unknown."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "file":
        try:
            return os.path.getsize(urllib.request.url2pathname(parsed.path))
        except OSError:
            return None
    if parsed.scheme not in ("http", "https"):
        return None
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=SIZE_TIMEOUT_SECONDS) as response:
            length = response.headers.get("Content-Length")
    except (OSError, ValueError):
        return None
    return int(length) if length and length.isdigit() else None


def download_size(downloads: list[Download]) -> tuple[int, int]:
    """(bytes of the files whose size is known, how many sizes are unknown)."""
    with ThreadPoolExecutor(SIZE_LOOKUPS_AT_ONCE) as pool:
        sizes = list(pool.map(size_of, (download.url for download in downloads)))
    known = [size for size in sizes if size is not None]
    return sum(known), len(sizes) - len(known)


def human(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            digits = 1 if size < 10 * scale else 0
            return f"{size / scale:.{digits}f} {unit}"
    return f"{size} B"


def folder_size(folder: Path) -> int:
    return sum(
        (Path(root) / name).lstat().st_size for root, _, files in os.walk(folder) for name in files
    )


def install(python: Path, venv: Path) -> None:
    downloads = planned(python)
    if not downloads:
        print("the pinned dependencies are installed; registering the project ...", flush=True)
    else:
        size, unknown = download_size(downloads)
        also = f" and {unknown} of unknown size" if unknown else ""
        print(
            f"installing {len(downloads)} packages from pyproject.toml into {venv}: "
            f"{human(size)}{also} to download (less when pip's cache has them) ...",
            flush=True,
        )
    started = time.monotonic()
    subprocess.run(
        [str(python), *PIP, "install", "--quiet", REQUIREMENT], cwd=REPO_ROOT, check=True
    )
    print(
        f"  installed in {time.monotonic() - started:.0f} s; {venv} is {human(folder_size(venv))}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    venv = Path(args[0] if args else ".venv")
    python = venv / "bin" / "python"
    try:
        if not os.access(python, os.X_OK):
            create_venv(venv)
        install(python, venv)
    except subprocess.CalledProcessError as error:
        print(
            f"error: {' '.join(map(str, error.cmd))} failed (exit {error.returncode})",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
