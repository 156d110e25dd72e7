"""The status table's layout and the queue settings the platform code relies on: the contract
between the stack that creates them (and `make local`, which mirrors it) and the code.

One DynamoDB table per job family, keyed by `id`:
- a job item per job (`id` = the job id), with its state, attempt and history;
- control items whose ids start with `#` (a job id cannot): the parallel-slot holders
  (`#slots`) and one lock per FIFO message group (`#group#<group id>`).
Only job items have a `state`, so the `by_state` index holds jobs and nothing else.
"""

from __future__ import annotations

__all__ = [
    "ATTRIBUTE_TYPES",
    "CREATED_AT",
    "DISPATCH_TIMEOUT_SECONDS",
    "EXPIRES_AT",
    "GROUP_HOLDER",
    "GROUP_KEY_PREFIX",
    "KEY",
    "LAMBDA_FILES",
    "MAX_RECEIVES",
    "QUEUE_VISIBILITY_SECONDS",
    "SLOTS_KEY",
    "SLOT_HOLDERS",
    "STATE",
    "STATE_INDEX",
]

KEY = "id"
# Jobs by state, newest first: what `jobs list` reads (a sparse index: control items lack `state`).
STATE_INDEX = "by_state"
STATE = "state"
CREATED_AT = "created_at"
# DynamoDB's time to live: finished jobs and released group locks are deleted after this time.
EXPIRES_AT = "expires_at"

SLOTS_KEY = "#slots"
# A string set of `<job id>#<attempt>`: one member per task that runs or is starting.
SLOT_HOLDERS = "holders"
GROUP_KEY_PREFIX = "#group#"
# The job id that holds a FIFO message group, from its first start until it is final.
GROUP_HOLDER = "holder"

# The key and index attributes' DynamoDB types (S: string, N: number).
ATTRIBUTE_TYPES = {KEY: "S", STATE: "S", CREATED_AT: "N"}

# The dispatcher function's time limit.
DISPATCH_TIMEOUT_SECONDS = 60
# The job queue's visibility timeout: six times the dispatcher's time limit, as AWS advises
# for a queue that feeds a Lambda function (a batch that overran is not redelivered mid-run).
QUEUE_VISIBILITY_SECONDS = 6 * DISPATCH_TIMEOUT_SECONDS
# SQS's highest maxReceiveCount. Each wait for a slot is a receive, so this bounds how long a job
# may wait: about 1000 waits of at most 5 minutes, three days and a half; the dispatcher gives a
# job up one receive before SQS would. Only a message that keeps failing to be dispatched reaches
# the DLQ through the redrive policy.
MAX_RECEIVES = 1000

# What the dispatcher's and reaper's zip holds, relative to workers/: this package and the
# runtime modules it imports, nothing else (tests import the handlers from an unpacked zip).
LAMBDA_FILES = (
    "__init__.py",
    "runtime/__init__.py",
    "runtime/aws.py",
    "runtime/backoff.py",
    "runtime/env.py",
    "runtime/fatal.py",
    "runtime/kinds/__init__.py",
    "runtime/limits.py",
    "runtime/logs.py",
    "runtime/signals.py",
    "runtime/jobs",
)
