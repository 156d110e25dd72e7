"""The consumer stack: queue and DLQ, task definition, service, task role and both scaling modes.

Most tests read the repository's own consumer (backlog-per-task, min 0, synthesized once per
session); the queue-depth and min-tasks variants synthesize a modified copy.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from modules.cdk import aws
from modules.constructs.backlog_scaling import TRACKING_FLOOR
from modules.stacks import consumer
from tests.infra.stack_json import (
    ACCOUNT,
    ALARM,
    ALERT_TOPIC,
    CLUSTER_ARN,
    CLUSTER_NAME,
    PARTITION,
    QUEUE,
    QUEUE_POLICY,
    ROLE,
    ROLE_POLICY,
    SCALABLE_TARGET,
    SCALING_POLICY,
    SERVICE,
    TASK_DEFINITION,
    data_sources,
    ecs_tasks_trust,
    execution_role,
    execution_role_permissions,
    named,
    only_resource,
    policy_statements,
    queue_ref,
    reference,
    resources,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.infra.stack_json import Stack

REDRIVE_ALLOW = aws.sqs_queue_redrive_allow_policy.SqsQueueRedriveAllowPolicy.TF_RESOURCE_TYPE
DAY = 24 * 60 * 60


def without(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    """A copy of `body` without cdktf's metadata and `keys` (the session's stacks stay intact)."""
    return {key: value for key, value in body.items() if key not in ("//", *keys)}


def by_id(queries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Metric queries by their id."""
    return {query["id"]: without(query, "id") for query in queries}


def service_ref(stack: Stack) -> str:
    return reference(SERVICE, named(stack, SERVICE, "workers-consumer")[0], "name")


def container(stack: Stack) -> dict[str, Any]:
    definitions = json.loads(only_resource(stack, TASK_DEFINITION)["container_definitions"])
    assert [definition["name"] for definition in definitions] == ["worker"]
    return definitions[0]


# --- queue and dead-letter queue ----------------------------------------------------------------


def test_queue_is_encrypted_long_polled_and_sized_from_the_spec(stacks: dict[str, Stack]) -> None:
    # Given the consumer's spec: handler timeout 90 s, default retention (4 days), 5 receives
    # When the stack is synthesized
    _, queue = named(stacks["consumer"], QUEUE, "workers-consumer")

    # Then the queue uses SSE-SQS, 20 s long polls, visibility = handler + 30 s, and redrives
    assert without(queue, "redrive_policy") == {
        "name": "workers-consumer",
        "sqs_managed_sse_enabled": True,
        "receive_wait_time_seconds": 20,
        "visibility_timeout_seconds": 120,
        "message_retention_seconds": 4 * DAY,
    }
    assert json.loads(queue["redrive_policy"]) == {
        "deadLetterTargetArn": queue_ref(stacks["consumer"], "workers-consumer-dlq", "arn"),
        "maxReceiveCount": 5,
    }


def test_dead_letter_queue_keeps_14_days_and_accepts_only_this_queue(
    stacks: dict[str, Stack],
) -> None:
    # Given the consumer's spec (default DLQ retention)
    stack = stacks["consumer"]

    # When the stack is synthesized
    _, dead_letter_queue = named(stack, QUEUE, "workers-consumer-dlq")
    allow = only_resource(stack, REDRIVE_ALLOW)

    # Then the DLQ is encrypted, keeps messages 14 days and is the redrive target of this queue only
    assert without(dead_letter_queue) == {
        "name": "workers-consumer-dlq",
        "sqs_managed_sse_enabled": True,
        "message_retention_seconds": 14 * DAY,
    }
    assert allow["queue_url"] == queue_ref(stack, "workers-consumer-dlq", "url")
    assert json.loads(allow["redrive_allow_policy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [queue_ref(stack, "workers-consumer", "arn")],
    }


def test_both_queues_deny_every_request_without_tls(stacks: dict[str, Stack]) -> None:
    # Given the synthesized consumer stack
    stack = stacks["consumer"]

    # When reading each queue's policy
    policies = {
        policy["queue_url"]: policy["policy"] for policy in resources(stack, QUEUE_POLICY).values()
    }

    # Then each queue has exactly one statement: deny anyone, any SQS action, without TLS
    for name in ("workers-consumer", "workers-consumer-dlq"):
        statements = policy_statements(stack, policies.pop(queue_ref(stack, name, "url")))
        assert statements == {
            "DenyWithoutTls": {
                "sid": "DenyWithoutTls",
                "effect": "Deny",
                "actions": ["sqs:*"],
                "resources": [queue_ref(stack, name, "arn")],
                "principals": [{"type": "*", "identifiers": ["*"]}],
                "condition": [
                    {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
                ],
            }
        }
    assert policies == {}


def test_a_message_in_the_dead_letter_queue_alerts_and_its_removal_clears(
    stacks: dict[str, Stack],
) -> None:
    # Given the synthesized consumer stack
    stack = stacks["consumer"]

    # When reading the DLQ alarm
    _, alarm = named(stack, ALARM, "workers-consumer-dead-letters", key="alarm_name")

    # Then one visible message for one minute alarms, and both transitions reach the alert topic
    assert without(alarm, "alarm_description", "metric_query") == {
        "alarm_name": "workers-consumer-dead-letters",
        "namespace": "AWS/SQS",
        "metric_name": "ApproximateNumberOfMessagesVisible",
        "dimensions": {"QueueName": queue_ref(stack, "workers-consumer-dlq", "name")},
        "statistic": "Maximum",
        "period": 60,
        "evaluation_periods": 1,
        "threshold": 0,
        "comparison_operator": "GreaterThanThreshold",
        "treat_missing_data": "notBreaching",
        "alarm_actions": [ALERT_TOPIC],
        "ok_actions": [ALERT_TOPIC],
    }


# --- task definition and service ----------------------------------------------------------------


def test_task_definition_is_a_fargate_task_sized_by_the_sizing_function(
    stacks: dict[str, Stack],
) -> None:
    # Given one container of 256 cpu units and 512 MiB
    # When the stack is synthesized
    task = only_resource(stacks["consumer"], TASK_DEFINITION)

    # Then the task is the smallest Fargate size holding it, on linux/amd64, with its own
    # execution role, its own task role and a task-local /tmp volume
    assert task["family"] == "workers-consumer"
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["network_mode"] == "awsvpc"
    assert (task["cpu"], task["memory"]) == ("256", "512")
    assert task["runtime_platform"] == {
        "operating_system_family": "LINUX",
        "cpu_architecture": "X86_64",
    }
    execution_role_id, _ = named(stacks["consumer"], ROLE, "workers-consumer-execution")
    assert task["execution_role_arn"] == reference(ROLE, execution_role_id, "arn")
    role_id, _ = named(stacks["consumer"], ROLE, "workers-consumer-task")
    assert task["task_role_arn"] == reference(ROLE, role_id, "arn")
    assert task["volume"] == [{"name": "tmp"}]


def test_container_runs_non_root_read_only_and_drains_before_sigkill(
    stacks: dict[str, Stack],
) -> None:
    # Given handler_timeout_seconds 90
    # When reading the container definition
    definition = container(stacks["consumer"])

    # Then it runs as uid 10001 on a read-only root with only /tmp writable, under an init
    # process, and gets 100 s (handler + 10 s) between SIGTERM and SIGKILL
    assert definition["user"] == "10001"
    assert definition["readonlyRootFilesystem"] is True
    assert definition["mountPoints"] == [
        {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}
    ]
    assert definition["linuxParameters"] == {"initProcessEnabled": True}
    assert definition["stopTimeout"] == 100
    assert definition["essential"] is True
    assert (definition["cpu"], definition["memoryReservation"]) == (256, 512)
    assert "portMappings" not in definition
    assert "command" not in definition


def test_container_logs_to_the_services_log_group(stacks: dict[str, Stack]) -> None:
    # Given project "workers" and service "consumer"
    # When reading the container definition
    definition = container(stacks["consumer"])

    # Then awslogs writes to the log group the logs stack creates for it
    assert definition["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": "/workers/consumer",
            "awslogs-region": "eu-west-1",
            "awslogs-stream-prefix": "consumer",
        },
    }


def test_container_environment_is_the_platforms_plus_its_own_sorted_by_name(
    stacks: dict[str, Stack],
) -> None:
    # Given concurrency 10, handler timeout 90 s and HANDLER_SLEEP_SECONDS: 60 in service.yaml
    # When reading the container definition
    definition = container(stacks["consumer"])

    # Then every platform variable is set, with the container's own, sorted by name
    assert definition["environment"] == [
        {"name": "AWS_REGION", "value": "eu-west-1"},
        {"name": "HANDLER_SLEEP_SECONDS", "value": "60"},
        {"name": "HANDLER_TIMEOUT_SECONDS", "value": "90"},
        {"name": "QUEUE_URL", "value": queue_ref(stacks["consumer"], "workers-consumer", "url")},
        {"name": "SERVICE_NAME", "value": "consumer"},
        {"name": "STOP_TIMEOUT_SECONDS", "value": "100"},
        {"name": "VISIBILITY_TIMEOUT_SECONDS", "value": "120"},
        {"name": "WORKER_CONCURRENCY", "value": "10"},
        # its own code, by convention: workers/consumer/handler.py, handle(message)
        {"name": "WORKER_HANDLER", "value": "workers.consumer.handler:handle"},
        {"name": "WORKER_KIND", "value": "consumer"},
        {"name": "WORKER_PREFETCH", "value": "0"},
    ]


def test_service_runs_privately_rolls_back_failed_deployments_and_leaves_count_to_scaling(
    stacks: dict[str, Stack],
) -> None:
    # Given the synthesized consumer stack
    stack = stacks["consumer"]

    # When reading the ECS service
    _, service = named(stack, SERVICE, "workers-consumer")

    # Then it runs on on-demand Fargate in the cluster's private subnets without a public IP,
    # starts at min_tasks and lets Application Auto Scaling own desired_count afterwards
    task_id = next(iter(resources(stack, TASK_DEFINITION)))
    assert without(service) == {
        "name": "workers-consumer",
        "cluster": CLUSTER_ARN,
        "task_definition": reference(TASK_DEFINITION, task_id, "arn"),
        "capacity_provider_strategy": [{"capacity_provider": "FARGATE", "weight": 1}],
        "platform_version": "LATEST",
        "desired_count": 0,
        "lifecycle": {"ignore_changes": ["desired_count"]},
        "network_configuration": {
            "subnets": "${data.terraform_remote_state.cluster_outputs.outputs.private_subnet_ids}",
            "security_groups": [
                "${data.terraform_remote_state.cluster_outputs.outputs.task_security_group_id}"
            ],
            "assign_public_ip": False,
        },
        "deployment_minimum_healthy_percent": 100,
        "deployment_maximum_percent": 200,
        "deployment_circuit_breaker": {"enable": True, "rollback": True},
        "propagate_tags": "SERVICE",
        "enable_ecs_managed_tags": True,
        "wait_for_steady_state": False,
    }


# --- task role ----------------------------------------------------------------------------------


def test_task_and_execution_roles_are_assumable_by_this_accounts_ecs_tasks_only(
    stacks: dict[str, Stack],
) -> None:
    # Given the synthesized consumer stack
    stack = stacks["consumer"]

    # When reading both roles' trust policies
    _, task_role = named(stack, ROLE, "workers-consumer-task")
    _, execution_role = named(stack, ROLE, "workers-consumer-execution")

    # Then only ECS tasks may assume them, and only for this account's ECS resources
    assert policy_statements(stack, task_role["assume_role_policy"]) == ecs_tasks_trust()
    assert policy_statements(stack, execution_role["assume_role_policy"]) == ecs_tasks_trust()


def test_execution_role_pulls_its_own_image_and_writes_its_own_log_group_only(
    stacks: dict[str, Stack],
) -> None:
    # Given the synthesized consumer stack
    stack = stacks["consumer"]

    # When reading the execution role's only policy
    _, statements = execution_role(stack, "workers-consumer-execution")

    # Then ECS may pull this service's image and write this service's log streams, nothing else
    assert statements == execution_role_permissions(stack, "/workers/consumer")


def test_task_role_consumes_its_own_queue_and_protects_its_own_service_tasks_only(
    stacks: dict[str, Stack],
) -> None:
    # Given the synthesized consumer stack
    stack = stacks["consumer"]

    # When reading the task role's only policy
    role_id, _ = named(stack, ROLE, "workers-consumer-task")
    (policy,) = [
        body
        for body in resources(stack, ROLE_POLICY).values()
        if body["role"] == reference(ROLE, role_id, "id")
    ]

    # Then it may receive, delete, change visibility and read attributes of its queue, and
    # set or read scale-in protection of this service's tasks in this cluster; nothing else
    assert policy_statements(stack, policy["policy"]) == {
        "ConsumeOwnQueue": {
            "sid": "ConsumeOwnQueue",
            "effect": "Allow",
            "actions": [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
            ],
            "resources": [queue_ref(stack, "workers-consumer", "arn")],
        },
        "ProtectOwnTasks": {
            "sid": "ProtectOwnTasks",
            "effect": "Allow",
            "actions": ["ecs:GetTaskProtection", "ecs:UpdateTaskProtection"],
            "resources": [f"arn:{PARTITION}:ecs:eu-west-1:{ACCOUNT}:task/{CLUSTER_NAME}/*"],
            # ECS tags each task of the service with its name (the service enables managed tags)
            "condition": [
                {
                    "test": "StringEquals",
                    "variable": "aws:ResourceTag/aws:ecs:serviceName",
                    "values": ["workers-consumer"],
                }
            ],
        },
    }


# --- scaling: backlog per task (the repository's consumer) --------------------------------------


def test_scalable_target_spans_min_and_max_tasks_of_the_service(stacks: dict[str, Stack]) -> None:
    # Given scaling min_tasks 0, max_tasks 10
    stack = stacks["consumer"]

    # When reading the scalable target
    target = only_resource(stack, SCALABLE_TARGET)

    # Then it scales the service's desired count between them, after the service exists
    assert without(target) == {
        "service_namespace": "ecs",
        "scalable_dimension": "ecs:service:DesiredCount",
        "resource_id": f"service/{CLUSTER_NAME}/{service_ref(stack)}",
        "min_capacity": 0,
        "max_capacity": 10,
    }


def test_target_tracking_keeps_visible_messages_per_running_task_at_the_latency_target(
    stacks: dict[str, Stack],
) -> None:
    # Given acceptable latency 300 s, processing time 60 s and concurrency 10: 50 per task
    stack = stacks["consumer"]

    # When reading the target tracking policy
    _, tracking = named(stack, SCALING_POLICY, "workers-consumer-backlog-per-task")
    assert tracking["policy_type"] == "TargetTrackingScaling"
    configuration = tracking["target_tracking_scaling_policy_configuration"]
    metrics = by_id(configuration["customized_metric_specification"]["metrics"])

    # Then it tracks visible / running tasks (visible alone below 2 tasks), floored so that it
    # never asks for 0 tasks while one runs
    assert without(configuration, "customized_metric_specification") == {
        "target_value": 50,
        "scale_out_cooldown": 60,
        "scale_in_cooldown": 300,
    }
    assert metrics == {
        "visible": {
            "metric_stat": {
                "metric": {
                    "namespace": "AWS/SQS",
                    "metric_name": "ApproximateNumberOfMessagesVisible",
                    "dimensions": [
                        {"name": "QueueName", "value": queue_ref(stack, "workers-consumer", "name")}
                    ],
                },
                "stat": "Average",
            },
            "return_data": False,
        },
        "running": {
            "metric_stat": {
                "metric": {
                    "namespace": "ECS/ContainerInsights",
                    "metric_name": "RunningTaskCount",
                    "dimensions": [
                        {"name": "ClusterName", "value": CLUSTER_NAME},
                        {"name": "ServiceName", "value": service_ref(stack)},
                    ],
                },
                "stat": "Average",
            },
            "return_data": False,
        },
        "backlog_per_task": {
            "expression": (
                "IF(FILL(running, 0) > 1, FILL(visible, 0) / FILL(running, 0), FILL(visible, 0))"
            ),
            "label": "Visible messages per running task",
            "return_data": False,
        },
        "tracked": {
            "expression": "IF(backlog_per_task < 0.001, 0.001, backlog_per_task)",
            "label": "Visible messages per running task, at least 0.001",
            "return_data": True,
        },
    }


def test_tracking_floor_keeps_one_task_for_any_allowed_size_and_target() -> None:
    # Given target tracking's rule desired = ceil(current x metric / target), the largest
    # max_tasks allowed (1000) and the smallest possible target (latency = processing time,
    # concurrency 1: 1 message per task)
    current, target = 1000, 1.0

    # When the queue has nothing visible (the metric sits at the floor)
    desired = -(-current * TRACKING_FLOOR // target)

    # Then target tracking asks for exactly one task, never zero
    assert desired == 1


def test_messages_waiting_that_nobody_receives_start_one_task(stacks: dict[str, Stack]) -> None:
    # Given min_tasks 0
    stack = stacks["consumer"]

    # When reading the scale-out-from-zero policy and its alarm
    policy_id, policy = named(stack, SCALING_POLICY, "workers-consumer-scale-out-from-zero")
    _, alarm = named(stack, ALARM, "workers-consumer-messages-not-received", key="alarm_name")
    queries = by_id(alarm["metric_query"])

    # Then one minute with a visible message and none in flight adds one task, on SQS metrics
    # alone: nothing here depends on what Container Insights reports for a service at 0
    assert policy["policy_type"] == "StepScaling"
    assert policy["step_scaling_policy_configuration"] == {
        "adjustment_type": "ChangeInCapacity",
        "cooldown": 300,
        "metric_aggregation_type": "Maximum",
        "step_adjustment": [{"metric_interval_lower_bound": "0", "scaling_adjustment": 1}],
    }
    assert queries["result"] == {
        "expression": "IF(FILL(visible, 0) > 0 AND FILL(in_flight, 0) == 0, 1, 0)",
        "label": "1 when messages wait and none is in flight",
        "return_data": True,
    }
    assert set(queries) == {"visible", "in_flight", "result"}
    for query_id, metric_name in (
        ("visible", "ApproximateNumberOfMessagesVisible"),
        ("in_flight", "ApproximateNumberOfMessagesNotVisible"),
    ):
        assert queries[query_id]["metric"] == {
            "namespace": "AWS/SQS",
            "metric_name": metric_name,
            "dimensions": {"QueueName": queue_ref(stack, "workers-consumer", "name")},
            "stat": "Maximum",
            "period": 60,
        }
    assert without(alarm, "alarm_description", "metric_query") == {
        "alarm_name": "workers-consumer-messages-not-received",
        "comparison_operator": "GreaterThanOrEqualToThreshold",
        "threshold": 1,
        "evaluation_periods": 1,
        "datapoints_to_alarm": 1,
        "treat_missing_data": "notBreaching",
        "alarm_actions": [reference(SCALING_POLICY, policy_id, "arn")],
    }


def test_idle_minutes_without_visible_or_in_flight_messages_stop_every_task(
    stacks: dict[str, Stack],
) -> None:
    # Given idle_minutes 15
    stack = stacks["consumer"]

    # When reading the scale-in-to-zero policy and its alarm
    policy_id, policy = named(stack, SCALING_POLICY, "workers-consumer-scale-in-to-zero")
    _, alarm = named(stack, ALARM, "workers-consumer-idle", key="alarm_name")
    queries = by_id(alarm["metric_query"])

    # Then 15 consecutive minutes with nothing visible or in flight set exactly 0 tasks
    assert policy["policy_type"] == "StepScaling"
    assert policy["step_scaling_policy_configuration"] == {
        "adjustment_type": "ExactCapacity",
        "metric_aggregation_type": "Maximum",
        "step_adjustment": [{"metric_interval_upper_bound": "0", "scaling_adjustment": 0}],
    }
    assert queries["result"]["expression"] == "FILL(visible, 0) + FILL(in_flight, 0)"
    assert queries["result"]["return_data"] is True
    assert queries["in_flight"]["metric"] == {
        "namespace": "AWS/SQS",
        "metric_name": "ApproximateNumberOfMessagesNotVisible",
        "dimensions": {"QueueName": queue_ref(stack, "workers-consumer", "name")},
        "stat": "Maximum",
        "period": 60,
    }
    assert queries["visible"]["metric"]["metric_name"] == "ApproximateNumberOfMessagesVisible"
    assert without(alarm, "alarm_description", "metric_query") == {
        "alarm_name": "workers-consumer-idle",
        "comparison_operator": "LessThanThreshold",
        "threshold": 1,
        "evaluation_periods": 15,
        "datapoints_to_alarm": 15,
        "treat_missing_data": "notBreaching",
        "alarm_actions": [reference(SCALING_POLICY, policy_id, "arn")],
    }


# --- scaling: variants --------------------------------------------------------------------------


def test_queue_depth_mode_reproduces_the_reference_target_tracking(
    consumer_with_scaling: Callable[[dict[str, Any]], Stack],
) -> None:
    # Given `scaling: {mode: queue-depth}` (defaults: min 1, max 3, target 3 visible messages)
    # When the stack is synthesized
    stack = consumer_with_scaling({"mode": "queue-depth"})

    # Then one target tracking policy on the queue's visible messages, and no step policy
    target = only_resource(stack, SCALABLE_TARGET)
    assert (target["min_capacity"], target["max_capacity"]) == (1, 3)
    policy = only_resource(stack, SCALING_POLICY)
    assert policy["name"] == "workers-consumer-queue-depth"
    assert policy["policy_type"] == "TargetTrackingScaling"
    assert policy["target_tracking_scaling_policy_configuration"] == {
        "target_value": 3,
        "customized_metric_specification": {
            "namespace": "AWS/SQS",
            "metric_name": "ApproximateNumberOfMessagesVisible",
            "statistic": "Average",
            "dimensions": [
                {"name": "QueueName", "value": queue_ref(stack, "workers-consumer", "name")}
            ],
        },
    }
    # Only the DLQ alarm is left: no scaling alarms
    assert [alarm["alarm_name"] for alarm in resources(stack, ALARM).values()] == [
        "workers-consumer-dead-letters"
    ]
    assert named(stack, SERVICE, "workers-consumer")[1]["desired_count"] == 1


def test_a_minimum_above_zero_needs_no_scale_to_or_from_zero(
    consumer_with_scaling: Callable[[dict[str, Any]], Stack],
) -> None:
    # Given backlog-per-task scaling with min_tasks 2
    scaling = {"mode": "backlog-per-task", "min_tasks": 2, "max_tasks": 4}

    # When the stack is synthesized
    stack = consumer_with_scaling(scaling)

    # Then target tracking alone scales between 2 and 4 tasks, starting at 2
    target = only_resource(stack, SCALABLE_TARGET)
    assert (target["min_capacity"], target["max_capacity"]) == (2, 4)
    assert [policy["name"] for policy in resources(stack, SCALING_POLICY).values()] == [
        "workers-consumer-backlog-per-task"
    ]
    assert [alarm["alarm_name"] for alarm in resources(stack, ALARM).values()] == [
        "workers-consumer-dead-letters"
    ]
    assert named(stack, SERVICE, "workers-consumer")[1]["desired_count"] == 2


# --- outputs ------------------------------------------------------------------------------------


def test_outputs_are_what_a_producer_reads_and_say_what_they_are(stacks: dict[str, Stack]) -> None:
    # Given the synthesized consumer stack
    stack = stacks["consumer"]

    # When reading its outputs
    outputs = stack["output"]

    # Then the queue URL and ARN and the DLQ ARN are there, each with a description
    assert {name: output["value"] for name, output in outputs.items()} == {
        consumer.QUEUE_URL: queue_ref(stack, "workers-consumer", "url"),
        consumer.QUEUE_ARN: queue_ref(stack, "workers-consumer", "arn"),
        consumer.DEAD_LETTER_QUEUE_ARN: queue_ref(stack, "workers-consumer-dlq", "arn"),
    }
    assert all(output["description"] for output in outputs.values())


def test_reads_only_the_cluster_and_logs_outputs(stacks: dict[str, Stack]) -> None:
    # Given the synthesized consumer stack
    # When listing the remote states it reads
    remote = data_sources(stacks["consumer"], "terraform_remote_state")

    # Then it depends on the cluster and logs stacks only, through their local state files
    assert {name: body["config"] for name, body in remote.items()} == {
        "cluster_outputs": {"path": "../../../terraform-state/cluster.tfstate"},
        "logs_outputs": {"path": "../../../terraform-state/logs.tfstate"},
    }
