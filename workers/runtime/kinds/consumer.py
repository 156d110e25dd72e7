"""`python -m workers.runtime.kinds.consumer`: consume the service's queue with its handler
(`handle(message)`; see workers.runtime.consumer for everything around it).

Environment: workers.runtime.consumer_settings (every variable, its default and its range) and
workers.runtime.kinds.TaskSettings (the handler); one clear line and exit code 2 when one is
missing or malformed. ECS_AGENT_URI, set by ECS, enables scale-in protection; boto3 reads the
region and endpoint itself.

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
