"""The discrete-event loop: one consumer service, its queue, its tasks and its scaling.

Time is simulated seconds from 0; nothing reads the wall clock. Randomness comes from
`random.Random` generators seeded from the scenario's random seed, so a seed gives one answer.
Arrivals are drawn outside (workload.py) and handed in, so that policies compared with
each other see the very same messages; each message's first handler time and outcome are
drawn in arrival order from their own generator for the same reason.

Time to drain: from the moment the visible backlog peaked until every message sent by
then has been handled (or dead-lettered); for a burst on a quiet queue, the burst's drain.

Receives are immediate: a long-polling worker with free places gets a message as soon as
one is visible (SQS long polling returns when a message arrives). A task takes up to
min(10, free places) messages per ReceiveMessage, the task with most free places first; its
places are its handler slots plus its prefetch (tasks.py).

The queue starts inactive (idle for six hours before the run: no SQS metric until something
touches it, then only after the reactivation delay) unless the service keeps tasks running,
whose polls keep it active; `Scenario.queue_active_at_start` decides otherwise.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from simulator.autoscaling import ScalableTarget
from simulator.metrics import CloudWatch, IdleTaskMetric, QueueActivity
from simulator.queue import Message, SqsQueue
from simulator.tasks import Task, TaskState
from simulator.timings import Timings

if TYPE_CHECKING:
    from modules.config import ConsumerSpec
    from simulator.autoscaling import ScalingActivity
    from simulator.policies import ScalingPlan
    from simulator.tasks import HandlerTime

__all__ = ["MinuteSample", "RunResult", "Scenario", "simulate"]

SQS_MAX_MESSAGES_PER_RECEIVE = 10
SQS_MAX_ENTRIES_PER_BATCH = 10
# After the horizon the run goes on until every message is handled, but not forever.
DRAIN_CAP_SECONDS = 24 * 3600.0
# Independent random streams, so that e.g. adding a failure draw never shifts handler times.
_HANDLER_STREAM = 0x5EED_0001


class _Event(IntEnum):
    ARRIVAL = 0
    TASK_READY = 1
    HANDLER_DONE = 2
    VISIBILITY_EXPIRED = 3
    STOP_DEADLINE = 4
    TICK = 5


@dataclass(frozen=True)
class Scenario:
    """What to simulate. `arrivals` must be sorted and below `horizon`."""

    spec: ConsumerSpec
    plan: ScalingPlan
    arrivals: list[float]
    horizon: float
    handler: HandlerTime
    timings: Timings = field(default_factory=Timings)
    failure_rate: float = 0.0
    seed: int = 0
    scale_in_protection: bool = True
    label: str = ""
    idle_task_metric: IdleTaskMetric = IdleTaskMetric.ZERO
    # None: active when the service keeps tasks running (min > 0), whose polls keep it so.
    queue_active_at_start: bool | None = None

    @property
    def queue_starts_active(self) -> bool:
        if self.queue_active_at_start is None:
            return self.plan.min_capacity > 0
        return self.queue_active_at_start


@dataclass(frozen=True, slots=True)
class MinuteSample:
    """The state at the end of one minute (what the plot shows)."""

    at: float
    arrivals: int
    visible: int
    in_flight: int
    running: int
    desired: int


@dataclass
class RunResult:
    scenario: Scenario
    latencies: list[float]
    messages: list[Message]
    samples: list[MinuteSample]
    tasks: list[Task]
    queue: SqsQueue
    activities: list[ScalingActivity]
    end: float
    max_visible: int
    peak_at: float | None
    drained_at: float | None
    idle_receive_requests: float
    # The run stopped at horizon + DRAIN_CAP_SECONDS with messages still unhandled.
    capped: bool = False


class _Simulation:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.spec = scenario.spec
        self.timings = scenario.timings
        self.rng = random.Random(scenario.seed)
        self.handler_rng = random.Random(scenario.seed ^ _HANDLER_STREAM)
        self.queue = SqsQueue(max_receive_count=self.spec.queue.max_receive_count)
        self.cloudwatch = CloudWatch(self.timings, scenario.idle_task_metric)
        self.activity = QueueActivity.at_start(self.timings, active=scenario.queue_starts_active)
        self.target = ScalableTarget(
            scenario.plan.min_capacity, scenario.plan.max_capacity, list(scenario.plan.policies)
        )
        self.events: list[tuple[float, int, int, Any, Any]] = []
        self.sequence = 0
        self.live: list[Task] = []
        self.all_tasks: list[Task] = []
        self.running_since: dict[Task, float] = {}
        self.running_seconds = 0.0
        self.latencies: list[float] = []
        self.samples: list[MinuteSample] = []
        self.minute_arrivals = 0
        self.max_visible = 0
        self.peak_at: float | None = None
        self.peak_last_id = -1  # messages with ids up to this were sent by the peak
        self.peak_outstanding = 0
        self.drained_at: float | None = None
        self.generation = 0
        self.end = scenario.horizon
        self.handlers = {
            _Event.ARRIVAL: self._arrival,
            _Event.TASK_READY: self._task_ready,
            _Event.HANDLER_DONE: self._handler_done,
            _Event.VISIBILITY_EXPIRED: self._visibility_expired,
            _Event.STOP_DEADLINE: self._stop_deadline,
            _Event.TICK: self._tick,
        }

    # --- the loop ------------------------------------------------------------------------

    def _push(self, at: float, kind: _Event, first: Any = None, second: Any = None) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (at, self.sequence, kind, first, second))

    def run(self) -> RunResult:
        messages = [Message(index, sent_at) for index, sent_at in enumerate(self.scenario.arrivals)]
        for message in messages:
            self._push(message.sent_at, _Event.ARRIVAL, message)
        self._push(float(self.timings.metric_period_seconds), _Event.TICK)
        self._reconcile(0.0)
        while self.events:
            at, _, kind, first, second = heapq.heappop(self.events)
            if self.handlers[kind](at, first, second):
                break
        for task in self.live:
            self._leave_running(task, self.end)
        return RunResult(
            scenario=self.scenario,
            latencies=self.latencies,
            messages=messages,
            samples=self.samples,
            tasks=self.all_tasks,
            queue=self.queue,
            activities=self.target.activities,
            end=self.end,
            max_visible=self.max_visible,
            peak_at=self.peak_at,
            drained_at=self.drained_at,
            idle_receive_requests=self.running_seconds / self.timings.long_poll_wait_seconds,
            capped=self.queue.backlog > 0,
        )

    # --- events ---------------------------------------------------------------------------

    def _arrival(self, now: float, message: Message, _: None) -> bool:
        self.activity.touch(now)
        self.minute_arrivals += 1
        self.queue.send(message)
        if self._more_arrivals_at(now):
            return False  # messages sent together are visible together to a receive
        self._dispatch(now)
        if len(self.queue.visible) > self.max_visible or self.peak_at is None:
            self.max_visible = len(self.queue.visible)
            self.peak_at, self.peak_last_id = now, message.id
            self.peak_outstanding, self.drained_at = self.queue.backlog, None
        return False

    def _more_arrivals_at(self, now: float) -> bool:
        return (
            bool(self.events) and self.events[0][0] == now and self.events[0][2] == _Event.ARRIVAL
        )

    def _finished(self, message: Message, now: float) -> None:
        """A message left the queue for good (deleted or dead-lettered)."""
        if message.id <= self.peak_last_id:
            self.peak_outstanding -= 1
            if self.peak_outstanding == 0:
                self.drained_at = now

    def _task_ready(self, now: float, task: Task, _: None) -> bool:
        if task.state is TaskState.STARTING:
            task.state = TaskState.RUNNING
            self.running_since[task] = now
            self._dispatch(now)
            self._reconcile(now)
        return False

    def _handler_done(self, now: float, task: Task, outcome: tuple[Message, int, bool]) -> bool:
        message, generation, failed = outcome
        if task.held.get(message) != generation:
            return False  # released at the stop deadline: this handling was cut short
        del task.held[message]
        if failed:
            # The visibility timeout runs out and SQS delivers the message again.
            self._push(
                now + self.spec.queue.visibility_timeout,
                _Event.VISIBILITY_EXPIRED,
                message,
                message.receipt,
            )
        else:
            self.queue.delete(message, now)
            self._finished(message, now)
            self.latencies.append(now - message.sent_at)
            self._count_delete(task, now)
        if task.state is TaskState.DRAINING:
            if not task.held:
                self._stop(task, now)
            return False
        if task.waiting:
            self._start_handling(task, task.waiting.popleft(), now)
        self._dispatch(now)
        if not task.protected:
            self._reconcile(now)
        return False

    def _visibility_expired(self, now: float, message: Message, receipt: int) -> bool:
        if message.receipt == receipt and message.handled_at is None:
            self.queue.make_visible(message)
            self._dispatch(now)
        return False

    def _stop_deadline(self, now: float, task: Task, _: None) -> bool:
        if task.state is TaskState.DRAINING:
            # The runtime releases what it still holds (visibility 0) before SIGKILL.
            for message in task.held:
                self.queue.make_visible(message)
            task.held.clear()
            self._stop(task, now)
            self._dispatch(now)
        return False

    def _tick(self, now: float, _: None, __: None) -> bool:
        running = sum(task.counts_as_running for task in self.live)
        visible, in_flight = len(self.queue.visible), self.queue.in_flight
        if running or self.queue.backlog:
            self.activity.touch(now)  # pollers call the queue, or it holds messages
        self.cloudwatch.record(now, visible, in_flight, running, self.activity.emits_metrics(now))
        self.samples.append(
            MinuteSample(
                now, self.minute_arrivals, visible, in_flight, running, self.target.desired
            )
        )
        self.minute_arrivals = 0
        if now >= self.scenario.horizon and (
            self.queue.backlog == 0 or now >= self.scenario.horizon + DRAIN_CAP_SECONDS
        ):
            self.end = now
            return True
        if round(now) % self.timings.alarm_evaluation_interval_seconds == 0:
            self.target.evaluate(self.cloudwatch, now)
            self._reconcile(now)
        self._push(now + self.timings.metric_period_seconds, _Event.TICK)
        return False

    # --- tasks and messages -----------------------------------------------------------------

    def _dispatch(self, now: float) -> None:
        """Hand visible messages to tasks with free places, the one with most first."""
        while self.queue.visible:
            task = max(self.live, key=lambda candidate: candidate.free_places, default=None)
            if task is None or task.free_places < min(
                task.receive_threshold, SQS_MAX_MESSAGES_PER_RECEIVE
            ):
                return
            self.queue.receive_requests += 1
            dead_before = len(self.queue.dead_letters)
            limit = min(SQS_MAX_MESSAGES_PER_RECEIVE, task.free_places)
            for message in self.queue.receive(limit):
                if task.idle_slot:
                    self._start_handling(task, message, now)
                else:
                    task.waiting.append(message)
            for message in self.queue.dead_letters[dead_before:]:
                self._finished(message, now)

    def _start_handling(self, task: Task, message: Message, now: float) -> None:
        rng = self.handler_rng if message.receives == 1 else self.rng
        duration = self.scenario.handler.sample(rng)
        failed = rng.random() < self.scenario.failure_rate
        timeout = self.spec.queue.handler_timeout_seconds
        if duration > timeout:
            duration, failed = timeout, True  # the runtime cancels it at the handler timeout
        self.generation += 1
        task.held[message] = self.generation
        self._push(now + duration, _Event.HANDLER_DONE, task, (message, self.generation, failed))

    def _count_delete(self, task: Task, now: float) -> None:
        linger = self.timings.delete_linger_seconds
        if now - task.delete_batch_opened <= linger and (
            task.delete_batch_size < SQS_MAX_ENTRIES_PER_BATCH
        ):
            task.delete_batch_size += 1
            return
        task.delete_batch_opened, task.delete_batch_size = now, 1
        self.queue.delete_requests += 1

    def _reconcile(self, now: float) -> None:
        """ECS's service scheduler: launch or stop tasks until the count matches desired."""
        active = [
            task for task in self.live if task.state in (TaskState.STARTING, TaskState.RUNNING)
        ]
        missing = self.target.desired - len(active)
        for _ in range(missing):
            task = Task(len(self.all_tasks), now, self.spec.concurrency, self.spec.prefetch)
            self.live.append(task)
            self.all_tasks.append(task)
            self._push(now + self.timings.task_start_seconds, _Event.TASK_READY, task)
        if missing >= 0:
            return
        # Newest first: tasks still starting, then idle ones. Busy tasks are protected from
        # scale-in; ECS waits until they are idle (this runs again whenever one becomes idle).
        candidates = sorted(
            active,
            key=lambda task: (task.state is TaskState.RUNNING, task.protected, -task.launched_at),
        )
        for task in candidates[:-missing]:
            if task.protected and self.scenario.scale_in_protection:
                break
            if task.state is TaskState.STARTING:
                self._stop(task, now)
            else:
                self._terminate(task, now)
        self._dispatch(now)  # what a stopped task released goes to the others at once

    def _terminate(self, task: Task, now: float) -> None:
        """SIGTERM: stop receiving, release what waits, finish the rest within the stop timeout."""
        self._leave_running(task, now)
        task.state = TaskState.DRAINING
        while task.waiting:
            self.queue.make_visible(task.waiting.popleft())
        if task.held:
            self._push(now + self.spec.stop_timeout, _Event.STOP_DEADLINE, task)
        else:
            self._stop(task, now)

    def _stop(self, task: Task, now: float) -> None:
        self._leave_running(task, now)
        task.state = TaskState.STOPPED
        task.stopped_at = now
        self.live.remove(task)

    def _leave_running(self, task: Task, now: float) -> None:
        since = self.running_since.pop(task, None)
        if since is not None:
            self.running_seconds += now - since


def simulate(scenario: Scenario) -> RunResult:
    """Run one scenario to its horizon, then on until the queue is drained (capped)."""
    if scenario.arrivals and scenario.arrivals[-1] >= scenario.horizon:
        raise ValueError("arrivals must all be before the horizon")
    if not 0 <= scenario.failure_rate < 1:
        raise ValueError("failure_rate must be at least 0 and below 1")
    if not math.isfinite(scenario.horizon) or scenario.horizon <= 0:
        raise ValueError("horizon must be a positive number of seconds")
    return _Simulation(scenario).run()
