"""Handlers the tests point the consumer at (WORKER_HANDLER=tests.workers.handlers:record).

The body says what to do, so one worker can mix kinds of messages:
  "huge-failure"         raise ValueError with a message of a megabyte;
  "fail..."              raise ValueError (a poison message);
  "sleep:<seconds>:..."  work that long, then succeed;
  "gate:<name>:..."      work until the test opens gate <name> (creates the file <name> in
                         TEST_GATE_DIR), then succeed: running for as long as the test needs;
  anything else          work TEST_HANDLER_SLEEP_SECONDS (default 0), then succeed.
Each call logs "test handler started" first, so a test knows which handlers were running.
`fail_run` is a scheduled job's handler that always fails.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workers.runtime.message import Message

log = logging.getLogger("tests.handler")

HUGE_FAILURE_REPEATS = 200_000
DEFAULT_SLEEP_SECONDS = float(os.environ.get("TEST_HANDLER_SLEEP_SECONDS", "0"))
# A gate no test opens within this fails its handler (the test has failed by then).
GATE_DEADLINE_SECONDS = 120
GATE_POLL_SECONDS = 0.05


def record(message: Message) -> None:
    log.info(
        "test handler started",
        extra={"message_id": message.message_id, "idempotency_key": message.idempotency_key},
    )
    if message.body == "huge-failure":
        raise ValueError("boom " * HUGE_FAILURE_REPEATS)
    if message.body.startswith("fail"):
        raise ValueError("this message is poison")
    if message.body.startswith("gate:"):
        wait_for_gate(message.body.split(":")[1])
        return
    seconds = DEFAULT_SLEEP_SECONDS
    if message.body.startswith("sleep:"):
        seconds = float(message.body.split(":")[1])
    time.sleep(seconds)


def wait_for_gate(name: str) -> None:
    gate = Path(os.environ["TEST_GATE_DIR"]) / name
    deadline = time.monotonic() + GATE_DEADLINE_SECONDS
    while not gate.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {name} never opened")
        time.sleep(GATE_POLL_SECONDS)  # polling interval of a deadline-bounded wait


def fail_run() -> None:
    """A scheduled job's handler (`run()`) that fails."""
    raise RuntimeError("the run failed on purpose")
