"""The one error type the CLI turns into a short message and a non-zero exit (no traceback)."""

from __future__ import annotations


class PipelineError(Exception):
    """Something the user must fix or look at.

    `message` is one line saying what failed; `detail` (optional) is what the failed tool said,
    e.g. the last lines of a synth's stderr, printed indented below it.
    """

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
