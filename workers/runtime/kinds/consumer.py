"""`python -m workers.runtime.kinds.consumer`: consume QUEUE_URL with the handler WORKER_HANDLER
names (`handle(message)`; see workers.runtime.consumer for everything around it).

Environment (one clear line and exit code 2 when one is missing or malformed):
  QUEUE_URL                        required: the queue to consume.
  WORKER_HANDLER                   required: 'package.module:function' (the task definition
                                   sets it, e.g. workers.<service>.handler:handle).
  WORKER_CONCURRENCY               Default: 4. Handlers at once (1 to 100).
  WORKER_PREFETCH                  Default: 0. Messages held beyond the free handler slots,
                                   waiting for one (0 to 10); see consumer_settings.
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
  SERVICE_NAME                     Logged at start.
  ECS_AGENT_URI                    Set by ECS; enables scale-in protection.
  AWS_REGION, AWS_ENDPOINT_URL(_SQS): read by boto3 itself.

SIGTERM or SIGINT: stop receiving, drain, exit 0. Exit 1 if the engine stopped on its own error.
"""

from __future__ import annotations

import os

from workers.runtime import env, logs
from workers.runtime.aws import sqs_client
from workers.runtime.consumer import Consumer
from workers.runtime.consumer_settings import ConsumerSettings
from workers.runtime.handlers import handler_from_env
from workers.runtime.protection import TaskProtection
from workers.runtime.signals import call_on_stop_signal


def main() -> None:
    logs.configure()
    try:
        settings = ConsumerSettings.from_env()
        handler = handler_from_env()
    except env.EnvError as error:
        env.exit_with_usage_error(error)
    agent_uri = os.environ.get("ECS_AGENT_URI", "").strip()
    protection = TaskProtection(agent_uri, settings.protection_timeout) if agent_uri else None
    client = sqs_client(max_attempts=settings.sqs_max_attempts, read_timeout=settings.read_timeout)
    consumer = Consumer(client, settings, handler, protection=protection)
    call_on_stop_signal(consumer.stop)
    consumer.run()
    if consumer.failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
