"""A TCP proxy on loopback that counts the SQS requests passing through it, by operation.

Put it between any process and moto_server (`AWS_ENDPOINT_URL=proxy.endpoint_url`) to
count what a worker really sends, without touching the worker's code: the benchmark's
"SQS requests per message" is measured here. It can also cut the connection (`cut()` /
`restore()`): an outage that, unlike restarting moto_server, keeps every queue.

It reads HTTP/1.1 request heads to find each request's operation (the `X-Amz-Target`
header of the JSON protocol, or `Action=` of the query protocol) and its body length;
responses are copied through untouched. It also times each request from its forwarding to
the first byte of its answer (botocore sends one request at a time per connection), so a
benchmark can show what an SQS round trip costs the worker.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections import Counter, defaultdict, deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

MAX_HEAD_BYTES = 64 * 1024
CHUNK_BYTES = 64 * 1024
_ACTION = re.compile(rb"(?:^|&)Action=([A-Za-z]+)")


class _ConnectionClosed(Exception):
    """The client or the upstream closed its side."""


class _Reader:
    """Buffered reads from one socket: up to a delimiter, or an exact number of bytes."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        data = self.sock.recv(CHUNK_BYTES)
        if not data:
            raise _ConnectionClosed
        self.buffer += data

    def until(self, delimiter: bytes) -> bytes:
        while delimiter not in self.buffer:
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise _ConnectionClosed
            self._fill()
        head, _, self.buffer = self.buffer.partition(delimiter)
        return head + delimiter

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def operation_of(head: bytes, body: bytes) -> str:
    """`ReceiveMessage` from `X-Amz-Target: AmazonSQS.ReceiveMessage` or `Action=...`."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"x-amz-target":
            return value.strip().decode("ascii", "replace").rpartition(".")[2]
    target = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
    match = _ACTION.search(body) or _ACTION.search(target.partition(b"?")[2])
    return match.group(1).decode() if match else "unknown"


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


class CountingProxy:
    """Listens on 127.0.0.1 (a free port) and forwards to 127.0.0.1:`upstream_port`."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._counts: Counter[str] = Counter()
        self._round_trips: defaultdict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def counts(self) -> Counter[str]:
        """Requests forwarded so far, by operation name."""
        with self._lock:
            return Counter(self._counts)

    def round_trips(self) -> dict[str, list[float]]:
        """Seconds from forwarding each request to the first byte of its answer, by operation."""
        with self._lock:
            return {operation: list(times) for operation, times in self._round_trips.items()}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._round_trips.clear()

    def cut(self) -> None:
        """SQS becomes unreachable: open connections are closed, new ones refused at once."""
        self._cut.set()
        self._close_open()

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._closed.set()
        # close() alone does not wake a thread blocked in accept() on Linux; shutdown() does.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._close_open()
        self._acceptor.join(timeout=5)

    def _close_open(self) -> None:
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            if self._cut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open |= {client, upstream}
            awaiting: deque[tuple[str, float]] = deque()  # requests not answered yet
            threading.Thread(
                target=self._requests, args=(client, upstream, awaiting), daemon=True
            ).start()
            threading.Thread(
                target=self._answers, args=(upstream, client, awaiting), daemon=True
            ).start()

    def _requests(
        self,
        client: socket.socket,
        upstream: socket.socket,
        awaiting: deque[tuple[str, float]],
    ) -> None:
        """Forward requests one by one, counting each by operation."""
        reader = _Reader(client)
        try:
            while True:
                head = reader.until(b"\r\n\r\n")
                body = reader.exactly(_content_length(head))
                operation = operation_of(head, body)
                with self._lock:
                    self._counts[operation] += 1
                # Queued before sending, so the answer can never arrive first.
                awaiting.append((operation, time.monotonic()))
                upstream.sendall(head + body)
        except (_ConnectionClosed, OSError, ValueError):
            self._hang_up(client, upstream)

    def _answers(
        self,
        upstream: socket.socket,
        client: socket.socket,
        awaiting: deque[tuple[str, float]],
    ) -> None:
        """Copy answers back; the first chunk after a request is the start of its answer (the
        client sends its next request only after the whole answer arrived)."""
        with contextlib.suppress(OSError):  # either side went away: hang up both below
            while data := upstream.recv(CHUNK_BYTES):
                if awaiting:
                    operation, sent = awaiting.popleft()
                    with self._lock:
                        self._round_trips[operation].append(time.monotonic() - sent)
                client.sendall(data)
        self._hang_up(upstream, client)

    def _hang_up(self, *sockets: socket.socket) -> None:
        """Shut both ends (which wakes the other thread of this connection), then close."""
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with self._lock:
                self._open.discard(sock)


@contextlib.contextmanager
def counting_proxy(upstream_port: int) -> Iterator[CountingProxy]:
    proxy = CountingProxy(upstream_port)
    try:
        yield proxy
    finally:
        proxy.close()
