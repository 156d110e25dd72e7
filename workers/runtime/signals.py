"""Turn SIGTERM/SIGINT into a call on an ordinary thread.

A Python signal handler runs in the main thread between two bytecodes; if it set a
threading.Event while the main thread held that Event's lock, the process would hang.
Here the C-level handler only writes the signal number to a socket (`set_wakeup_fd`),
and a watcher thread reads it and calls `on_stop` — at once, whatever the main thread does.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("workers.consumer")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def call_on_stop_signal(on_stop: Callable[[], None]) -> None:
    """Main thread only. Every SIGTERM/SIGINT from now on logs and calls `on_stop`."""
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    for signum in STOP_SIGNALS:
        # A Python-level handler is needed so that the default action (exit) does not run.
        signal.signal(signum, lambda _signum, _frame: None)

    def watch(reader: socket.socket, _writer: socket.socket) -> None:
        # The thread holds `_writer`: were it garbage-collected, its fd would close and
        # signals would no longer wake this thread.
        while True:
            received = reader.recv(1)
            if not received:
                return
            name = signal.Signals(received[0]).name
            log.info("stop requested", extra={"signal": name})
            on_stop()

    threading.Thread(target=watch, args=(reader, writer), name="stop-signals", daemon=True).start()
