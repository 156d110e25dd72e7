"""This service's handler, called as the platform calls it: with one Message."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from workers.runtime.message import Message

from . import handler

if TYPE_CHECKING:
    import pytest


def test_a_message_is_handled(caplog: pytest.LogCaptureFixture) -> None:
    message = Message(body="hello", message_id="m-1", receive_count=1, idempotency_key="k-1")

    with caplog.at_level(logging.INFO, logger=handler.__name__):
        handler.handle(message)

    [record] = caplog.records
    assert (record.getMessage(), record.idempotency_key, record.characters) == (
        "message read",
        "k-1",
        5,
    )
