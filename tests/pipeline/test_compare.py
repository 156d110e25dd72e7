"""Comparing two snapshots: modified, added, removed and provisional stacks, in apply order."""

from __future__ import annotations

from dataclasses import replace

from pipeline.changed import Change, Snapshot, StackCost, compare
from pipeline.graph import StackGraph

PLATFORM = ("cluster", "logs")
LINKS = {
    "cluster": set(),
    "logs": set(),
    "consumer": {"cluster", "logs"},
    "producer": {"cluster", "consumer"},
}


def snapshot(fingerprints: dict[str, str], links: dict[str, set[str]] | None = None) -> Snapshot:
    links = LINKS if links is None else links
    return Snapshot(
        fingerprints=fingerprints,
        graph=StackGraph({name: frozenset(links[name]) for name in fingerprints}, first=PLATFORM),
    )


BASE = snapshot({"cluster": "c1", "logs": "l1", "consumer": "q1", "producer": "p1"})


def listed(changes: list) -> list[tuple[str, Change, int]]:
    return [(change.stack, change.change, change.order) for change in changes]


def test_identical_snapshots_list_nothing() -> None:
    assert compare(BASE, BASE) == []


def test_a_changed_stack_makes_its_readers_and_their_readers_provisional() -> None:
    head = snapshot({"cluster": "c1", "logs": "l2", "consumer": "q1", "producer": "p1"})

    changes = compare(BASE, head)

    assert listed(changes) == [
        ("logs", Change.MODIFIED, 1),
        ("consumer", Change.PROVISIONAL, 2),
        ("producer", Change.PROVISIONAL, 3),
    ]
    assert [change.reads for change in changes] == [(), ("logs",), ("consumer",)]


def test_a_reader_that_changed_itself_is_modified_not_provisional() -> None:
    head = snapshot({"cluster": "c2", "logs": "l1", "consumer": "q2", "producer": "p1"})

    assert listed(compare(BASE, head)) == [
        ("cluster", Change.MODIFIED, 1),
        ("consumer", Change.MODIFIED, 2),
        ("producer", Change.PROVISIONAL, 3),
    ]


def test_added_stacks_are_listed_in_apply_order_and_removed_ones_last() -> None:
    links = {**LINKS, "reports": {"cluster"}}
    head = snapshot({"cluster": "c1", "logs": "l1", "consumer": "q1", "reports": "r1"}, links=links)

    changes = compare(BASE, head)

    assert listed(changes) == [
        ("reports", Change.ADDED, 1),
        ("producer", Change.REMOVED, 2),
    ]
    assert [change.level for change in changes] == [1, 2]


def test_the_json_entry_carries_what_a_ci_matrix_needs() -> None:
    head = snapshot({"cluster": "c1", "logs": "l1", "consumer": "q1", "producer": "p2"})

    (entry,) = [change.to_json() for change in compare(BASE, head)]

    assert entry == {
        "stack": "producer",
        "provisional": False,
        "order": 1,
        "change": "modified",
        "level": 2,
        "reads": [],
        "plan_role_variable": "TF_PLAN_ROLE_ARN_PRODUCER",
        "monthly_cost": {"before": None, "after": None},
    }


def test_each_listed_stack_carries_its_cost_before_and_after() -> None:
    base = replace(BASE, costs={"producer": StackCost(3.95, 9.01), "logs": StackCost(2.5, 0.0)})
    head = snapshot({"cluster": "c1", "logs": "l1", "consumer": "q1", "producer": "p2"})
    head = replace(head, costs={"producer": StackCost(3.95, 18.02)})

    (entry,) = [change.to_json() for change in compare(base, head)]

    assert entry["monthly_cost"] == {
        "before": {"fixed": 3.95, "usage": 9.01},
        "after": {"fixed": 3.95, "usage": 18.02},
    }
