"""The status table's layout: the contract between the stack that creates the table
(modules/constructs/job_table.py) and the code that reads and writes it.

One DynamoDB table per job family, keyed by `id`:
- a job item per job (`id` = the job id), with its state, attempt and history;
- control items whose ids start with `#` (a job id cannot): the parallel-slot holders
  (`#slots`) and one lock per FIFO message group (`#group#<group id>`).
Only job items have a `state`, so the `by_state` index holds jobs and nothing else.
"""

from __future__ import annotations

__all__ = [
    "CREATED_AT",
    "EXPIRES_AT",
    "GROUP_HOLDER",
    "GROUP_KEY_PREFIX",
    "KEY",
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
