"""The message a developer's handler receives: what SQS delivered, read once, never raising.

Delivery is at least once: the same message (or a producer's retried copy, which has the
same `idempotency_key`) can arrive again, so a handler must be idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["IDEMPOTENCY_KEY_ATTRIBUTE", "Message"]

# Set by the producer on every message (workers/runtime/producer.py); the same on its retries.
IDEMPOTENCY_KEY_ATTRIBUTE = "idempotency_key"


@dataclass(frozen=True)
class Message:
    """One received message.

    body: exactly as sent (SQS bodies are text; the handler parses them).
    message_id: SQS's id; a redelivery of the same message keeps it.
    receive_count: 1 on the first delivery; SQS moves the message to the DLQ past maxReceiveCount.
    idempotency_key: the producer's `idempotency_key` attribute, or `message_id` without one.
    attributes: message attributes by name: str for String/Number types, bytes for Binary.
    """

    body: str
    message_id: str
    receive_count: int
    idempotency_key: str
    attributes: Mapping[str, str | bytes] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_sqs(cls, raw: Mapping[str, Any]) -> Message:
        """Build from one entry of ReceiveMessage's `Messages`; odd values get safe defaults."""
        message_id = str(raw.get("MessageId", ""))
        attributes = _message_attributes(raw.get("MessageAttributes"))
        key = attributes.get(IDEMPOTENCY_KEY_ATTRIBUTE)
        return cls(
            body=str(raw.get("Body", "")),
            message_id=message_id,
            receive_count=_receive_count(raw.get("Attributes")),
            idempotency_key=key if isinstance(key, str) and key else message_id,
            attributes=MappingProxyType(attributes),
        )


def _receive_count(system_attributes: object) -> int:
    if not isinstance(system_attributes, dict):
        return 1
    try:
        return max(1, int(system_attributes.get("ApproximateReceiveCount", 1)))
    except (TypeError, ValueError):
        return 1


def _message_attributes(raw: object) -> dict[str, str | bytes]:
    if not isinstance(raw, dict):
        return {}
    values: dict[str, str | bytes] = {}
    for name, attribute in raw.items():
        if not isinstance(attribute, dict):
            continue
        value = attribute.get("StringValue", attribute.get("BinaryValue"))
        if isinstance(value, str | bytes):
            values[str(name)] = value
    return values
