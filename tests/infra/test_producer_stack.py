"""The producer stack: a Fargate service that may only send to its consumer's queue."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import yaml

from modules.config import load_config
from tests.infra.stack_json import (
    QUEUE,
    ROLE,
    SCALABLE_TARGET,
    SERVICE,
    TASK_DEFINITION,
    data_sources,
    ecs_tasks_trust,
    execution_role,
    execution_role_permissions,
    only_resource,
    policy_statements,
    reference,
    remote_output,
    resources,
    role_permissions,
    synth_stacks,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.infra.stack_json import Stack

CONSUMER_QUEUE_URL = remote_output("consumer", "queue_url")
CONSUMER_QUEUE_ARN = remote_output("consumer", "queue_arn")
TASK_ROLE = "workers-producer-task"


def container(stack: Stack) -> dict[str, Any]:
    definitions = json.loads(only_resource(stack, TASK_DEFINITION)["container_definitions"])
    assert [definition["name"] for definition in definitions] == ["worker"]
    return definitions[0]


def test_task_role_may_only_send_to_the_consumers_queue(stacks: dict[str, Stack]) -> None:
    # Given the producer that sends_to: consumer
    stack = stacks["producer"]

    # When reading the task role's only policy
    statements = role_permissions(stack, TASK_ROLE)

    # Then it allows sqs:SendMessage on the queue ARN the consumer stack outputs, nothing else
    assert statements == {
        "SendToConsumerQueue": {
            "sid": "SendToConsumerQueue",
            "effect": "Allow",
            "actions": ["sqs:SendMessage"],
            "resources": [CONSUMER_QUEUE_ARN],
        }
    }


def test_its_roles_are_assumable_by_this_accounts_ecs_tasks_only(stacks: dict[str, Stack]) -> None:
    # Given the synthesized producer stack
    stack = stacks["producer"]

    # When reading the trust policies of its roles
    roles = {role["name"]: role for role in resources(stack, ROLE).values()}

    # Then it has a task role and an execution role, only ECS tasks of this account may assume them
    assert sorted(roles) == ["workers-producer-execution", "workers-producer-task"]
    for role in roles.values():
        assert policy_statements(stack, role["assume_role_policy"]) == ecs_tasks_trust()


def test_execution_role_pulls_its_own_image_and_writes_its_own_log_group_only(
    stacks: dict[str, Stack],
) -> None:
    stack = stacks["producer"]
    role_id, statements = execution_role(stack, "workers-producer-execution")

    assert statements == execution_role_permissions(stack, "/workers/producer")
    assert only_resource(stack, TASK_DEFINITION)["execution_role_arn"] == reference(
        ROLE, role_id, "arn"
    )


def test_reads_the_queue_from_its_consumers_state_and_owns_no_queue(
    stacks: dict[str, Stack],
) -> None:
    # Given the producer that sends_to: consumer
    stack = stacks["producer"]

    # When listing the remote states it reads and the queues it creates
    remote = data_sources(stack, "terraform_remote_state")

    # Then it reads the cluster's and the consumer's outputs, and creates no queue of its own
    assert {name: body["config"] for name, body in remote.items()} == {
        "cluster_outputs": {"path": "../../../terraform-state/cluster.tfstate"},
        "consumer_outputs": {"path": "../../../terraform-state/consumer.tfstate"},
    }
    assert resources(stack, QUEUE) == {}


def test_container_gets_the_queue_url_region_and_name_plus_its_own_variables(
    stacks: dict[str, Stack],
) -> None:
    # Given MIN_INTERVAL_SECONDS 10 and MAX_INTERVAL_SECONDS 60 in service.yaml
    # When reading the container definition
    definition = container(stacks["producer"])

    # Then the platform's producer variables and its own are set, sorted by name
    assert definition["environment"] == [
        {"name": "AWS_REGION", "value": "eu-west-1"},
        {"name": "MAX_INTERVAL_SECONDS", "value": "60"},
        {"name": "MIN_INTERVAL_SECONDS", "value": "10"},
        {"name": "QUEUE_URL", "value": CONSUMER_QUEUE_URL},
        {"name": "SERVICE_NAME", "value": "producer"},
        {"name": "WORKER_HANDLER", "value": "workers.producer.handler:produce"},
        {"name": "WORKER_KIND", "value": "producer"},
    ]


def test_container_runs_non_root_read_only_and_logs_to_its_log_group(
    stacks: dict[str, Stack],
) -> None:
    # Given the synthesized producer stack
    # When reading the container definition
    definition = container(stacks["producer"])

    # Then the same hardening as every worker, ECS's default stop timeout, its own log group
    assert definition["user"] == "10001"
    assert definition["readonlyRootFilesystem"] is True
    assert definition["mountPoints"] == [
        {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}
    ]
    assert definition["linuxParameters"] == {"initProcessEnabled": True}
    assert definition["stopTimeout"] == 30
    assert "portMappings" not in definition
    assert definition["logConfiguration"]["options"] == {
        "awslogs-group": "/workers/producer",
        "awslogs-region": "eu-west-1",
        "awslogs-stream-prefix": "producer",
    }
    assert only_resource(stacks["producer"], TASK_DEFINITION)["volume"] == [{"name": "tmp"}]


def test_service_runs_the_configured_tasks_privately_without_autoscaling(
    stacks: dict[str, Stack],
) -> None:
    # Given tasks: 1
    stack = stacks["producer"]

    # When reading the ECS service
    service = only_resource(stack, SERVICE)

    # Then Terraform owns desired_count, there is no scaling, and no task gets a public IP
    assert service["name"] == "workers-producer"
    assert service["desired_count"] == 1
    assert "lifecycle" not in service
    assert resources(stack, SCALABLE_TARGET) == {}
    assert service["network_configuration"]["assign_public_ip"] is False
    assert service["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
    assert service["capacity_provider_strategy"] == [{"capacity_provider": "FARGATE", "weight": 1}]


def test_tasks_setting_and_sends_to_are_read_from_the_spec(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    # Given a consumer named "orders" and a producer with tasks: 3 that sends to it
    root = repo_copy()
    (root / "workers" / "consumer").rename(root / "workers" / "orders")
    spec_path = root / "workers" / "producer" / "service.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec_path.write_text(yaml.safe_dump({**spec, "tasks": 3, "sends_to": "orders"}))
    # (the reporter job watches the renamed consumer too)
    job_path = root / "workers" / "reporter" / "service.yaml"
    job = yaml.safe_load(job_path.read_text())
    job_path.write_text(yaml.safe_dump({**job, "watches": "orders"}))
    # (and the ingest API feeds it)
    api_path = root / "workers" / "ingest" / "service.yaml"
    api = yaml.safe_load(api_path.read_text())
    api_path.write_text(yaml.safe_dump({**api, "feeds": "orders"}))

    # When the stacks are synthesized
    stack = synth_stacks(load_config(root), tmp_path / "cdktf.out")["producer"]

    # Then the producer reads the "orders" stack's outputs and runs 3 tasks
    statements = role_permissions(stack, TASK_ROLE)
    assert statements["SendToOrdersQueue"]["resources"] == [remote_output("orders", "queue_arn")]
    assert data_sources(stack, "terraform_remote_state")["orders_outputs"]["config"] == {
        "path": "../../../terraform-state/orders.tfstate"
    }
    assert only_resource(stack, SERVICE)["desired_count"] == 3


def test_template_sequences_in_the_spec_reach_the_container_as_written(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    # Given a container variable and command holding Terraform template sequences
    root = repo_copy()
    spec_path = root / "workers" / "producer" / "service.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["containers"][0]["environment"]["GREETING"] = "Hello ${name}, %{if}"
    spec["containers"][0]["command"] = ["python", "-c", "print('${HOME}')"]
    spec_path.write_text(yaml.safe_dump(spec))

    # When the stacks are synthesized
    stack = synth_stacks(load_config(root), tmp_path / "cdktf.out")["producer"]

    # Then they are escaped in cdk.tf.json, so Terraform passes them on literally, while the
    # platform's queue URL stays a reference
    definition = container(stack)
    environment = {item["name"]: item["value"] for item in definition["environment"]}
    assert environment["GREETING"] == "Hello $${name}, %%{if}"
    assert environment["QUEUE_URL"] == CONSUMER_QUEUE_URL
    assert definition["command"] == ["python", "-c", "print('$${HOME}')"]
