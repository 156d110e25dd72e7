"""Structured logs: one JSON object per line on stdout, which awslogs ships to CloudWatch.

A line is bounded (MAX_LINE_CHARS): a huge exception message, traceback or extra field is cut in
its middle, keeping both ends (the outermost frames and the error itself), so one bad message
can never flood the log or exceed what a CloudWatch event holds (256 KiB).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from workers.runtime import fatal

_STANDARD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
MAX_LINE_CHARS = 16 * 1024
# Below this, a field is not worth cutting further: the line drops to its essentials instead.
_MIN_FIELD_CHARS = 64


def elide(text: str, limit: int) -> str:
    """`text`, or its start and end with how much was left out between them."""
    if len(text) <= limit:
        return text
    keep = max(limit - 40, 2)
    head = keep * 2 // 3
    return f"{text[:head]}...[{len(text) - keep} characters]...{text[len(text) - (keep - head) :]}"


def _fit(value: Any, limit: int) -> Any:
    """`value` within `limit` characters once in JSON: text elided, anything else as text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    if len(text) <= limit:
        return value
    return elide(text, limit)


def _dumps(entry: dict[str, Any]) -> str:
    return json.dumps(entry, default=str, ensure_ascii=False)


def bounded_line(entry: dict[str, Any], max_chars: int = MAX_LINE_CHARS) -> str:
    """`entry` as one JSON line of at most about `max_chars` characters."""
    line = _dumps(entry)
    limit = max_chars // 2
    while len(line) > max_chars and limit >= _MIN_FIELD_CHARS:
        line = _dumps({key: _fit(value, limit) for key, value in entry.items()})
        limit //= 2
    return line


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "event", ...extra}`; extra fields come from `extra={...}`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update(
            (key, value) for key, value in vars(record).items() if key not in _STANDARD_FIELDS
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return bounded_line(entry)


def configure(level: str = "INFO") -> None:
    """Send every logger's records to stdout as JSON lines (idempotent).

    Every worker calls this first: it also makes an error that retrying cannot fix, if nothing
    catches it, end the process with one line instead of a traceback (`fatal.install`).
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # botocore logs every retry at DEBUG/INFO; the runtime logs what matters itself.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    fatal.install()
