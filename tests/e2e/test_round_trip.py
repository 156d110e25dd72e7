"""The round trip on a local AWS: every stack applied, re-planned, run, changed and destroyed.

One platform is applied for the whole module (about ten minutes on two cores); each test is one
phase, in file order, and later phases build on earlier ones as a user's day does. Terraform
and the provider mirror are required: without them the module is skipped with the reason.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from devtools.e2e.round_trip import (
    CONSUMER,
    IMAGE_CHANGE_TYPES,
    Options,
    RoundTrip,
    RoundTripFailed,
)
from devtools.terraform_offline import Toolchain, ToolchainMissing
from modules.naming import repository_name, resource_name
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.slow
PIPELINE_TIMEOUT_SECONDS = 300


@pytest.fixture(scope="module")
def round_trip() -> Iterator[RoundTrip]:
    try:
        Toolchain.locate()
    except ToolchainMissing as missing:
        pytest.skip(f"no offline Terraform toolchain: {missing.reason}")
    with RoundTrip(Options(), out=sys.stdout) as applied:
        applied.apply_all()
        yield applied


def synthesized_resources(round_trip: RoundTrip, stack: str) -> int:
    module = json.loads((round_trip.terraform[stack].folder / "cdk.tf.json").read_text())
    return sum(len(items) for items in module.get("resource", {}).values())


def test_every_stack_applies_every_resource_it_declares(round_trip: RoundTrip) -> None:
    # Given the default configuration applied in apply order
    # Then each stack's state holds exactly the resources its synthesized module declares
    for stack in round_trip.order:
        row = round_trip.progress.rows[stack]
        assert row.resources == synthesized_resources(round_trip, stack), stack
        assert "apply" in row.seconds, stack


def test_a_second_plan_of_every_stack_is_empty(round_trip: RoundTrip) -> None:
    # When every stack is planned again right after its apply
    # Then nothing would change (replan_all raises, listing the changes, otherwise)
    round_trip.replan_all()


def test_each_service_image_was_pushed_with_its_content_hash_tag(round_trip: RoundTrip) -> None:
    # Given the build script ran at apply time against the local ECR
    ecr = round_trip.client("ecr")
    for stack in round_trip.order:
        module = json.loads((round_trip.terraform[stack].folder / "cdk.tf.json").read_text())
        builds = module.get("resource", {}).get("terraform_data", {})
        for build in builds.values():
            tag = build["triggers_replace"]["tag"]
            # Then the repository holds exactly the tag the task definition runs
            images = ecr.describe_images(repositoryName=repository_name(round_trip.project, stack))
            assert [image["imageTags"] for image in images["imageDetails"]] == [[tag]], stack


def test_the_applied_workers_move_messages_and_dead_letter_a_poison_one(
    round_trip: RoundTrip,
) -> None:
    # When the applied producer and consumer run as their task definitions say
    report = round_trip.run_workers()

    # Then every message the producer sent was handled, and the poison one reached the DLQ
    assert report.sent >= 3
    assert report.handled == report.sent


def test_a_task_definition_lacking_a_variable_the_runtime_needs_fails_naming_it(
    round_trip: RoundTrip,
) -> None:
    # Given the consumer's service running a revision without QUEUE_URL
    ecs = round_trip.client("ecs")
    cluster = resource_name(round_trip.project)
    service = resource_name(round_trip.project, CONSUMER)
    applied = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=applied["taskDefinition"])
    definition = definition["taskDefinition"]
    containers = [
        {**c, "environment": [v for v in c["environment"] if v["name"] != "QUEUE_URL"]}
        for c in definition["containerDefinitions"]
    ]
    broken = ecs.register_task_definition(
        family=definition["family"],
        containerDefinitions=containers,
        requiresCompatibilities=definition["requiresCompatibilities"],
        networkMode=definition["networkMode"],
        cpu=definition["cpu"],
        memory=definition["memory"],
        executionRoleArn=definition["executionRoleArn"],
        taskRoleArn=definition["taskRoleArn"],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=cluster, service=service, taskDefinition=broken)
    try:
        # When the workers run from what is applied
        # Then the round trip fails, naming the variable
        with pytest.raises(RoundTripFailed, match="QUEUE_URL is required"):
            round_trip.run_workers()
    finally:
        ecs.update_service(
            cluster=cluster, service=service, taskDefinition=applied["taskDefinition"]
        )
        ecs.deregister_task_definition(taskDefinition=broken)


def pipeline(round_trip: RoundTrip, *args: str) -> str:
    """`python -m pipeline` in the round trip's tree, as the pull-request workflow runs it."""
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", "--repo", str(round_trip.tree), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=PIPELINE_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def test_a_pull_request_comment_from_real_plans_against_the_local_aws(
    round_trip: RoundTrip, tmp_path: Path
) -> None:
    # Given an edit of the consumer's handler, not yet applied
    handler = round_trip.tree / "workers" / CONSUMER / "handler.py"
    original = handler.read_text()
    handler.write_text(original + "\n# An edit under review.\n")
    try:
        # When the pull-request workflow's steps run: changed stacks, a plan of each against the
        # applied local AWS, then the comment
        changed_file = tmp_path / "changed.json"
        changed_file.write_text(pipeline(round_trip, "changed", "--base", "HEAD", "--json"))
        assert round_trip.server is not None
        for entry in json.loads(changed_file.read_text()):
            folder = tmp_path / "plans" / f"plan-{entry['stack']}"
            pipeline(
                round_trip,
                *("plan", entry["stack"], "--no-lock"),
                *("--local-aws", round_trip.server.endpoint_url),
                *("--summary-json", str(folder / "summary.json")),
                *("--plan-text", str(folder / "plan.txt")),
            )
        comment_file = tmp_path / "comment.md"
        pipeline(
            round_trip,
            *("comment", "--changed", str(changed_file), "--plans", str(tmp_path / "plans")),
            *("--out", str(comment_file)),
        )
    finally:
        handler.write_text(original)

    # Then the consumer's row counts its real plan: the image build and the task definition
    # replaced, the service updated in place; the stacks reading it plan nothing
    # (the column between the counts and "provisional" is the monthly cost change)
    comment = comment_file.read_text()
    assert re.search(rf"^\| `{CONSUMER}` \| 0 \| 1 \| 0 \| 2 \| [^|]* \|  \|$", comment, re.M)
    for entry in json.loads(changed_file.read_text())[1:]:
        row = rf"^\| `{entry['stack']}` \| 0 \| 0 \| 0 \| 0 \| [^|]* \| yes \|$"
        assert re.search(row, comment, re.M), entry["stack"]


def test_an_edit_of_one_handler_applies_to_its_stack_alone(round_trip: RoundTrip) -> None:
    # When the consumer's handler is edited and what `make changed` lists is applied
    report = round_trip.change_one_worker(CONSUMER)

    # Then the consumer is the one modified stack; its image, task definition and service change
    assert report.listed[0] == CONSUMER
    assert all("provisional" in line for line in report.listed[1:])
    assert {change.resource_type for change in report.applied} == IMAGE_CHANGE_TYPES
    # And a plan of every other stack is empty
    assert sorted(report.others_empty) == sorted(set(round_trip.order) - {CONSUMER})


def test_destroy_in_reverse_order_leaves_nothing(round_trip: RoundTrip) -> None:
    # When every stack is destroyed in reverse apply order
    # Then each state is empty and no resource of the project is left (destroy_all raises)
    round_trip.destroy_all()
