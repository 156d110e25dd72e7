"""This service's handler, called as the platform calls it: with nothing."""

from __future__ import annotations

import json
import time

from . import handler


def test_each_call_gives_one_message_with_the_time() -> None:
    before = int(time.time())

    [body] = handler.produce()

    assert before <= json.loads(body)["sent_at"] <= time.time()
