"""Errors that retrying cannot fix, and how a worker ends on one.

An outage passes: connection errors, timeouts, throttling and 5xx answers are retried with
backoff for as long as they last. Some errors never pass by waiting: the queue does not exist,
the role may not call the API, the credentials are missing or wrong, no region is set. Retried
forever, a typo in QUEUE_URL would look like an outage. A worker that meets one keeps trying for
a short grace period (a new queue or an IAM change takes seconds to be visible everywhere),
then ends with one clear line and a non-zero exit code.

`install()` (run by `logs.configure`, which every worker calls first) makes such an error, when
nothing catches it, print as that one line instead of a traceback.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workers.runtime import env
from workers.runtime.env import EnvError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import TracebackType

# How long an error of the kinds below may last before the worker gives up. Default of
# FATAL_ERROR_GRACE_SECONDS: IAM and SQS changes reach every endpoint within seconds.
DEFAULT_GRACE_SECONDS = 30.0
MAX_GRACE_SECONDS = 300.0
GRACE_VARIABLE = "FATAL_ERROR_GRACE_SECONDS"
# How much of AWS's own message a reason repeats.
_MAX_AWS_MESSAGE_CHARS = 200

NO_REGION = "no AWS region is set: set AWS_REGION (ECS sets it in a task)"
_MISSING_QUEUE = "the queue does not exist: check QUEUE_URL"
_DENIED = "access denied: the task role does not allow this call on this resource"
_BAD_CREDENTIALS = "the AWS credentials are not valid"
# Error codes (as botocore reports them, for the query and the JSON protocols) that waiting
# does not change, with what they mean for the person reading the log.
FATAL_ERROR_CODES = {
    "AWS.SimpleQueueService.NonExistentQueue": _MISSING_QUEUE,
    "QueueDoesNotExist": _MISSING_QUEUE,
    "InvalidAddress": "the queue URL is not valid: check QUEUE_URL",
    "ResourceNotFoundException": "the table or resource does not exist",
    "AccessDenied": _DENIED,
    "AccessDeniedException": _DENIED,
    "KmsAccessDenied": "access denied to the queue's KMS key",
    "InvalidClientTokenId": _BAD_CREDENTIALS,
    "UnrecognizedClientException": _BAD_CREDENTIALS,
    "InvalidAccessKeyId": _BAD_CREDENTIALS,
    "SignatureDoesNotMatch": "the AWS secret key does not match the access key",
    "IncompleteSignature": _BAD_CREDENTIALS,
    "MissingAuthenticationToken": "the request carries no AWS credentials",
}


class FatalError(Exception):
    """An error retrying cannot fix, after its grace period: the worker should end."""


def fatal_reason(error: BaseException) -> str | None:
    """What is wrong, in one line, if `error` is one that waiting does not fix; else None."""
    if isinstance(error, FatalError):
        return str(error)
    # Imported here, not at the top: the settings classes import this module for the grace
    # period, and the synth imports them in Pythons that have no botocore.
    from botocore.exceptions import (
        ClientError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    if isinstance(error, NoRegionError):
        return NO_REGION
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return "no AWS credentials found: the task role, or AWS_ACCESS_KEY_ID and its secret"
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = str(details.get("Code", ""))
        meaning = FATAL_ERROR_CODES.get(code)
        if meaning is not None:
            said = str(details.get("Message", ""))[:_MAX_AWS_MESSAGE_CHARS]
            return f"{meaning} ({code}: {said})"
    return None


@dataclass
class FatalWatch:
    """Tells when errors that waiting does not fix have lasted past their grace period.

    Any success or any other error (an outage) starts the count again.
    """

    grace_seconds: float = DEFAULT_GRACE_SECONDS
    clock: Callable[[], float] = time.monotonic
    _since: float | None = field(default=None, init=False)

    def failed(self, error: BaseException) -> str | None:
        """The reason to give up now, or None (not fatal, or still within the grace period)."""
        reason = fatal_reason(error)
        if reason is None:
            self._since = None
            return None
        now = self.clock()
        if self._since is None:
            self._since = now
        return reason if now - self._since >= self.grace_seconds else None

    def succeeded(self) -> None:
        self._since = None

    def seconds_left(self) -> float | None:
        """Time until a fatal error seen now would end the worker (None: none is pending)."""
        if self._since is None:
            return None
        return max(0.0, self.grace_seconds - (self.clock() - self._since))


def grace_from_env(environ: Mapping[str, str] | None = None) -> float:
    """FATAL_ERROR_GRACE_SECONDS: seconds (0 to 300) before such an error ends the worker."""
    return env.number(
        GRACE_VARIABLE, DEFAULT_GRACE_SECONDS, minimum=0, maximum=MAX_GRACE_SECONDS, env=environ
    )


def _report_uncaught(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    """sys.excepthook: a fatal or configuration error is one line, anything else a traceback
    (a bug). Python then exits with code 1."""
    reason = fatal_reason(error) if not isinstance(error, EnvError) else str(error)
    if reason is None:
        sys.__excepthook__(kind, error, traceback)
        return
    print(f"error: {reason}", file=sys.stderr, flush=True)


def install() -> None:
    """Make an uncaught fatal or configuration error end the process with one line."""
    sys.excepthook = _report_uncaught
