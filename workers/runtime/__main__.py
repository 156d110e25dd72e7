"""`python -m workers.runtime`: the entry point of every worker image (workers/Dockerfile).

Runs the kind WORKER_KIND names (consumer, producer, scheduled, job) with the handler
WORKER_HANDLER names; the task definition sets both. A missing or unknown kind is one line on
stderr and exit code 2.
"""

from workers.runtime.kinds.launch import main

main()
