"""The local ingest API against badly framed requests, over raw sockets on 127.0.0.1: each gets
its 4xx at once (or after the request timeout, for a body that never arrives), never a traceback,
and no thread stays held. Then a bounded, seeded fuzz of the same.

"At once" is checked against a server that would wait far longer for bytes that never come: its
request timeout is 30 s and the answer must come within 15 s, a margin no load on the machine
closes, while a server that waited for the body fails by the status (408) and the time alike.

The queue is a fake here: what is tested is the HTTP layer in front of it.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from devtools.ingest_server import (
    BAD_LENGTH,
    BODY_TIMEOUT,
    INCOMPLETE_BODY,
    LENGTH_REQUIRED,
    IngestContract,
    IngestServer,
    serving,
)
from modules.ingest_contract import BODY_REQUIRED, INVALID_BODY
from tests.devtools.ingest_support import api_spec

if TYPE_CHECKING:
    from collections.abc import Iterator

    from modules.ingest_contract import ErrorReply

MAX_BODY_BYTES = 16384
# The request timeout of the server whose clients stop sending: each such test waits it out.
REQUEST_TIMEOUT_SECONDS = 0.5
# The request timeout of the server whose clients sent all they had: what a server that waited
# for bytes that never come would take to answer.
PATIENT_TIMEOUT_SECONDS = 30.0
# An answer given at once comes within this however loaded the machine, and a wait for the
# patient timeout does not.
AT_ONCE_SECONDS = PATIENT_TIMEOUT_SECONDS / 2
# The client gives up on a connection after this: only a server that never answers reaches it.
CLIENT_GIVES_UP_SECONDS = PATIENT_TIMEOUT_SECONDS * 2
FUZZ_SEED = 20251203
FUZZ_CASES = 300
GOOD_BODY = b'{"id": "order-1"}'


@dataclass
class LocalApi:
    server: IngestServer
    errors: list[str]  # exceptions the server reported (its tracebacks)
    sent: list[str]

    def request(self, raw: bytes, *, finish: bool = True) -> tuple[int | None, bytes, float]:
        """(status, whole response, seconds) of `raw` sent on a new connection.

        `finish`: end the sending side after `raw`, as a client that sent all it had."""
        host, port = self.server.server_address[:2]
        started = time.monotonic()
        with socket.create_connection((str(host), port), timeout=CLIENT_GIVES_UP_SECONDS) as sock:
            try:
                sock.sendall(raw)
                if finish:
                    sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server may close before reading everything (a body refused unread)
            response = read_until_closed(sock)
        return status_of(response), response, time.monotonic() - started


def read_until_closed(sock: socket.socket) -> bytes:
    """What the server sent until it closed (or reset) the connection, or until the client gave
    up: the caller's status and time checks then fail with what arrived."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except (ConnectionResetError, TimeoutError):
        pass
    return b"".join(chunks)


def status_of(response: bytes) -> int | None:
    parts = response.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def held_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.endswith("(process_request_thread)")]


def wait_for_no_held_threads(deadline_seconds: float) -> list[threading.Thread]:
    deadline = time.monotonic() + deadline_seconds
    while (held := held_threads()) and time.monotonic() < deadline:
        held[0].join(timeout=max(0.0, deadline - time.monotonic()))
    return held_threads()


@contextlib.contextmanager
def running_api(request_timeout: float) -> Iterator[LocalApi]:
    """The API in front of a fake queue; on leaving, no request thread may stay held."""
    sent: list[str] = []

    def send(message: str, _key: str | None) -> str:
        sent.append(message)
        return f"message-{len(sent)}"

    contract = IngestContract.of(api_spec(max_body_bytes=MAX_BODY_BYTES))
    server = IngestServer(contract, send, port=0, request_timeout=request_timeout)
    errors: list[str] = []
    server.handle_error = lambda _request, _address: errors.append("exception")  # type: ignore[method-assign]
    with serving(server):
        yield LocalApi(server, errors, sent)
    assert wait_for_no_held_threads(request_timeout * 4 + 5) == []


@pytest.fixture
def local_api() -> Iterator[LocalApi]:
    """The API with a short request timeout: for clients that stop sending."""
    with running_api(REQUEST_TIMEOUT_SECONDS) as api:
        yield api


@pytest.fixture
def patient_api() -> Iterator[LocalApi]:
    """The API with a request timeout no answer given at once comes near: for clients that sent
    all they had."""
    with running_api(PATIENT_TIMEOUT_SECONDS) as api:
        yield api


def post(headers: str, body: bytes = b"") -> bytes:
    head = f"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n"
    return head.encode() + body


def error_of(response: bytes) -> dict[str, str]:
    return json.loads(response.split(b"\r\n\r\n", 1)[1])


def as_json(reply: ErrorReply) -> dict[str, str]:
    return json.loads(reply.body)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (post("Content-Length: abc\r\n", GOOD_BODY), BAD_LENGTH),
        (post("Content-Length: -1\r\n", GOOD_BODY), BAD_LENGTH),
        (post("Content-Length: +17\r\n", GOOD_BODY), BAD_LENGTH),
        (post("Content-Length: 1.7e1\r\n", GOOD_BODY), BAD_LENGTH),
        (post("Content-Length: 0x11\r\n", GOOD_BODY), BAD_LENGTH),
        (post("Content-Length: \u0661\u0667\r\n", GOOD_BODY), BAD_LENGTH),  # Arabic-Indic 17
        (post("Content-Length: " + "9" * 40 + "\r\n", GOOD_BODY), BAD_LENGTH),
        (post("Content-Length: 17\r\nContent-Length: 18\r\n", GOOD_BODY), BAD_LENGTH),
        (
            post("Transfer-Encoding: chunked\r\n", b"11\r\n" + GOOD_BODY + b"\r\n0\r\n\r\n"),
            LENGTH_REQUIRED,
        ),
        (post("Transfer-Encoding: chunked\r\nContent-Length: 17\r\n", GOOD_BODY), LENGTH_REQUIRED),
        (post("", GOOD_BODY), BODY_REQUIRED),  # no length: no body, and the connection ends
        (post("Content-Length: 100\r\n", GOOD_BODY), INCOMPLETE_BODY),
        (post("Content-Length: 16000\r\n", b"[" * 16000), INVALID_BODY),
        (post("Content-Length: 16009\r\n", b'{"id": "x", "a": ' + b"[" * 15992), INVALID_BODY),
    ],
    ids=[
        "length-abc",
        "length-negative",
        "length-plus-sign",
        "length-float",
        "length-hex",
        "length-non-ascii-digits",
        "length-40-digits",
        "lengths-disagree",
        "chunked",
        "chunked-and-length",
        "no-length",
        "body-shorter-than-length",
        "json-16000-deep",
        "json-deep-inside-an-object",
    ],
)
def test_a_badly_framed_request_gets_its_4xx_at_once_and_the_connection_ends(
    patient_api: LocalApi, raw: bytes, expected: ErrorReply
) -> None:
    status, response, seconds = patient_api.request(raw)

    assert status == expected.status, response[:300]
    assert error_of(response) == as_json(expected)
    assert seconds < AT_ONCE_SECONDS
    assert patient_api.errors == []
    assert patient_api.sent == []


def test_a_body_that_never_arrives_gets_408_after_the_request_timeout(
    local_api: LocalApi,
) -> None:
    # The client declares 100 bytes, sends 17, and waits.
    status, response, seconds = local_api.request(
        post("Content-Length: 100\r\n", GOOD_BODY), finish=False
    )

    assert status == BODY_TIMEOUT.status
    assert error_of(response) == as_json(BODY_TIMEOUT)
    assert REQUEST_TIMEOUT_SECONDS <= seconds < REQUEST_TIMEOUT_SECONDS + AT_ONCE_SECONDS
    assert local_api.errors == []


def test_a_good_request_still_lands(local_api: LocalApi) -> None:
    status, response, _ = local_api.request(post("Content-Length: 17\r\n", GOOD_BODY))

    assert status == 200, response
    assert local_api.sent == [GOOD_BODY.decode()]


# --- fuzz ---------------------------------------------------------------------------------------

METHODS = ("POST", "GET", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "BREW", "post")
PATHS = ("/v1/messages", "/v1/queue?message=1", "/v1/queue", "/v1", "/", "/v1/messages/%00", "*")
JUNK = ("", "abc", "-1", "0", "17", "99999999999999999999", " 5", "5 ", "1,2", "\t", "é", "0x10")


def fuzz_request(rng: random.Random) -> tuple[bytes, bool]:
    """A request built from good and bad parts, and whether the client finishes sending."""
    body = rng.choice(
        (
            GOOD_BODY,
            b"",
            b"[" * rng.randint(1, 20000),
            bytes(rng.randrange(256) for _ in range(rng.randint(0, 300))),
            b'{"id": "' + b"x" * rng.randint(0, 20000) + b'"}',
        )
    )
    headers = []
    for _ in range(rng.randint(0, 4)):
        name = rng.choice(
            ("Content-Length", "Transfer-Encoding", "Content-Type", "Idempotency-Key", "X-Junk")
        )
        value = rng.choice((*JUNK, str(len(body)), "chunked", "application/json", "x" * 5000))
        headers.append(f"{name}: {value}")
    if rng.random() < 0.5:
        headers.append(f"Content-Length: {len(body)}")
    version = rng.choice(("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1", ""))
    line = f"{rng.choice(METHODS)} {rng.choice(PATHS)} {version}".strip()
    head = "\r\n".join((line, "Host: 127.0.0.1", *headers, "", ""))
    raw = head.encode("utf-8", "surrogateescape") + body
    if rng.random() < 0.1:
        raw = raw[: rng.randrange(len(raw) + 1)]
    return raw, rng.random() < 0.9


def test_fuzzed_requests_are_answered_without_a_traceback_or_a_held_thread(
    local_api: LocalApi,
) -> None:
    rng = random.Random(FUZZ_SEED)
    failures = []
    for case in range(FUZZ_CASES):
        raw, finish = fuzz_request(rng)
        status, _, seconds = local_api.request(raw, finish=finish)
        # The HTTP layer itself may answer 501 (unknown method) or 505 (HTTP version); nothing
        # may answer 500, and a request cut short may get no answer, never a late one.
        if status is not None and (status == 500 or not 200 <= status < 600):
            failures.append(f"case {case}: status {status}")
        if seconds > REQUEST_TIMEOUT_SECONDS + AT_ONCE_SECONDS:
            failures.append(f"case {case}: answered after {seconds:.1f} s")

    assert failures == []
    assert local_api.errors == []
