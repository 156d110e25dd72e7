"""devtools/bootstrap.py, what `make` runs first: what pip is about to install and how much it
downloads, said before the wait (pip itself stands in here: no network, no install)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import pytest

from devtools import bootstrap

if TYPE_CHECKING:
    from pathlib import Path


def test_a_local_index_file_is_sized_from_the_file(tmp_path: Path) -> None:
    wheel = tmp_path / "six-1.17.0-py2.py3-none-any.whl"
    wheel.write_bytes(b"x" * 1234)

    assert bootstrap.size_of(wheel.as_uri()) == 1234
    assert bootstrap.size_of((tmp_path / "missing.whl").as_uri()) is None
    assert bootstrap.size_of("git+ssh://example/repo") is None


def test_sizes_add_up_and_unknown_ones_are_counted(tmp_path: Path) -> None:
    files = []
    for index, size in enumerate((1000, 2000)):
        path = tmp_path / f"p{index}.whl"
        path.write_bytes(b"x" * size)
        files.append(bootstrap.Download(f"p{index}", path.as_uri()))
    files.append(bootstrap.Download("gone", (tmp_path / "gone.whl").as_uri()))

    assert bootstrap.download_size(files) == (3000, 1)


@pytest.mark.parametrize(
    ("size", "shown"),
    [(999, "999 B"), (1500, "1.5 kB"), (193_400_000, "193 MB"), (1_100_000_000, "1.1 GB")],
)
def test_sizes_are_shown_as_people_read_them(size: int, shown: str) -> None:
    assert bootstrap.human(size) == shown


def test_what_pip_would_install_comes_from_its_dry_run_report(tmp_path: Path) -> None:
    # Given a stand-in for the venv's python whose pip writes the report pip would
    report = {
        "install": [
            {
                "metadata": {"name": "boto3"},
                "download_info": {"url": "file:///index/boto3.whl", "archive_info": {}},
            },
            {  # the project itself: a folder, nothing to download
                "metadata": {"name": "fargate-worker-platform"},
                "download_info": {"url": "file:///repo", "dir_info": {}},
            },
        ]
    }
    answer = tmp_path / "report.json"
    answer.write_text(json.dumps(report))
    python = tmp_path / "python"
    python.write_text(
        f"#!{sys.executable}\n"
        "import shutil, sys\n"
        "args = sys.argv[1:]\n"
        "assert '--dry-run' in args and args[-1] == '.[dev]', args\n"
        f"shutil.copy({str(answer)!r}, args[args.index('--report') + 1])\n"
    )
    python.chmod(0o755)

    assert bootstrap.planned(python) == [bootstrap.Download("boto3", "file:///index/boto3.whl")]
