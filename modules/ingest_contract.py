"""The HTTP ingest API's request/response contract, in one place for both of its servers.

The API Gateway stack (modules/stacks/ingest.py) renders these routes, status codes and JSON
bodies into gateway responses, WAF custom responses and mapping templates; the local server of
`make local` (devtools/ingest_server.py) answers with the very same bytes. A client developed
against one behaves the same against the other (docs/http-ingest.md).

Nothing here imports cdktf: config validation and the local server load it cheaply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "BODY_REQUIRED",
    "DEFAULT_REQUEST_SCHEMA",
    "IDEMPOTENCY_ATTRIBUTE",
    "IDEMPOTENCY_HEADER",
    "INVALID_BODY",
    "JSON",
    "JSON_SCHEMA_DRAFT_4",
    "METHOD_NOT_ALLOWED",
    "MISSING_MESSAGE",
    "NOT_FOUND",
    "QUEUE_REJECTED",
    "QUEUE_ROUTE_PARAMETER",
    "QUEUE_ROUTE_REPLY",
    "QUEUE_UNAVAILABLE",
    "STAGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "ErrorReply",
    "Route",
    "body_too_large",
    "check_request_schema",
    "message_id_reply",
]


class Route(StrEnum):
    """The routes an ingest API may serve (its spec's `routes` lists which)."""

    MESSAGES = "POST /messages"
    QUEUE = "GET /queue"  # the message in a query string: GET /queue?message=<text>

    @property
    def method(self) -> str:
        return self.value.split(" ")[0]

    @property
    def path(self) -> str:
        return self.value.split(" ")[1]


# The stage every API is deployed to: https://<api id>.execute-api.<region>.amazonaws.com/v1.
STAGE = "v1"
JSON = "application/json"
# GET /queue's query parameter that becomes the message body.
QUEUE_ROUTE_PARAMETER = "message"
# A client's key for one logical message, kept on every retry of it; the consumer's runtime
# reads the message attribute (workers/runtime/message.py IDEMPOTENCY_KEY_ATTRIBUTE).
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_ATTRIBUTE = "idempotency_key"

# API Gateway validates request bodies against JSON Schema draft 4 models.
JSON_SCHEMA_DRAFT_4 = "http://json-schema.org/draft-04/schema#"
# Without a `request_schema`, a body must still be a JSON object (a message, not a bare value).
DEFAULT_REQUEST_SCHEMA: dict[str, Any] = {"type": "object"}


@dataclass(frozen=True)
class ErrorReply:
    """A 4xx/5xx answer: its status and a JSON body `{"error": CODE, "message": text}`."""

    status: int
    error: str
    message: str

    @property
    def body(self) -> str:
        return json.dumps({"error": self.error, "message": self.message})


# In the order a request meets them: AWS WAF (body present and within the limit), routing,
# authentication, throttling, request validation, then SQS.
BODY_REQUIRED = ErrorReply(400, "BODY_REQUIRED", "a POST needs a JSON body")
NOT_FOUND = ErrorReply(404, "NOT_FOUND", "no such route")
METHOD_NOT_ALLOWED = ErrorReply(405, "METHOD_NOT_ALLOWED", "the route takes another method")
UNSUPPORTED_MEDIA_TYPE = ErrorReply(
    415, "UNSUPPORTED_MEDIA_TYPE", "send the body as Content-Type: application/json"
)
INVALID_BODY = ErrorReply(
    400, "INVALID_BODY", "the body is not JSON that matches the API's request schema"
)
MISSING_MESSAGE = ErrorReply(
    400,
    "MISSING_PARAMETER",
    f"GET /queue needs a non-empty {QUEUE_ROUTE_PARAMETER} query parameter",
)
QUEUE_REJECTED = ErrorReply(400, "QUEUE_REJECTED", "the queue rejected the message")
QUEUE_UNAVAILABLE = ErrorReply(502, "QUEUE_UNAVAILABLE", "the message was not queued; retry")


def body_too_large(max_body_bytes: int) -> ErrorReply:
    return ErrorReply(413, "BODY_TOO_LARGE", f"the body is larger than {max_body_bytes} bytes")


def message_id_reply(message_id: str) -> str:
    """POST /messages' 200 body: the SQS message id of the queued message."""
    return json.dumps({"message_id": message_id})


# GET /queue's 200 body, the reference design's answer: it names no message id.
QUEUE_ROUTE_REPLY = json.dumps({"done": True})


def check_request_schema(schema: dict[str, Any]) -> None:
    """Raise ValueError unless `schema` is a valid JSON Schema draft 4 (what API Gateway takes)."""
    from jsonschema import Draft4Validator  # only specs with a schema pay for the import
    from jsonschema.exceptions import SchemaError

    try:
        Draft4Validator.check_schema(schema)
    except SchemaError as error:
        where = "/".join(str(part) for part in error.absolute_path)
        raise ValueError(
            f"not a valid JSON Schema (draft 4): {error.message}"
            + (f" (at {where})" if where else "")
        ) from None
