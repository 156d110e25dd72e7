"""A standard SQS queue with its dead-letter queue, as the consumer sees it.

Visible messages wait in arrival order (a standard queue only approximates that; the
approximation is fine for latency percentiles). A received message is in flight until it
is deleted, released (visibility set to 0 at shutdown) or its visibility timeout ends.
SQS moves a message to the DLQ when a receive would exceed maxReceiveCount; a returned
message still counts as a receive (SQS developer guide, dead-letter queues).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["Message", "SqsQueue"]


@dataclass(eq=False, slots=True)
class Message:
    id: int
    sent_at: float
    receives: int = 0
    # Bumped on every receive: a visibility expiry scheduled for an older receive is stale.
    receipt: int = 0
    handled_at: float | None = None


@dataclass
class SqsQueue:
    max_receive_count: int
    visible: deque[Message] = field(default_factory=deque)
    in_flight: int = 0
    dead_letters: list[Message] = field(default_factory=list)
    # SQS requests, for the cost estimate (a batch of up to 10 is one request).
    send_requests: int = 0
    receive_requests: int = 0
    delete_requests: int = 0

    def send(self, message: Message) -> None:
        self.visible.append(message)

    def receive(self, limit: int) -> list[Message]:
        """Up to `limit` visible messages, now in flight; over-received ones go to the DLQ."""
        taken: list[Message] = []
        while self.visible and len(taken) < limit:
            message = self.visible.popleft()
            if message.receives >= self.max_receive_count:
                self.dead_letters.append(message)
                continue
            message.receives += 1
            message.receipt += 1
            taken.append(message)
        self.in_flight += len(taken)
        return taken

    def delete(self, message: Message, now: float) -> None:
        message.handled_at = now
        self.in_flight -= 1

    def make_visible(self, message: Message) -> None:
        """A release or an expired visibility timeout: back in line for another receive."""
        self.in_flight -= 1
        self.visible.append(message)

    @property
    def backlog(self) -> int:
        """Messages not yet handled: visible plus in flight."""
        return len(self.visible) + self.in_flight
