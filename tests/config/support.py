"""What the config tests share: the files they edit, the edits themselves, hostile file
contents, and `main.py` run as users run it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import yaml

from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

PROJECT = "platform.yaml"
CONSUMER = "workers/consumer/service.yaml"
PRODUCER = "workers/producer/service.yaml"
JOB = "workers/crunch/service.yaml"
INGEST = "workers/ingest/service.yaml"
# main.py validates before it imports cdktf: a bad config answers in about a second.
MAIN_TIMEOUT_SECONDS = 120


# --- edits: each returns a function that changes a copy of the repository --------------------


def _set(document: Any, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        document = document[int(part)] if isinstance(document, list) else document[part]
    if isinstance(document, list):
        document[int(last)] = value
    else:
        document[last] = value


def set_key(file: str, dotted: str, value: Any) -> Callable[[Path], None]:
    """Set `dotted` (keys and list indexes, e.g. `containers.0.cpu`) in a YAML file."""

    def edit(root: Path) -> None:
        document = yaml.safe_load((root / file).read_text())
        _set(document, dotted, value)
        (root / file).write_text(yaml.safe_dump(document, sort_keys=False))

    return edit


def replace_text(file: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        text = (root / file).read_text()
        assert text.count(old) == 1, f"{file} should hold {old!r} exactly once"
        (root / file).write_text(text.replace(old, new))

    return edit


def write_text(file: str, text: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        (root / file).write_text(text)

    return edit


def delete_file(file: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        (root / file).unlink()

    return edit


def write_bytes(file: str, data: bytes) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        (root / file).write_bytes(data)

    return edit


def make_folder(file: str) -> Callable[[Path], None]:
    """`file` replaced by a folder of the same name."""

    def edit(root: Path) -> None:
        (root / file).unlink(missing_ok=True)
        (root / file).mkdir(parents=True)

    return edit


def link_outside(file: str) -> Callable[[Path], None]:
    """`file` replaced by a symbolic link to a copy of it outside the repository."""

    def edit(root: Path) -> None:
        outside = root.parent / f"outside-{(root / file).name}"
        outside.write_bytes((root / file).read_bytes())
        (root / file).unlink()
        (root / file).symlink_to(outside)

    return edit


def rename_file(file: str, new_name: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        (root / file).rename((root / file).with_name(new_name))

    return edit


def copy_file(file: str, target: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        shutil.copy2(root / file, root / target)

    return edit


def copy_service(source: str, target: str) -> Callable[[Path], None]:
    """A new service folder `target` holding a copy of `source`'s folder."""

    def edit(root: Path) -> None:
        shutil.copytree(root / "workers" / source, root / "workers" / target)

    return edit


# --- hostile file contents: an alias bomb, a list nested 10,000 deep, a 10 MB value ---------

ALIAS_BOMB = "\n".join(
    [
        "kind: consumer",
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]"
            for i in range(8)
        ),
        "containers: [{name: worker, environment: {BOMB: *i}}]",
        "",
    ]
)
DEEP_LIST = "kind: consumer\nconcurrency: " + "[" * 10_000 + "]" * 10_000 + "\n"
TEN_MB_VALUE = "kind: consumer\ndescription: " + "x" * (10 * 1024 * 1024) + "\n"


# --- main.py as users run it --------------------------------------------------------------------


def run_main(root: Path, outdir: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "CDKTF_OUTDIR"}
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), "--root", str(root), "--outdir", str(outdir)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
