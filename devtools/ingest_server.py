"""The HTTP ingest API's contract on 127.0.0.1, in front of an SQS endpoint, for `make local`.

Answers as the API Gateway stack does (docs/http-ingest.md): the same routes under the same
stage path (`/v1`), the same status codes, the same JSON bodies byte for byte (both come from
modules/ingest_contract.py), the message id from SQS, and the checks in the order AWS makes
them: the WAF body rules, routing, request validation, the media type, then SendMessage.

Not emulated: authentication, throttling and quotas (every request is let in), and TLS (plain
HTTP on loopback; the API in AWS is HTTPS only).

    python -m devtools.ingest_server --queue-url URL [--port 8080] [--api ingest]

reads the API's spec from the repository and sends with the AWS_* variables of the environment
(AWS_ENDPOINT_URL for a local SQS). `make local` starts it by itself when an API feeds its
consumer.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from modules.config import IngestSpec, load_config
from modules.ingest_contract import (
    BODY_REQUIRED,
    IDEMPOTENCY_ATTRIBUTE,
    IDEMPOTENCY_HEADER,
    INVALID_BODY,
    JSON,
    METHOD_NOT_ALLOWED,
    MISSING_MESSAGE,
    NOT_FOUND,
    QUEUE_REJECTED,
    QUEUE_ROUTE_PARAMETER,
    QUEUE_ROUTE_REPLY,
    QUEUE_UNAVAILABLE,
    STAGE,
    UNSUPPORTED_MEDIA_TYPE,
    ErrorReply,
    Route,
    body_too_large,
    message_id_reply,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from email.message import Message

    from mypy_boto3_sqs import SQSClient

    # Sends (message body, idempotency key or None); returns the SQS message id.
    Sender = Callable[[str, str | None], str]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 8080
STAGE_PREFIX = f"/{STAGE}"
# What API Gateway answers for a path outside every stage, before the API itself is involved.
NO_STAGE = (HTTPStatus.FORBIDDEN, json.dumps({"message": "Forbidden"}))
# How long a connection may keep the server waiting for the rest of a request (a body shorter
# than its Content-Length, an idle keep-alive): then the thread answers 408 or closes, and is free.
DEFAULT_REQUEST_TIMEOUT_SECONDS = 10.0
# Digits in a Content-Length worth reading: far beyond any body limit, and no huge integers.
_MAX_LENGTH_DIGITS = 18

# How the request is framed, checked before anything is read: in AWS, the HTTP front door answers
# these before the API sees the request. All of them close the connection, since what follows
# the headers cannot be told apart from a next request.
BAD_LENGTH = ErrorReply(
    400, "BAD_CONTENT_LENGTH", "Content-Length must be one whole number of bytes, 0 or more"
)
# Chunked bodies get 411 rather than being decoded: the WAF body rule this server answers as
# refuses a body over the limit before reading it, which needs its length up front, and the API's
# clients (SDKs, curl -d, webhooks) send JSON bodies with a Content-Length.
LENGTH_REQUIRED = ErrorReply(
    411, "LENGTH_REQUIRED", "send the body with a Content-Length; chunked bodies are not taken"
)
INCOMPLETE_BODY = ErrorReply(400, "INCOMPLETE_BODY", "the body ended before its Content-Length")
BODY_TIMEOUT = ErrorReply(408, "REQUEST_TIMEOUT", "the body did not arrive in time")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class QueueError(Exception):
    """SendMessage failed; `status` is SQS's HTTP status (None: SQS could not be reached)."""

    def __init__(self, status: int | None) -> None:
        super().__init__(f"SendMessage failed with HTTP status {status}")
        self.status = status


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query, as in the request line
    headers: Mapping[str, str]  # by lower-case name
    body: bytes  # empty when it was refused unread (too large)
    size: int  # Content-Length


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def error(cls, reply: ErrorReply, *headers: tuple[str, str]) -> Reply:
        return cls(reply.status, reply.body, headers)


@dataclass(frozen=True)
class IngestContract:
    """What the server needs of an API's spec."""

    routes: frozenset[Route]
    max_body_bytes: int
    schema: dict[str, Any]

    @classmethod
    def of(cls, spec: IngestSpec) -> IngestContract:
        return cls(frozenset(Route(r) for r in spec.routes), spec.max_body_bytes, spec.body_schema)

    def body_matches(self, body: bytes) -> bool:
        from jsonschema import Draft4Validator

        try:
            document = json.loads(body.decode("utf-8"))
            return Draft4Validator(self.schema).is_valid(document)
        # Nesting deeper than the parser or the validator recurse is no valid body either.
        except (UnicodeDecodeError, ValueError, RecursionError):
            return False


def answer(request: Request, contract: IngestContract, send: Sender) -> Reply:
    """The API's reply to `request`: every check in AWS's order, then SendMessage."""
    # AWS WAF (modules/constructs/body_limits.py): before API Gateway routes anything.
    if request.size > contract.max_body_bytes:
        return Reply.error(body_too_large(contract.max_body_bytes))
    if request.method == "POST" and request.size == 0:
        return Reply.error(BODY_REQUIRED)
    url = urlsplit(request.target)
    if url.path != STAGE_PREFIX and not url.path.startswith(f"{STAGE_PREFIX}/"):
        return Reply(*NO_STAGE)
    path = url.path.removeprefix(STAGE_PREFIX)
    route = next((route for route in contract.routes if route.path == path), None)
    if route is None:
        return Reply.error(NOT_FOUND)
    if request.method != route.method:
        return Reply.error(METHOD_NOT_ALLOWED, ("Allow", route.method))
    return _ROUTES[route](request, contract, send)


def _messages(request: Request, contract: IngestContract, send: Sender) -> Reply:
    # A body in another media type matches no model, so API Gateway skips validation, and the
    # integration, which takes JSON only, refuses it.
    if not _is_json(request):
        return Reply.error(UNSUPPORTED_MEDIA_TYPE)
    if not contract.body_matches(request.body):
        return Reply.error(INVALID_BODY)
    return _send(request, request.body.decode("utf-8"), message_id_reply, send)


def _queue_route(request: Request, _: IngestContract, send: Sender) -> Reply:
    # Parameter validation comes first (method request), the media type at the integration.
    query = parse_qs(urlsplit(request.target).query, keep_blank_values=True)
    values = query.get(QUEUE_ROUTE_PARAMETER)
    if not values or not values[-1].strip():
        return Reply.error(MISSING_MESSAGE)
    if not _is_json(request):
        return Reply.error(UNSUPPORTED_MEDIA_TYPE)
    return _send(request, values[-1], lambda _message_id: QUEUE_ROUTE_REPLY, send)


_ROUTES: dict[Route, Callable[[Request, IngestContract, Sender], Reply]] = {
    Route.MESSAGES: _messages,
    Route.QUEUE: _queue_route,
}


def _is_json(request: Request) -> bool:
    """API Gateway takes a request without a Content-Type for JSON."""
    media_type = request.headers.get("content-type", JSON).split(";")[0].strip().lower()
    return media_type == JSON


def _send(
    request: Request,
    message: str,
    success: Callable[[str], str],
    send: Sender,
) -> Reply:
    key = request.headers.get(IDEMPOTENCY_HEADER.lower()) or None
    try:
        message_id = send(message, key)
    except QueueError as error:
        return Reply.error(QUEUE_REJECTED if error.status == 400 else QUEUE_UNAVAILABLE)
    return Reply(HTTPStatus.OK, success(message_id))


def sqs_sender(client: SQSClient, queue_url: str) -> Sender:
    """SendMessage with the attributes the API's mapping template sets."""
    from botocore.exceptions import BotoCoreError, ClientError

    def send(message: str, idempotency_key: str | None) -> str:
        attributes: dict[str, Any] = {}
        if idempotency_key is not None:
            attributes[IDEMPOTENCY_ATTRIBUTE] = {
                "DataType": "String",
                "StringValue": idempotency_key,
            }
        try:
            return client.send_message(
                QueueUrl=queue_url, MessageBody=message, MessageAttributes=attributes
            )["MessageId"]
        except ClientError as error:
            raise QueueError(error.response["ResponseMetadata"]["HTTPStatusCode"]) from None
        except BotoCoreError:
            raise QueueError(None) from None

    return send


def declared_length(headers: Message) -> int | ErrorReply:
    """The body's length as the headers declare it, or the error that refuses the request."""
    if headers.get("Transfer-Encoding") is not None:
        return LENGTH_REQUIRED
    values = {value.strip() for value in headers.get_all("Content-Length") or []}
    if not values:
        return 0
    if len(values) > 1:  # lengths that disagree
        return BAD_LENGTH
    (raw,) = values
    if not (raw.isascii() and raw.isdigit() and len(raw) <= _MAX_LENGTH_DIGITS):
        return BAD_LENGTH
    return int(raw)


class _Handler(BaseHTTPRequestHandler):
    server: IngestServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        # StreamRequestHandler applies it to the socket: no read waits longer.
        self.timeout = self.server.request_timeout
        super().setup()

    def _handle(self) -> None:
        size = declared_length(self.headers)
        if isinstance(size, ErrorReply):
            self._reply(Reply.error(size), close=True)
            return
        body = b""
        if size > self.server.contract.max_body_bytes:
            self.close_connection = True  # refused unread, as WAF does: the connection ends
        else:
            try:
                body = self.rfile.read(size)
            except TimeoutError:
                self._reply(Reply.error(BODY_TIMEOUT), close=True)
                return
            if len(body) < size:
                self._reply(Reply.error(INCOMPLETE_BODY), close=True)
                return
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(self.command, self.path, headers, body, size)
        reply = answer(request, self.server.contract, self.server.send)
        # A body sent without a length would be read as the next request: end the connection.
        missing_length = self.command in _BODY_METHODS and "Content-Length" not in self.headers
        self._reply(reply, close=self.close_connection or missing_length)

    def _reply(self, reply: Reply, *, close: bool) -> None:
        payload = reply.body.encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", JSON)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.server.log(self.command, self.path, reply.status)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: `IngestServer.log` writes one JSON line per request instead."""


class IngestServer(ThreadingHTTPServer):
    """The contract on 127.0.0.1:`port` (0: any free port), served from a thread."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        contract: IngestContract,
        send: Sender,
        port: int = DEFAULT_PORT,
        log: Callable[[str, str, int], None] | None = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.contract = contract
        self.send = send
        self._log = log
        self.request_timeout = request_timeout

    @property
    def url(self) -> str:
        """The base URL, as the stack's `invoke_url` output is in AWS."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}{STAGE_PREFIX}"

    def log(self, method: str, target: str, status: int) -> None:
        if self._log is not None:
            self._log(method, target, status)


@contextlib.contextmanager
def serving(server: IngestServer) -> Iterator[IngestServer]:
    """Serve from a thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, name="ingest-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def json_lines(path: Path) -> Callable[[str, str, int], None]:
    """A request log writing one JSON line per request to `path`."""
    lock = threading.Lock()

    def log(method: str, target: str, status: int) -> None:
        line = json.dumps({"httpMethod": method, "target": target, "status": status})
        with lock, path.open("a", encoding="utf-8") as file:
            file.write(line + "\n")

    return log


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(prog="python -m devtools.ingest_server", description=__doc__)
    parser.add_argument("--queue-url", required=True, help="the queue SendMessage writes to")
    parser.add_argument(
        "--api", default=None, help="the ingest API's folder (default: the only one)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"Default: {DEFAULT_PORT}")
    args = parser.parse_args(argv)
    apis = load_config(REPO_ROOT).of_kind(IngestSpec)
    chosen = [api for api in apis if args.api in (None, api.name)]
    if len(chosen) != 1:
        names = ", ".join(api.name for api in apis) or "none"
        print(f"error: name one ingest API with --api; declared: {names}", file=sys.stderr)
        return 2
    server = IngestServer(
        IngestContract.of(chosen[0]), sqs_sender(boto3.client("sqs"), args.queue_url), args.port
    )
    print(f"ingest API {chosen[0].name} on {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
