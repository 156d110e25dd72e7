"""The two Lambda entry points of a job family, in one package (one zip, two functions):

- `dispatch`: the queue's event source mapping calls it with a batch of job messages
  (ReportBatchItemFailures); it returns the messages to keep;
- `reap`: the EventBridge rule on this family's stopped tasks calls it with one event.

Settings come from the environment (settings.py, written by the job stack); clients and
objects are built once per Lambda execution environment, on its first event.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from workers.runtime import logs
from workers.runtime.aws import aws_client
from workers.runtime.jobs.launcher import EcsTaskLauncher
from workers.runtime.jobs.settings import LaunchSettings, PlatformSettings
from workers.runtime.jobs.wiring import JobPlatform

if TYPE_CHECKING:
    from collections.abc import Mapping

    from workers.runtime.jobs.dispatcher import Dispatcher
    from workers.runtime.jobs.reaper import Reaper

__all__ = ["dispatch", "reap"]


@cache
def _platform() -> JobPlatform:
    logs.configure()
    return JobPlatform.build(PlatformSettings.from_env(), aws_client("dynamodb"), aws_client("sqs"))


@cache
def _dispatcher() -> Dispatcher:
    launcher = EcsTaskLauncher(aws_client("ecs"), LaunchSettings.from_env())
    return _platform().dispatcher(launcher)


@cache
def _reaper() -> Reaper:
    return _platform().reaper()


def dispatch(event: Mapping[str, Any], _context: object) -> dict[str, list[dict[str, str]]]:
    return _dispatcher().handle_batch(event)


def reap(event: Mapping[str, Any], _context: object) -> str:
    return _reaper().handle(event)
