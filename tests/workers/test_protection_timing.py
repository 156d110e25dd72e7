"""Task protection's timing on a fake clock: renewed exactly when due while wanted, released
when no longer wanted, retried after a backoff when the agent fails, and never a wait for an
agent that already failed (test_consumer_protection.py runs it against a fake agent)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from tests.workers.fake_clock import FakeClock
from workers.runtime.backoff import Backoff
from workers.runtime.protection import ProtectionError, ProtectionKeeper

if TYPE_CHECKING:
    from collections.abc import Iterator

EXPIRES_MINUTES = 10
RENEW_AFTER = 300.0
# Fixed delays (half the cap at least, the cap at most): a jittered retry is due within it.
RETRY = Backoff(base=4.0, cap=4.0)
# A call's time limit so long that waiting for it would fail the test's real deadline.
CALL_TIME_LIMIT = 3600.0


@dataclass
class FakeAgent:
    """TaskProtection's interface: records each call at the clock's time; fails the next
    `failures` calls."""

    clock: FakeClock
    timeout: float = CALL_TIME_LIMIT
    failures: int = 0
    calls: list[tuple[float, bool, int | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, enabled: bool, expires_minutes: int | None = None) -> None:
        with self.lock:
            self.calls.append((self.clock(), enabled, expires_minutes))
            if self.failures:
                self.failures -= 1
                raise ProtectionError("refused: injected")

    def protections(self) -> list[float]:
        """When it was asked to protect (first time and renewals)."""
        with self.lock:
            return [at for at, enabled, _ in self.calls if enabled]

    def releases(self) -> list[float]:
        with self.lock:
            return [at for at, enabled, _ in self.calls if not enabled]


@dataclass
class Keeping:
    clock: FakeClock
    agent: FakeAgent
    keeper: ProtectionKeeper

    def want(self, on: bool) -> None:
        with self.clock.step():
            self.keeper.want("holding", on)


@pytest.fixture
def keeping() -> Iterator[Keeping]:
    clock = FakeClock()
    agent = FakeAgent(clock)
    keeper = ProtectionKeeper(
        agent,  # type: ignore[arg-type]
        expires_minutes=EXPIRES_MINUTES,
        renew_after=RENEW_AFTER,
        retry=RETRY,
        clock=clock,
        wait=clock.wait,
    )
    with clock.step():
        keeper.start()
    yield Keeping(clock, agent, keeper)
    keeper.close()


def test_protected_once_when_wanted_and_renewed_exactly_when_due(keeping: Keeping) -> None:
    start = keeping.clock()
    keeping.want(True)
    assert keeping.agent.calls == [(start, True, EXPIRES_MINUTES)]

    # then not renewed before renew_after, renewed at it, and again one period later
    keeping.clock.advance(RENEW_AFTER - 1)
    assert keeping.agent.protections() == [start]
    keeping.clock.advance(1)
    keeping.clock.advance(RENEW_AFTER)
    assert keeping.agent.protections() == [start, start + RENEW_AFTER, start + 2 * RENEW_AFTER]
    assert keeping.agent.releases() == []


def test_released_when_no_longer_wanted_and_not_renewed_after(keeping: Keeping) -> None:
    keeping.want(True)
    keeping.clock.advance(RENEW_AFTER / 2)

    keeping.want(False)

    assert keeping.agent.releases() == [keeping.clock()]
    keeping.clock.advance(3 * RENEW_AFTER)
    assert len(keeping.agent.protections()) == 1


def test_a_failed_call_is_retried_after_its_backoff(keeping: Keeping) -> None:
    # given an agent that refuses the first call
    keeping.agent.failures = 1
    start = keeping.clock()
    keeping.want(True)
    assert keeping.agent.protections() == [start]

    # then it asks again no sooner than half the backoff, and no later than all of it
    keeping.clock.advance(RETRY.delay(1) / 2 - 0.01)
    assert len(keeping.agent.protections()) == 1
    keeping.clock.advance(RETRY.delay(1) / 2 + 0.01)
    assert len(keeping.agent.protections()) == 2
    # and once protected it renews from that success on
    retried_at = keeping.agent.protections()[1]
    keeping.clock.advance_to(retried_at + RENEW_AFTER)
    assert keeping.agent.protections()[2:] == [retried_at + RENEW_AFTER]


def test_a_failing_agent_costs_no_wait_before_the_next_receive(keeping: Keeping) -> None:
    # given an agent that refused the first protection (its calls may take an hour)
    keeping.agent.failures = 1
    keeping.want(True)

    # when the receiver asks whether the task is protected: it returns at once, unprotected
    answered: list[bool] = []
    asking = threading.Thread(target=lambda: answered.append(keeping.keeper.wait_protected()))
    asking.start()
    asking.join(timeout=10)  # a deadline: waiting for the agent would take an hour

    assert answered == [False]
