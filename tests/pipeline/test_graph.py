"""Apply order from the links between stacks: upstream first, the platform's own stacks first."""

from __future__ import annotations

import pytest

from pipeline.errors import PipelineError
from pipeline.graph import StackGraph, remote_state_links

PLATFORM = ("cluster", "logs")


def graph(**upstream: set[str]) -> StackGraph:
    return StackGraph({name: frozenset(reads) for name, reads in upstream.items()}, first=PLATFORM)


def test_remote_state_data_sources_named_stack_outputs_are_links() -> None:
    stack = {
        "data": {
            "terraform_remote_state": {"cluster_outputs": {}, "consumer_outputs": {}},
            "aws_partition": {"partition": {}},
        }
    }

    assert remote_state_links(stack) == {"cluster", "consumer"}


def test_manifest_dependencies_count_and_links_outside_the_app_do_not() -> None:
    manifest = {"stacks": {"a": {"dependencies": ["b"]}, "b": {"dependencies": []}}}
    stacks = {
        "a": {},
        "b": {"data": {"terraform_remote_state": {"other_team_outputs": {}}}},
    }

    built = StackGraph.from_synth(manifest, stacks)

    assert built.upstream == {"a": frozenset({"b"}), "b": frozenset()}


def test_platform_stacks_come_first_then_each_service_after_what_it_reads() -> None:
    stacks = graph(
        producer={"cluster", "consumer"},
        consumer={"cluster", "logs"},
        logs=set(),
        cluster=set(),
        archiver=set(),
    )

    assert stacks.apply_order() == ["cluster", "logs", "archiver", "consumer", "producer"]
    assert stacks.levels() == {
        "cluster": 0,
        "logs": 0,
        "archiver": 0,
        "consumer": 1,
        "producer": 2,
    }


def test_downstream_follows_readers_of_readers() -> None:
    stacks = graph(cluster=set(), logs=set(), consumer={"cluster", "logs"}, producer={"consumer"})

    assert stacks.downstream({"logs"}) == {"consumer", "producer"}
    assert stacks.downstream({"producer"}) == set()


def test_a_cycle_is_an_error_naming_its_stacks() -> None:
    stacks = graph(a={"b"}, b={"a"}, cluster=set())

    with pytest.raises(PipelineError, match="cycle: a, b"):
        stacks.apply_order()
