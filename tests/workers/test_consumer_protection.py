"""ECS task scale-in protection against a fake agent on loopback: protected before the first
receive, renewed while messages are held, released after the deletes; a hanging or refusing
agent never stops the work."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import TYPE_CHECKING

import pytest

from tests.workers.consumer_testing import (
    fast_settings,
    running_consumer,
    send,
    start_consumer,
    wait_empty,
    wait_until,
)
from tests.workers.fake_ecs_agent import Timeline, fake_agent
from workers.runtime.protection import STATE_PATH, TaskProtection

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sqs import SQSClient

    from tests.workers.consumer_testing import QueuePair
    from tests.workers.processes import WorkerProcess
    from workers.runtime.message import Message

    StartWorker = Callable[..., WorkerProcess]


def record_sqs_calls(client: SQSClient, timeline: Timeline) -> None:
    for operation in ("ReceiveMessage", "DeleteMessageBatch"):
        client.meta.events.register(
            f"after-call.sqs.{operation}",
            lambda operation=operation, **_: timeline.add(operation),
        )
    client.meta.events.register(
        "before-call.sqs.ReceiveMessage", lambda **_: timeline.add("receive sent")
    )


def test_protected_before_receiving_renewed_while_holding_released_after_deletes(
    sqs: SQSClient, queue_pair: QueuePair
) -> None:
    timeline = Timeline()
    record_sqs_calls(sqs, timeline)
    send(sqs, queue_pair.url, [f"m{index}" for index in range(3)])
    settings = fast_settings(queue_pair, protection_renew_after=0.3, protection_minutes=7)

    def slow(_message: Message) -> None:
        time.sleep(1.2)  # the work itself: long enough for several renewals

    with (
        fake_agent(timeline) as agent,
        running_consumer(sqs, settings, slow, TaskProtection(agent.uri, timeout=1)),
    ):
        wait_empty(sqs, queue_pair.url, timeout=10)
        wait_until(lambda: "unprotect" in timeline.names(), 10, "the release")
        names = timeline.names()

    first_protect = names.index("protect")
    last_delete = len(names) - 1 - names[::-1].index("DeleteMessageBatch")
    release = names.index("unprotect")
    assert first_protect < names.index("receive sent"), "received before it was protected"
    # the first protection and at least one renewal (exactly when: test_protection_timing.py)
    assert names[first_protect:last_delete].count("protect") >= 2, "not renewed while holding"
    assert release > last_delete, "released before the deletes were flushed"
    (_, _, request), *_ = [event for event in timeline.events() if event[1] == "protect"]
    assert request == {"path": "/v1/fake-task" + STATE_PATH, "ProtectionEnabled": True,
                       "ExpiresInMinutes": 7}  # fmt: skip


@pytest.mark.parametrize("mode", ["hang", "refuse"])
def test_an_agent_that_hangs_or_refuses_does_not_stop_the_work(
    sqs: SQSClient, queue_pair: QueuePair, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    caplog.set_level(logging.INFO, logger="workers.consumer")
    timeline = Timeline()
    keys = send(sqs, queue_pair.url, [f"m{index}" for index in range(6)])
    handled: list[str] = []
    lock = threading.Lock()

    def record(message: Message) -> None:
        with lock:
            handled.append(message.idempotency_key)

    with (
        fake_agent(timeline, mode) as agent,
        running_consumer(
            sqs, fast_settings(queue_pair), record, TaskProtection(agent.uri, timeout=0.5)
        ),
    ):
        wait_empty(sqs, queue_pair.url, timeout=10)

    # every message handled though the task was never protected (that a failed agent costs no
    # further wait is exact on a fake clock, in test_protection_timing.py)
    assert sorted(handled) == sorted(keys)
    assert timeline.names()[0] == "protect"  # it did try
    assert any(r.getMessage() == "task protection failed" for r in caplog.records)


def test_the_consumer_process_uses_ecs_agent_uri(
    sqs: SQSClient, queue_pair: QueuePair, start_worker: StartWorker
) -> None:
    timeline = Timeline()
    keys = send(sqs, queue_pair.url, ["a", "b"])
    with fake_agent(timeline) as agent:
        worker = start_consumer(start_worker, queue_pair, ECS_AGENT_URI=agent.uri)
        worker.wait_for_events("handled", len(keys), timeout=15)
        worker.wait_for_events("task protection released", 1, timeout=10)
        worker.signal(signal.SIGTERM)
        assert worker.wait_exit(timeout=15) == 0
    assert timeline.names()[:2] == ["protect", "unprotect"]
    assert worker.events("task protected")
