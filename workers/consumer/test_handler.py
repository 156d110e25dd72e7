"""The example handler, called as the platform calls it: one Message at a time."""

from __future__ import annotations

import logging

import pytest

from workers.runtime.message import Message

from . import handler


def message(body: str) -> Message:
    return Message(body=body, message_id="m-1", receive_count=1, idempotency_key="k-1")


@pytest.fixture(autouse=True)
def no_simulated_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler, "SLEEP_SECONDS", 0)


@pytest.mark.parametrize(("body", "said"), [("42", "number is even"), (" 7\n", "number is odd")])
def test_a_number_is_reported_even_or_odd(
    body: str, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=handler.__name__):
        handler.handle(message(body))

    [record] = caplog.records
    assert (record.getMessage(), record.message_id) == (said, "m-1")


def test_a_body_that_is_not_a_number_raises_so_the_message_is_retried() -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        handler.handle(message("not a number"))
