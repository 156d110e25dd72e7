"""A failing handler is logged with its traceback, as one JSON line of bounded size."""

from __future__ import annotations

import json
import logging
import sys
from typing import TYPE_CHECKING

from tests.workers.consumer_testing import send, start_consumer
from workers.runtime.logs import MAX_LINE_CHARS, JsonFormatter

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sqs import SQSClient

    from tests.workers.consumer_testing import QueuePair
    from tests.workers.processes import WorkerProcess

    StartWorker = Callable[..., WorkerProcess]

# The formatter's bound, plus what json.dumps of the parsed line may add back (escapes).
LINE_SLACK = 200


def test_a_failing_handler_is_logged_with_its_traceback_in_one_bounded_line(
    sqs: SQSClient, queue_pair: QueuePair, start_worker: StartWorker
) -> None:
    send(sqs, queue_pair.url, ["huge-failure"])
    worker = start_consumer(start_worker, queue_pair)

    (failed, *_) = worker.wait_for_events("failed", 1, timeout=30)

    assert len(json.dumps(failed, ensure_ascii=False)) <= MAX_LINE_CHARS + LINE_SLACK
    traceback = failed["traceback"]
    assert traceback.startswith("Traceback (most recent call last):")
    assert 'handlers.py", line' in traceback and "in record" in traceback
    assert traceback.rstrip().endswith("boom")  # the end of the error's own message is kept
    assert "characters]..." in traceback  # the middle of the megabyte is left out


def test_the_formatter_keeps_both_ends_of_a_huge_exception() -> None:
    try:
        raise RuntimeError("start " + "x" * 1_000_000 + " end")
    except RuntimeError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    line = JsonFormatter().format(record)

    assert len(line) <= MAX_LINE_CHARS
    entry = json.loads(line)
    assert entry["event"] == "failed"
    assert entry["exception"].startswith("Traceback")
    assert entry["exception"].endswith(" end")
