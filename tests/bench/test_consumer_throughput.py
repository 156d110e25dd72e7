"""The consumer benchmark runs end to end and counts what it claims to; its figures are not
asserted here (they depend on the machine), only that nothing is lost and every count adds up."""

from __future__ import annotations

import pytest

from bench.consumer_throughput import parse_args, run, table

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("prefetch", [0, 10])
def test_a_short_run_handles_everything_it_sent_and_counts_the_requests(prefetch: int) -> None:
    # a 1 s long poll: stopping waits for the receive in flight, 20 s in production
    args = ["--seconds", "3", "--warmup", "1", "--backlog", "30", "--receive-wait", "1"]
    result = run(parse_args(args), prefetch=prefetch)

    assert result.sent > 0 and result.handled == result.sent
    # the producer side sends full batches of 10, and the proxy saw the consumer's calls
    assert result.requests["SendMessageBatch"] == result.sent // 10
    assert result.requests["ReceiveMessage"] > 0
    assert result.requests["DeleteMessageBatch"] > 0
    assert result.problems == []
    assert len(result.round_trips["ReceiveMessage"]) == result.requests["ReceiveMessage"]
    report = table([result])
    assert f"{result.sent} / {result.handled}" in report
    assert result.mode in report
