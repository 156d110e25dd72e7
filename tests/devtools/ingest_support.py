"""The ingest API spec the local ingest server tests serve."""

from __future__ import annotations

from typing import Any

from modules.config import IngestSpec

MAX_BODY_BYTES = 64
SCHEMA = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}


def api_spec(**fields: Any) -> IngestSpec:
    """An ingest API fed to the consumer: a 64-byte body limit and a schema that requires `id`;
    `fields` override any of it."""
    data = {
        "name": "ingest",
        "kind": "ingest",
        "feeds": "consumer",
        "routes": ["POST /messages", "GET /queue"],
        "max_body_bytes": MAX_BODY_BYTES,
        "request_schema": SCHEMA,
        **fields,
    }
    return IngestSpec.model_validate(data)
