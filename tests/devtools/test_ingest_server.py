"""The local ingest API (`make local`) with a real HTTP client against moto_server's SQS.

A good request lands in the queue exactly once and answers what the API in AWS answers; every
bad request gets its 4xx and JSON error, and nothing lands.
"""

from __future__ import annotations

import json
import re
import signal
import urllib.error
import urllib.request
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config

from devtools.ingest_server import IngestContract, IngestServer, serving, sqs_sender
from devtools.local import sqs_client
from devtools.moto_server import free_port
from modules.config import IngestSpec, load_config
from modules.ingest_contract import (
    BODY_REQUIRED,
    INVALID_BODY,
    METHOD_NOT_ALLOWED,
    MISSING_MESSAGE,
    NOT_FOUND,
    QUEUE_UNAVAILABLE,
    UNSUPPORTED_MEDIA_TYPE,
    body_too_large,
)
from tests.conftest import REPO_ROOT
from tests.devtools.ingest_support import MAX_BODY_BYTES, api_spec
from tests.devtools.local_run import LocalRun

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from mypy_boto3_sqs import SQSClient

    from devtools.moto_server import MotoServer
    from modules.ingest_contract import ErrorReply

pytestmark = pytest.mark.slow

FORM = "application/x-www-form-urlencoded"  # what curl -d and urllib send by default
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class Api:
    """The local API in front of one fresh queue, and what landed in it."""

    def __init__(self, client: SQSClient, server: IngestServer, queue_url: str) -> None:
        self.client = client
        self.server = server
        self.queue_url = queue_url

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(status, JSON body, headers) of one request, whatever its status.

        A body goes as JSON unless `headers` say otherwise (urllib, like curl -d, would
        otherwise send it as a form)."""
        if body:
            headers = {"Content-Type": "application/json", **(headers or {})}
        request = urllib.request.Request(
            f"{self.server.url}{path}", data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read()), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), dict(error.headers)

    def landed(self) -> list[dict[str, Any]]:
        """Every message in the queue (received with visibility 0, so each shows once)."""
        found: dict[str, dict[str, Any]] = {}
        for _ in range(3):
            for message in self.client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=30,
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", []):
                found[message["MessageId"]] = message
        return list(found.values())


@pytest.fixture
def api(moto_server: MotoServer) -> Iterator[Api]:
    client = sqs_client(moto_server)
    queue_url = client.create_queue(QueueName=f"ingest-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    server = IngestServer(IngestContract.of(api_spec()), sqs_sender(client, queue_url), port=0)
    with serving(server):
        yield Api(client, server, queue_url)


def as_json(reply: ErrorReply) -> dict[str, Any]:
    return json.loads(reply.body)


# --- good requests ----------------------------------------------------------------------------


def test_a_post_lands_once_and_answers_its_message_id(api: Api) -> None:
    # Given a JSON body that matches the schema
    body = b'{"id": "order-1", "total": 12.5}'

    # When it is posted
    status, reply, _ = api.call("POST", "/messages", body, {"Content-Type": "application/json"})

    # Then the answer is the message id of the one message that landed, with the body as sent
    assert status == 200
    (message,) = api.landed()
    assert reply == {"message_id": message["MessageId"]}
    assert message["Body"] == body.decode()
    assert "MessageAttributes" not in message


def test_an_idempotency_key_header_becomes_the_message_attribute(api: Api) -> None:
    status, _, _ = api.call(
        "POST",
        "/messages",
        b'{"id": "order-2"}',
        {"Content-Type": "application/json; charset=utf-8", "idempotency-key": "order-2-try"},
    )

    assert status == 200
    (message,) = api.landed()
    assert message["MessageAttributes"] == {
        "idempotency_key": {"StringValue": "order-2-try", "DataType": "String"}
    }


def test_get_queue_queues_the_message_parameter_and_answers_done(api: Api) -> None:
    status, reply, _ = api.call("GET", "/queue?message=1700000000")

    assert (status, reply) == (200, {"done": True})
    assert [message["Body"] for message in api.landed()] == ["1700000000"]


def test_a_body_of_exactly_the_limit_is_accepted(api: Api) -> None:
    body = json.dumps({"id": "x" * (MAX_BODY_BYTES - 10)}).encode()
    assert len(body) == MAX_BODY_BYTES

    status, _, _ = api.call("POST", "/messages", body)

    assert status == 200
    assert len(api.landed()) == 1


# --- bad requests: each its 4xx and JSON, nothing lands -----------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "expected", "allow"),
    [
        ("POST", "/messages", None, {}, BODY_REQUIRED, None),
        ("POST", "/messages", b"", {"Content-Type": "application/json"}, BODY_REQUIRED, None),
        (
            "POST",
            "/messages",
            json.dumps({"id": "x" * MAX_BODY_BYTES}).encode(),
            {},
            body_too_large(MAX_BODY_BYTES),
            None,
        ),
        ("POST", "/messages", b'{"total": 1}', {}, INVALID_BODY, None),  # fails the schema
        ("POST", "/messages", b'{"id": ', {}, INVALID_BODY, None),  # not JSON
        ("POST", "/messages", b'["id"]', {}, INVALID_BODY, None),
        (
            "POST",
            "/messages",
            b"id=1",
            {"Content-Type": "text/plain"},
            UNSUPPORTED_MEDIA_TYPE,
            None,
        ),
        ("POST", "/messages", b'{"id": "a"}', {"Content-Type": FORM}, UNSUPPORTED_MEDIA_TYPE, None),
        ("GET", "/messages", None, {}, METHOD_NOT_ALLOWED, "POST"),
        ("PUT", "/messages", b'{"id": "a"}', {}, METHOD_NOT_ALLOWED, "POST"),
        ("POST", "/queue?message=1", b'{"id": "a"}', {}, METHOD_NOT_ALLOWED, "GET"),
        ("GET", "/queue", None, {}, MISSING_MESSAGE, None),
        ("GET", "/queue?message=", None, {}, MISSING_MESSAGE, None),
        ("GET", "/orders", None, {}, NOT_FOUND, None),
        ("POST", "/messages/1", b'{"id": "a"}', {}, NOT_FOUND, None),
        ("GET", "", None, {}, NOT_FOUND, None),
    ],
    ids=[
        "no-body",
        "empty-body",
        "too-large",
        "schema-fails",
        "not-json",
        "not-an-object",
        "text-media-type",
        "form-media-type",
        "get-messages",
        "put-messages",
        "post-queue",
        "get-queue-without-message",
        "get-queue-empty-message",
        "unknown-route",
        "below-messages",
        "stage-root",
    ],
)
def test_a_bad_request_gets_its_4xx_json_and_nothing_lands(
    api: Api,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    expected: ErrorReply,
    allow: str | None,
) -> None:
    status, reply, response_headers = api.call(method, path, body, headers)

    assert (status, reply) == (expected.status, as_json(expected))
    assert response_headers["Content-Type"] == "application/json"
    assert response_headers.get("Allow") == allow
    assert api.landed() == []


def test_a_path_outside_the_stage_is_forbidden_as_api_gateway_answers(api: Api) -> None:
    url = api.server.url.removesuffix("/v1")
    request = urllib.request.Request(f"{url}/messages", data=b'{"id": "a"}', method="POST")

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)

    assert (refused.value.code, json.loads(refused.value.read())) == (403, {"message": "Forbidden"})
    assert api.landed() == []


def test_an_unreachable_queue_answers_502_for_the_client_to_retry() -> None:
    # Given the local API whose SQS endpoint refuses connections
    dead_endpoint = f"http://127.0.0.1:{free_port()}"
    client = boto3.client(
        "sqs",
        endpoint_url=dead_endpoint,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1),
        region_name="eu-west-1",
        **{key.lower(): value for key, value in CREDENTIALS.items()},
    )
    queue_url = f"{dead_endpoint}/123456789012/ingest"
    server = IngestServer(IngestContract.of(api_spec()), sqs_sender(client, queue_url), port=0)

    # When a good request arrives
    with serving(server):
        status, reply, _ = Api(client, server, queue_url).call("POST", "/messages", b'{"id": "a"}')

    # Then it is the platform's failure, not the client's
    assert (status, reply) == (QUEUE_UNAVAILABLE.status, as_json(QUEUE_UNAVAILABLE))


def test_make_local_serves_the_api_in_front_of_the_consumers_queue(tmp_path: Path) -> None:
    # Given `make local` running with the repository's ingest API on any free port
    run = LocalRun("--ingest-port", "0", log_dir=tmp_path)
    try:
        run.wait_for_done(1)
        match = re.search(
            r"ingest API ingest on (http://127\.0\.0\.1:\d+/v1)", "\n".join(run.lines)
        )
        assert match, "\n".join(run.lines)

        # When a client posts a message
        request = urllib.request.Request(
            f"{match.group(1)}/messages",
            data=b'{"id": "from-a-client"}',
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = json.loads(response.read())
    finally:
        run.process.send_signal(signal.SIGTERM)
        code = run.finish()

    # Then it was queued, and make local stopped cleanly
    assert set(reply) == {"message_id"}
    assert code == 0, "\n".join(run.lines)
    logged = [json.loads(line) for line in (tmp_path / "ingest.log").read_text().splitlines()]
    assert {"httpMethod": "POST", "target": "/v1/messages", "status": 200} in logged


def test_make_local_serves_the_repositorys_ingest_api_for_its_consumer() -> None:
    # The repository declares one ingest API, fed to the consumer make local runs.
    config = load_config(REPO_ROOT)

    (api,) = config.of_kind(IngestSpec)

    assert api.feeds == "consumer"
    assert IngestContract.of(api).schema["required"] == ["id"]
