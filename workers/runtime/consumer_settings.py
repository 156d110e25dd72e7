"""The consumer's settings: one frozen object, read from the environment once, at the edge.

The consumer stack writes the first seven variables with `to_env()` from `service.yaml`; the
rest have defaults for production and exist so that tests and `make local` can run with seconds
instead of minutes. `from_env` reads them all (one clear line and exit code 2 when one is
missing or malformed):

  QUEUE_URL                        required: the queue to consume.
  SERVICE_NAME                     Logged at start (workers.runtime.kinds.TaskSettings).
  WORKER_CONCURRENCY               Default: 4. Handlers at once (1 to 100).
  WORKER_PREFETCH                  Default: 0. Messages held beyond the free handler slots,
                                   waiting for one (0 to 10); see below.
  HANDLER_TIMEOUT_SECONDS          Default: 60. A longer run counts as failed (0.1 to 43000).
  VISIBILITY_TIMEOUT_SECONDS       Default: handler timeout + 30 (1 to 43200); longer than
                                   SQS_READ_TIMEOUT_SECONDS.
  STOP_TIMEOUT_SECONDS             Default: 30. SIGTERM to SIGKILL, as the task definition says
                                   (1 to 120); handlers may finish in all but a fifth (≤ 5 s) of it.
  RECEIVE_WAIT_SECONDS             Default: 20. Long poll per receive (1 to 20).
  SQS_READ_TIMEOUT_SECONDS         Default: RECEIVE_WAIT_SECONDS + 10; longer than the long poll.
  RETRY_BACKOFF_BASE_SECONDS       Default: 5. A failed message is retried after base * 2^(n-1)
  RETRY_BACKOFF_MAX_SECONDS        Default: 300.  seconds (n = receive count), at most max.
  SQS_MAX_ATTEMPTS                 Default: 3. botocore's attempts per call (1 to 10).
  SQS_BACKOFF_MAX_SECONDS          Default: 30. Longest wait between calls while SQS is down
                                   (0.1 to 300), after botocore's own attempts failed.
  TASK_PROTECTION_MINUTES          Default: 10. Scale-in protection expiry; renewed at half.
  TASK_PROTECTION_TIMEOUT_SECONDS  Default: 2. Time limit of one call to the ECS agent.
  FATAL_ERROR_GRACE_SECONDS        Default: 30. How long an error retrying cannot fix may last
                                   (workers.runtime.fatal).

WORKER_PREFETCH (a whole number from 0 to 10; default 0) lets a task hold that many
messages beyond its handler slots. 0 is the strict rule: a receive never asks for more
messages than there are free handler slots, so every slot waits one ReceiveMessage round
trip (tens of milliseconds) between two messages, and no task holds work another idle task
could do. P > 0 keeps up to P messages waiting for a slot (the heartbeat keeps them
invisible, SIGTERM releases them at once), which matters when handlers are short compared
to a receive: with 100 ms handlers, 10 slots and P = 10 the slots stay busy. It costs
latency fairness: a prefetched message waits behind this task's running handlers even if
another task is idle. Keep it 0 for handlers that run seconds or longer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workers.runtime import env
from workers.runtime.backoff import Backoff
from workers.runtime.fatal import DEFAULT_GRACE_SECONDS, GRACE_VARIABLE, grace_from_env
from workers.runtime.idempotency import DEFAULT_CAPACITY
from workers.runtime.kinds import QUEUE_URL_VARIABLE, SERVICE_NAME_VARIABLE
from workers.runtime.limits import (
    FARGATE_MAX_STOP_TIMEOUT_SECONDS,
    MAX_CONCURRENCY,
    MAX_HANDLER_TIMEOUT_SECONDS,
    READ_TIMEOUT_MARGIN_SECONDS,
    READ_TIMEOUT_SECONDS,
    SQS_MAX_BATCH_MESSAGES,
    SQS_MAX_LONG_POLL_SECONDS,
    SQS_MAX_VISIBILITY_SECONDS,
)
from workers.runtime.protection import MAX_EXPIRES_MINUTES

if TYPE_CHECKING:
    from collections.abc import Mapping

# A receive brings at most 10 messages; more prefetch than one receive's worth buys nothing.
MAX_PREFETCH = SQS_MAX_BATCH_MESSAGES
DEFAULT_RETRY_BACKOFF = Backoff(5, 300)
DEFAULT_SQS_BACKOFF = Backoff(0.5, 30)
DEFAULT_SQS_MAX_ATTEMPTS = 3
DEFAULT_PROTECTION_MINUTES = 10
DEFAULT_PROTECTION_TIMEOUT_SECONDS = 2


@dataclass(frozen=True)
class ConsumerSettings:
    """Every knob of the consumer engine.

    queue_url: the queue to consume.
    concurrency: handlers running at once. Default: 4.
    prefetch: messages held beyond the handler slots, waiting for one. Default: 0.
    handler_timeout: seconds after which a running handler counts as failed. Default: 60.
    visibility_timeout: seconds a receive (and each heartbeat) hides a message. Default: 90.
    stop_timeout: seconds from SIGTERM to SIGKILL (the task's stopTimeout). Default: 30.
    receive_wait: long-poll seconds per receive. Default: 20.
    read_timeout: botocore read timeout; longer than receive_wait. Default: receive_wait + 10.
    sqs_max_attempts: botocore's own attempts per call, before the engine's backoff. Default: 3.
    retry_backoff: how long a failed message stays invisible, by receive count. Default: 5 s
        doubling to 300 s.
    sqs_backoff: waits between attempts while SQS is unreachable. Default: 0.5 s doubling to 30 s.
    protection_minutes: ExpiresInMinutes of the task protection. Default: 10.
    protection_timeout: time limit of one call to the ECS agent. Default: 2 s.
    protection_renew_after: renew this long after protecting. Default: half the expiry.
    dedup_capacity: idempotency keys remembered per process. Default: 10,000.
    delete_linger: how long a delete waits for others to share its batch. Default: 0.1 s.
    max_hold: visibility limit since the receive (SQS: 12 h); tests shorten it.
    service_name: for the logs. Default: "".
    fatal_grace: how long an error retrying cannot fix (no such queue, access denied, bad
        credentials) may last before the engine stops and the worker exits non-zero. Default: 30 s.
    """

    queue_url: str
    concurrency: int = 4
    prefetch: int = 0
    handler_timeout: float = 60
    visibility_timeout: int = 90
    stop_timeout: float = 30
    receive_wait: int = SQS_MAX_LONG_POLL_SECONDS
    read_timeout: float = READ_TIMEOUT_SECONDS
    sqs_max_attempts: int = DEFAULT_SQS_MAX_ATTEMPTS
    retry_backoff: Backoff = DEFAULT_RETRY_BACKOFF
    sqs_backoff: Backoff = DEFAULT_SQS_BACKOFF
    protection_minutes: int = DEFAULT_PROTECTION_MINUTES
    protection_timeout: float = DEFAULT_PROTECTION_TIMEOUT_SECONDS
    protection_renew_after: float | None = None
    dedup_capacity: int = DEFAULT_CAPACITY
    delete_linger: float = 0.1
    max_hold: float = SQS_MAX_VISIBILITY_SECONDS
    service_name: str = ""
    fatal_grace: float = DEFAULT_GRACE_SECONDS

    @property
    def stop_margin(self) -> float:
        """Time kept after the drain for the last deletes and releases: a fifth, at most 5 s."""
        return min(5.0, self.stop_timeout / 5)

    @property
    def renew_after(self) -> float:
        if self.protection_renew_after is not None:
            return self.protection_renew_after
        return self.protection_minutes * 60 / 2

    def to_env(self) -> dict[str, str]:
        """The variables `from_env` reads back into these settings.

        The stack's values always (queue_url may be a Terraform reference); the knobs only tests
        and `make local` change, only when they differ from what `from_env` assumes without them.
        """
        values = {
            QUEUE_URL_VARIABLE: self.queue_url,
            "WORKER_CONCURRENCY": str(self.concurrency),
            "WORKER_PREFETCH": str(self.prefetch),
            "HANDLER_TIMEOUT_SECONDS": env.number_text(self.handler_timeout),
            "VISIBILITY_TIMEOUT_SECONDS": str(self.visibility_timeout),
            SERVICE_NAME_VARIABLE: self.service_name,
            "STOP_TIMEOUT_SECONDS": env.number_text(self.stop_timeout),
        }
        optional = {
            "RECEIVE_WAIT_SECONDS": (self.receive_wait, SQS_MAX_LONG_POLL_SECONDS),
            "SQS_READ_TIMEOUT_SECONDS": (
                self.read_timeout,
                self.receive_wait + READ_TIMEOUT_MARGIN_SECONDS,
            ),
            "SQS_MAX_ATTEMPTS": (self.sqs_max_attempts, DEFAULT_SQS_MAX_ATTEMPTS),
            "RETRY_BACKOFF_BASE_SECONDS": (self.retry_backoff.base, DEFAULT_RETRY_BACKOFF.base),
            "RETRY_BACKOFF_MAX_SECONDS": (self.retry_backoff.cap, DEFAULT_RETRY_BACKOFF.cap),
            "SQS_BACKOFF_MAX_SECONDS": (self.sqs_backoff.cap, DEFAULT_SQS_BACKOFF.cap),
            "TASK_PROTECTION_MINUTES": (self.protection_minutes, DEFAULT_PROTECTION_MINUTES),
            "TASK_PROTECTION_TIMEOUT_SECONDS": (
                self.protection_timeout,
                DEFAULT_PROTECTION_TIMEOUT_SECONDS,
            ),
            GRACE_VARIABLE: (self.fatal_grace, DEFAULT_GRACE_SECONDS),
        }
        for name, (value, default) in optional.items():
            if value != default:
                values[name] = env.number_text(value)
        return values

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ConsumerSettings:
        """Read and check every variable; EnvError names the first bad one and the rule.
        An unset variable takes the field's default (the class attribute)."""

        def number(name: str, default: float, low: float, high: float) -> float:
            return env.number(name, default, minimum=low, maximum=high, env=environ)

        def whole(name: str, default: float, low: int, high: int) -> int:
            return int(
                env.number(name, default, minimum=low, maximum=high, integer=True, env=environ)
            )

        queue_url = env.required_str(QUEUE_URL_VARIABLE, environ)
        handler_timeout = number(
            "HANDLER_TIMEOUT_SECONDS", cls.handler_timeout, 0.1, MAX_HANDLER_TIMEOUT_SECONDS
        )
        visibility = whole(
            "VISIBILITY_TIMEOUT_SECONDS",
            min(SQS_MAX_VISIBILITY_SECONDS, math.ceil(handler_timeout) + 30),
            1,
            SQS_MAX_VISIBILITY_SECONDS,
        )
        wait = whole("RECEIVE_WAIT_SECONDS", cls.receive_wait, 1, SQS_MAX_LONG_POLL_SECONDS)
        read_timeout = _read_timeout(wait, environ)
        if visibility <= read_timeout:
            # A message must stay hidden longer than one SQS call may hang, or a heartbeat
            # or delete still waiting for its answer arrives after the message reappeared.
            raise env.EnvError(
                f"VISIBILITY_TIMEOUT_SECONDS={visibility:g} must be longer than the SQS read "
                f"timeout ({read_timeout:g} s: SQS_READ_TIMEOUT_SECONDS, by default "
                f"RECEIVE_WAIT_SECONDS + {READ_TIMEOUT_MARGIN_SECONDS})"
            )
        return cls(
            queue_url=queue_url,
            concurrency=whole("WORKER_CONCURRENCY", cls.concurrency, 1, MAX_CONCURRENCY),
            prefetch=whole("WORKER_PREFETCH", cls.prefetch, 0, MAX_PREFETCH),
            handler_timeout=handler_timeout,
            visibility_timeout=visibility,
            stop_timeout=number(
                "STOP_TIMEOUT_SECONDS", cls.stop_timeout, 1, FARGATE_MAX_STOP_TIMEOUT_SECONDS
            ),
            receive_wait=wait,
            read_timeout=read_timeout,
            sqs_max_attempts=whole("SQS_MAX_ATTEMPTS", cls.sqs_max_attempts, 1, 10),
            retry_backoff=_retry_backoff(environ),
            sqs_backoff=_sqs_backoff(environ),
            protection_minutes=whole(
                "TASK_PROTECTION_MINUTES", cls.protection_minutes, 1, MAX_EXPIRES_MINUTES
            ),
            protection_timeout=number(
                "TASK_PROTECTION_TIMEOUT_SECONDS", cls.protection_timeout, 0.1, 30
            ),
            service_name=env.optional_str(SERVICE_NAME_VARIABLE, "", environ),
            fatal_grace=grace_from_env(environ),
        )


def _read_timeout(wait: int, environ: Mapping[str, str] | None) -> float:
    read_timeout = env.number(
        "SQS_READ_TIMEOUT_SECONDS",
        wait + READ_TIMEOUT_MARGIN_SECONDS,
        minimum=1,
        maximum=300,
        env=environ,
    )
    if read_timeout <= wait:
        raise env.EnvError(
            f"SQS_READ_TIMEOUT_SECONDS={read_timeout:g} must be longer than "
            f"RECEIVE_WAIT_SECONDS={wait} (a long poll blocks that long)"
        )
    return read_timeout


def _retry_backoff(environ: Mapping[str, str] | None) -> Backoff:
    # Whole seconds of at least 1: a failed message is never made visible again at once.
    base = env.number(
        "RETRY_BACKOFF_BASE_SECONDS",
        DEFAULT_RETRY_BACKOFF.base,
        minimum=1,
        maximum=SQS_MAX_VISIBILITY_SECONDS,
        integer=True,
        env=environ,
    )
    cap = env.number(
        "RETRY_BACKOFF_MAX_SECONDS",
        DEFAULT_RETRY_BACKOFF.cap,
        minimum=1,
        maximum=SQS_MAX_VISIBILITY_SECONDS,
        integer=True,
        env=environ,
    )
    if cap < base:
        raise env.EnvError(
            f"RETRY_BACKOFF_MAX_SECONDS={cap:g} must not be less than "
            f"RETRY_BACKOFF_BASE_SECONDS={base:g}"
        )
    return Backoff(base, cap)


def _sqs_backoff(environ: Mapping[str, str] | None) -> Backoff:
    cap = env.number(
        "SQS_BACKOFF_MAX_SECONDS", DEFAULT_SQS_BACKOFF.cap, minimum=0.1, maximum=300, env=environ
    )
    return Backoff(min(0.5, cap), cap)
