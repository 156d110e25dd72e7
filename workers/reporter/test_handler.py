"""The example job's report, from what GetQueueAttributes answers (a stubbed client)."""

from __future__ import annotations

from typing import Any

from . import handler


class Attributes:
    """An SQS client that answers GetQueueAttributes only, and records what it was asked."""

    def __init__(self, answer: dict[str, str]) -> None:
        self.answer = answer
        self.asked: list[dict[str, Any]] = []

    def get_queue_attributes(self, **request: Any) -> dict[str, Any]:
        self.asked.append(request)
        return {"Attributes": self.answer}


def test_depth_counts_visible_in_flight_and_delayed_messages() -> None:
    client = Attributes(
        {
            "ApproximateNumberOfMessages": "3",
            "ApproximateNumberOfMessagesNotVisible": "1",
            "ApproximateNumberOfMessagesDelayed": "2",
        }
    )

    depth = handler.queue_depth(client, "https://sqs.example/q")  # type: ignore[arg-type]

    assert (depth.visible, depth.in_flight, depth.delayed, depth.total) == (3, 1, 2, 6)
    assert client.asked == [
        {"QueueUrl": "https://sqs.example/q", "AttributeNames": list(handler.DEPTH_ATTRIBUTES)}
    ]
