"""What the round trip's last check finds: a project's resources still in an account, and only
that project's (against a real moto_server)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from devtools.e2e.leftovers import leftovers

if TYPE_CHECKING:
    from collections.abc import Callable

    from devtools.moto_server import MotoServer

REGION = "eu-west-1"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@pytest.fixture
def client(moto_server: MotoServer) -> Callable[[str], Any]:
    def make(service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=moto_server.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return make


def test_each_kind_left_is_named_and_other_projects_are_not(client: Callable[[str], Any]) -> None:
    # Given resources of project "left" and of project "leftish" (a longer name, same start)
    for project in ("left", "leftish"):
        client("sqs").create_queue(QueueName=f"{project}-consumer-dlq")
        client("iam").create_role(
            RoleName=f"{project}-consumer-task", AssumeRolePolicyDocument=TRUST
        )
        client("ecr").create_repository(repositoryName=f"{project}/consumer")
        client("logs").create_log_group(logGroupName=f"/{project}/consumer")
        client("ecs").create_cluster(clusterName=project)
        client("ec2").create_vpc(
            CidrBlock="10.9.0.0/16",
            TagSpecifications=[
                {"ResourceType": "vpc", "Tags": [{"Key": "Project", "Value": project}]}
            ],
        )

    # When listing what is left of "left"
    found = leftovers(client, "left")

    # Then each of its resources is named once, by kind, and nothing of "leftish"
    assert [line for line in found if not line.startswith("vpcs: ")] == [
        "ecs_clusters: left",
        "iam_roles: left-consumer-task",
        "queues: left-consumer-dlq",
        "repositories: left/consumer",
        "log_groups: /left/consumer",
    ]
    assert len([line for line in found if line.startswith("vpcs: vpc-")]) == 1


def test_a_deleted_cluster_is_not_left(client: Callable[[str], Any]) -> None:
    # Given a project whose only resource, a cluster, was deleted
    client("ecs").create_cluster(clusterName="gone")
    client("ecs").delete_cluster(cluster="gone")

    # Then nothing of it is left
    assert leftovers(client, "gone") == []
