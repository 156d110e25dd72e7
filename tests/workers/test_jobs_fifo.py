"""A FIFO job queue against moto_server: jobs of one message group never overlap, through
retries too.

Order within a group is SQS's to keep, and moto does not keep it once messages of a group have
had their visibility changed (measured with moto 5.2.5: of a group's waiting messages, a later
one may be delivered first), so these tests check what the platform guarantees itself: no
overlap, whatever the delivery order, and a retried job holding its group until it is final.
"""

from __future__ import annotations

from itertools import groupby, pairwise
from typing import TYPE_CHECKING

import pytest

from tests.workers.jobs_testing import DEADLINE_SECONDS
from workers.runtime.jobs.model import JobState

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.workers.jobs_testing import JobFamily


pytestmark = pytest.mark.slow


def runs_by_group(jobs: JobFamily) -> dict[str, list[tuple[str, int, float, float]]]:
    grouped: dict[str, list[tuple[str, int, float, float]]] = {}
    for job, attempt, group, start, end in sorted(jobs.intervals(), key=lambda run: run[3]):
        grouped.setdefault(str(group), []).append((job, attempt, start, end))
    return grouped


def test_jobs_of_a_group_never_overlap(
    job_family: Callable[..., JobFamily],
) -> None:
    # Given a FIFO family with room for 4 jobs at once
    jobs = job_family(fifo=True, max_parallel_jobs=4)

    # When two groups get 3 jobs each
    ids = {group: [f"{group}-{index}" for index in range(3)] for group in ("tenant-a", "tenant-b")}
    for index in range(3):
        for group, group_ids in ids.items():
            jobs.send(group_ids[index], group=group, seconds=0.5)

    # Then every job succeeds once, and within a group each starts after the previous one ended
    records = jobs.wait_final([*ids["tenant-a"], *ids["tenant-b"]], DEADLINE_SECONDS)
    assert {record.state for record in records.values()} == {JobState.SUCCEEDED}
    grouped = runs_by_group(jobs)
    for group, group_ids in ids.items():
        runs = grouped[group]
        assert sorted(job for job, *_ in runs) == group_ids
        assert all(earlier[3] <= later[2] for earlier, later in pairwise(runs))
    assert {record.group for record in records.values()} == set(ids)


def test_a_retried_job_keeps_its_group_until_it_is_final(
    job_family: Callable[..., JobFamily],
) -> None:
    # Given a FIFO group whose first job fails once, then a second job in the same group
    jobs = job_family(fifo=True, max_parallel_jobs=4, max_attempts=3)
    jobs.send("batch-1", group="ledger", fail=[True, False], seconds=0.2)
    jobs.send("batch-2", group="ledger", seconds=0.2)

    # When both are done
    records = jobs.wait_final(["batch-1", "batch-2"], DEADLINE_SECONDS)

    # Then batch-2 did not start between batch-1's attempts: the group waited for the retry.
    # Which job went first is moto's delivery order (see the module docstring): under load its
    # concurrent long polls may hand out batch-2 first, so either order is accepted, as long as
    # each job's attempts are back to back and no two runs overlap.
    assert records["batch-1"].attempt == 2
    runs = runs_by_group(jobs)["ledger"]
    assert sorted((job, attempt) for job, attempt, *_ in runs) == [
        ("batch-1", 1),
        ("batch-1", 2),
        ("batch-2", 1),
    ]
    holders_in_turn = [job for job, _ in groupby(job for job, *_ in runs)]
    assert sorted(holders_in_turn) == ["batch-1", "batch-2"], f"interleaved: {runs}"
    assert all(earlier[3] <= later[2] for earlier, later in pairwise(runs))
    # The runner releases the group just after it records the success: wait for it.
    jobs.wait_for(
        "the group released",
        lambda: jobs.platform.limits.group_holder("ledger") is None,
        DEADLINE_SECONDS,
    )
