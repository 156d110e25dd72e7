"""A real moto_server process on a free loopback port, for tests, `make local` and benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

STARTUP_DEADLINE_SECONDS = 30
REPO_ROOT = Path(__file__).resolve().parent.parent


class PortInUse(RuntimeError):
    """The port asked for is taken; the message says which and what to do."""


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MotoServer:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, region: str = "eu-west-1") -> dict[str, str]:
        """Environment for a worker process talking to this server."""
        return {
            **os.environ,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "PYTHONUNBUFFERED": "1",
        }

    def freeze(self) -> None:
        """Make SQS unreachable without wiping it (a restart would lose every queue)."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)


def _moto_server_command() -> list[str]:
    script = Path(sys.executable).with_name("moto_server")
    return [str(script)] if script.exists() else [sys.executable, "-m", "moto.server"]


def _patched_environment() -> dict[str, str]:
    """The environment for `python -m devtools.moto_patches`: this repository importable."""
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


@contextlib.contextmanager
def running_moto_server(patched: bool = False, port: int | None = None) -> Iterator[MotoServer]:
    """Start moto_server on 127.0.0.1, wait until it answers, stop it afterwards.

    `patched`: run it with devtools/moto_patches.py applied (the AWS behaviour that applying
    our Terraform stacks needs and stock moto lacks). `port`: Default: a free one.
    """
    if port is None:
        port = free_port()
    elif not port_is_free(port):
        raise PortInUse(
            f"port {port} on 127.0.0.1 is in use: pick another, or leave the port out to use "
            "a free one"
        )
    command = [sys.executable, "-m", "devtools.moto_patches"] if patched else _moto_server_command()
    process = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT if patched else None,
        env=_patched_environment() if patched else None,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own session: Ctrl-C in a terminal must not kill SQS before `make local` has
        # stopped the workers that still talk to it; the owner stops it in `finally` below.
        start_new_session=True,
    )
    server = MotoServer(process, port)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        server.thaw()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(server: MotoServer) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"moto_server exited with code {server.process.returncode}")
        try:
            with urllib.request.urlopen(f"{server.endpoint_url}/moto-api/", timeout=1):
                return
        except OSError:
            time.sleep(0.05)  # polling interval while the server starts, not synchronisation
    raise RuntimeError(f"moto_server did not answer within {STARTUP_DEADLINE_SECONDS} s")
