"""Limits the runtime and the configuration share, each defined once.

The runtime checks its settings against them; modules/config checks `service.yaml` against the
same values, so a service the configuration accepts never starts a worker that refuses it.

This module is read at every synth: it imports nothing.
"""

# SQS: a visibility timeout is 0 to 12 hours, and a message stays invisible at most 12 hours
# after its receive however often the timeout is extended.
SQS_MAX_VISIBILITY_SECONDS = 12 * 60 * 60
# SQS: one ReceiveMessage or SendMessageBatch carries at most 10 messages.
SQS_MAX_BATCH_MESSAGES = 10
# SQS: a long poll waits at most 20 s; the consumer waits that long by default.
SQS_MAX_LONG_POLL_SECONDS = 20
# Fargate: SIGKILL follows SIGTERM at most 120 s later (the container's stopTimeout).
FARGATE_MAX_STOP_TIMEOUT_SECONDS = 120

# A read may take this much beyond the long poll before botocore gives up on it.
READ_TIMEOUT_MARGIN_SECONDS = 10
# The consumer's default SQS read timeout; a queue's visibility timeout must outlast it.
READ_TIMEOUT_SECONDS = SQS_MAX_LONG_POLL_SECONDS + READ_TIMEOUT_MARGIN_SECONDS
# Handlers running at once in one consumer task.
MAX_CONCURRENCY = 100
# The longest handler timeout: with the 30 s the visibility timeout adds, within SQS's 12 h.
MAX_HANDLER_TIMEOUT_SECONDS = 43_000
# A job family: jobs running at once, and the longest one attempt may run (a week).
MAX_PARALLEL_JOBS = 1000
MAX_JOB_TIMEOUT_SECONDS = 7 * 24 * 60 * 60
