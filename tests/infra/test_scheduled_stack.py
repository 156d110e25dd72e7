"""A scheduled job's stack: the schedule and its RunTask target, the scheduler's role, the DLQ of
runs that could not start, the task and its sizing, enabled and disabled, and what a new image
changes.

Most tests read the repository's own job (`workers/reporter`, synthesized once per session);
variants synthesize a modified copy.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from modules.cdk import aws
from modules.config import ConfigError, load_config
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
    SERVICE,
    TASK_DEFINITION,
    data_sources,
    ecs_tasks_trust,
    execution_role,
    execution_role_permissions,
    named,
    only_id,
    only_resource,
    policy_statements,
    reference,
    remote_output,
    resources,
    role_permissions,
    synth_stacks,
)
from tests.infra.synth_output import output_files, synth_into

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.infra.stack_json import Stack

SCHEDULE = aws.scheduler_schedule.SchedulerSchedule.TF_RESOURCE_TYPE
BUILD = "terraform_data"

JOB = "reporter"
CONSUMER_QUEUE_URL = remote_output("consumer", "queue_url")
CONSUMER_QUEUE_ARN = remote_output("consumer", "queue_arn")


def edit_job(root: Path, **changes: Any) -> None:
    """Set top-level keys of the reporter's service.yaml (None removes the key)."""
    path = root / "workers" / JOB / "service.yaml"
    spec = yaml.safe_load(path.read_text())
    spec.update(changes)
    path.write_text(yaml.safe_dump({k: v for k, v in spec.items() if v is not None}))


def synth_job(root: Path, outdir: Path) -> Stack:
    return synth_stacks(load_config(root), outdir)[JOB]


def task_size(stack: Stack) -> tuple[str, str]:
    definition = only_resource(stack, TASK_DEFINITION)
    return definition["cpu"], definition["memory"]


# --- the schedule and its target -------------------------------------------------------------


def test_schedule_runs_the_job_at_its_rate_on_time_and_enabled(stacks: dict[str, Stack]) -> None:
    # Given schedule: rate(15 minutes), timezone UTC, enabled: true and no flexible window
    schedule = only_resource(stacks[JOB], SCHEDULE)

    # Then the schedule says exactly that, in the default group, named after the job
    assert {key: schedule[key] for key in schedule if key not in ("//", "target")} == {
        "name": "workers-reporter",
        "group_name": "default",
        "description": "Runs the reporter job",
        "schedule_expression": "rate(15 minutes)",
        "schedule_expression_timezone": "UTC",
        "state": "ENABLED",
        "flexible_time_window": {"mode": "OFF"},
    }


def test_target_runs_the_jobs_task_definition_on_fargate_in_private_subnets(
    stacks: dict[str, Stack],
) -> None:
    # Given the synthesized job
    stack = stacks[JOB]

    # When reading the schedule's target
    target = only_resource(stack, SCHEDULE)["target"]

    # Then RunTask in the cluster, with the scheduler's role, this revision of the task
    # definition, the cluster's private subnets and task security group, and no public IP
    assert target == {
        "arn": CLUSTER_ARN,
        "role_arn": reference(ROLE, named(stack, ROLE, "workers-reporter-scheduler")[0], "arn"),
        "dead_letter_config": {"arn": reference(QUEUE, only_id(stack, QUEUE), "arn")},
        "retry_policy": {"maximum_retry_attempts": 185, "maximum_event_age_in_seconds": 86400},
        "ecs_parameters": {
            "task_definition_arn": reference(
                TASK_DEFINITION, only_id(stack, TASK_DEFINITION), "arn"
            ),
            "task_count": 1,
            "capacity_provider_strategy": [{"capacity_provider": "FARGATE", "weight": 1}],
            "platform_version": "LATEST",
            "network_configuration": {
                "subnets": remote_output("cluster", "private_subnet_ids"),
                "security_groups": [remote_output("cluster", "task_security_group_id")],
                "assign_public_ip": False,
            },
            "propagate_tags": "TASK_DEFINITION",
            "enable_ecs_managed_tags": True,
        },
    }


def test_a_job_is_no_service(stacks: dict[str, Stack]) -> None:
    assert resources(stacks[JOB], SERVICE) == {}


def test_cron_time_zone_count_retry_and_flexible_window_are_read_from_the_spec(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    # Given weekday mornings in Berlin, 3 tasks, 2 retries within 10 minutes, a 30-minute window
    root = repo_copy()
    edit_job(
        root,
        schedule="cron(0 7 ? * MON-FRI *)",
        timezone="Europe/Berlin",
        task_count=3,
        retry={"maximum_retry_attempts": 2, "maximum_event_age_seconds": 600},
        flexible_window_minutes=30,
    )

    # When synthesized
    schedule = only_resource(synth_job(root, tmp_path / "cdktf.out"), SCHEDULE)

    # Then the schedule carries each value
    assert schedule["schedule_expression"] == "cron(0 7 ? * MON-FRI *)"
    assert schedule["schedule_expression_timezone"] == "Europe/Berlin"
    assert schedule["flexible_time_window"] == {"mode": "FLEXIBLE", "maximum_window_in_minutes": 30}
    assert schedule["target"]["ecs_parameters"]["task_count"] == 3
    assert schedule["target"]["retry_policy"] == {
        "maximum_retry_attempts": 2,
        "maximum_event_age_in_seconds": 600,
    }


def test_disabled_keeps_every_resource_and_changes_only_the_schedules_state(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    # Given the job synthesized enabled, then with enabled: false
    root = repo_copy()
    enabled = synth_job(root, tmp_path / "enabled")
    edit_job(root, enabled=False)
    disabled = synth_job(root, tmp_path / "disabled")

    # When comparing the two stacks with the schedule's state set aside
    state = only_resource(disabled, SCHEDULE).pop("state")

    # Then the schedule is DISABLED, and everything else is the same, byte for byte
    assert state == "DISABLED"
    assert only_resource(enabled, SCHEDULE).pop("state") == "ENABLED"
    assert disabled == enabled


# --- the scheduler's role ----------------------------------------------------------------------


def test_scheduler_role_is_assumable_by_this_accounts_default_schedule_group_only(
    stacks: dict[str, Stack],
) -> None:
    stack = stacks[JOB]
    _, scheduler_role = named(stack, ROLE, "workers-reporter-scheduler")

    assert policy_statements(stack, scheduler_role["assume_role_policy"]) == {
        "AssumedByScheduler": {
            "sid": "AssumedByScheduler",
            "effect": "Allow",
            "actions": ["sts:AssumeRole"],
            "principals": [{"type": "Service", "identifiers": ["scheduler.amazonaws.com"]}],
            "condition": [
                {"test": "StringEquals", "variable": "aws:SourceAccount", "values": [ACCOUNT]},
                {
                    "test": "ArnLike",
                    "variable": "aws:SourceArn",
                    "values": [
                        f"arn:{PARTITION}:scheduler:eu-west-1:{ACCOUNT}:schedule-group/default"
                    ],
                },
            ],
        }
    }


def test_scheduler_may_run_this_family_in_this_cluster_pass_its_two_roles_and_fill_its_dlq(
    stacks: dict[str, Stack],
) -> None:
    # Given the synthesized job
    stack = stacks[JOB]
    ecs = f"arn:{PARTITION}:ecs:eu-west-1:{ACCOUNT}"
    task_role_arn = reference(ROLE, named(stack, ROLE, "workers-reporter-task")[0], "arn")
    execution_role_arn = reference(ROLE, named(stack, ROLE, "workers-reporter-execution")[0], "arn")

    # When reading the scheduler role's only policy
    statements = role_permissions(stack, "workers-reporter-scheduler")

    # Then exactly these four statements, every resource an ARN of this job or cluster
    assert statements == {
        "RunJobTasks": {
            "sid": "RunJobTasks",
            "effect": "Allow",
            "actions": ["ecs:RunTask"],
            "resources": [f"{ecs}:task-definition/workers-reporter:*"],
            "condition": [
                {
                    "test": "ArnEquals",
                    "variable": "ecs:cluster",
                    "values": [CLUSTER_ARN],
                }
            ],
        },
        "TagJobTasksAtStart": {
            "sid": "TagJobTasksAtStart",
            "effect": "Allow",
            "actions": ["ecs:TagResource"],
            "resources": [f"{ecs}:task/{CLUSTER_NAME}/*"],
            "condition": [
                {"test": "StringEquals", "variable": "ecs:CreateAction", "values": ["RunTask"]}
            ],
        },
        "PassJobTaskRoles": {
            "sid": "PassJobTaskRoles",
            "effect": "Allow",
            "actions": ["iam:PassRole"],
            "resources": [task_role_arn, execution_role_arn],
            "condition": [
                {
                    "test": "StringEquals",
                    "variable": "iam:PassedToService",
                    "values": ["ecs-tasks.amazonaws.com"],
                }
            ],
        },
        "SendRunsNotStartedToDlq": {
            "sid": "SendRunsNotStartedToDlq",
            "effect": "Allow",
            "actions": ["sqs:SendMessage"],
            "resources": [reference(QUEUE, only_id(stack, QUEUE), "arn")],
        },
    }


# --- the dead-letter queue ----------------------------------------------------------------------


def test_dead_letter_queue_is_encrypted_tls_only_and_alerts_on_any_message(
    stacks: dict[str, Stack],
) -> None:
    # Given the synthesized job
    stack = stacks[JOB]
    queue_id = only_id(stack, QUEUE)

    # When reading its queue, the queue's policy and its alarm
    queue = only_resource(stack, QUEUE)
    policy = only_resource(stack, QUEUE_POLICY)
    alarm = only_resource(stack, ALARM)

    # Then an SSE queue keeping two weeks, denying everything without TLS, alarming on one message
    assert queue["name"] == "workers-reporter-dlq"
    assert queue["sqs_managed_sse_enabled"] is True
    assert queue["message_retention_seconds"] == 14 * 24 * 60 * 60
    assert policy["queue_url"] == reference(QUEUE, queue_id, "url")
    assert policy_statements(stack, policy["policy"]) == {
        "DenyWithoutTls": {
            "sid": "DenyWithoutTls",
            "effect": "Deny",
            "actions": ["sqs:*"],
            "resources": [reference(QUEUE, queue_id, "arn")],
            "principals": [{"type": "*", "identifiers": ["*"]}],
            "condition": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
        }
    }
    assert alarm["alarm_name"] == "workers-reporter-runs-not-started"
    assert alarm["dimensions"] == {"QueueName": reference(QUEUE, queue_id, "name")}
    assert (alarm["metric_name"], alarm["statistic"], alarm["threshold"]) == (
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
        0,
    )
    assert alarm["alarm_actions"] == alarm["ok_actions"] == [ALERT_TOPIC]


# --- the task ----------------------------------------------------------------------------------


def test_task_role_may_only_read_the_watched_queues_attributes(stacks: dict[str, Stack]) -> None:
    # Given watches: consumer
    stack = stacks[JOB]

    # When reading the task role's policy and trust
    statements = role_permissions(stack, "workers-reporter-task")
    _, task_role = named(stack, ROLE, "workers-reporter-task")

    # Then GetQueueAttributes on the consumer's queue, from its state, and ECS tasks may assume it
    assert statements == {
        "ReadConsumerQueueAttributes": {
            "sid": "ReadConsumerQueueAttributes",
            "effect": "Allow",
            "actions": ["sqs:GetQueueAttributes"],
            "resources": [CONSUMER_QUEUE_ARN],
        }
    }
    assert policy_statements(stack, task_role["assume_role_policy"]) == ecs_tasks_trust()


def test_execution_role_pulls_its_own_image_and_writes_its_own_log_group_only(
    stacks: dict[str, Stack],
) -> None:
    stack = stacks[JOB]
    _, statements = execution_role(stack, "workers-reporter-execution")
    _, body = named(stack, ROLE, "workers-reporter-execution")

    assert statements == execution_role_permissions(stack, "/workers/reporter")
    assert policy_statements(stack, body["assume_role_policy"]) == ecs_tasks_trust()


def test_container_is_hardened_and_gets_the_watched_queue_and_its_log_group(
    stacks: dict[str, Stack],
) -> None:
    # Given the synthesized job
    definition = only_resource(stacks[JOB], TASK_DEFINITION)
    (container,) = json.loads(definition["container_definitions"])

    # Then the worker hardening of every service, the job's name and queue, its own log group
    assert definition["family"] == "workers-reporter"
    execution_role_id, _ = named(stacks[JOB], ROLE, "workers-reporter-execution")
    assert definition["execution_role_arn"] == reference(ROLE, execution_role_id, "arn")
    assert container["user"] == "10001"
    assert container["readonlyRootFilesystem"] is True
    assert container["environment"] == [
        {"name": "AWS_REGION", "value": "eu-west-1"},
        {"name": "QUEUE_URL", "value": CONSUMER_QUEUE_URL},
        {"name": "SERVICE_NAME", "value": "reporter"},
        {"name": "WORKER_HANDLER", "value": "workers.reporter.handler:run"},
        {"name": "WORKER_KIND", "value": "scheduled"},
    ]
    assert container["logConfiguration"]["options"] == {
        "awslogs-group": "/workers/reporter",
        "awslogs-region": "eu-west-1",
        "awslogs-stream-prefix": "reporter",
    }


def test_reads_the_cluster_logs_and_watched_consumer_outputs(stacks: dict[str, Stack]) -> None:
    remote = data_sources(stacks[JOB], "terraform_remote_state")

    assert {name: body["config"] for name, body in remote.items()} == {
        "cluster_outputs": {"path": "../../../terraform-state/cluster.tfstate"},
        "consumer_outputs": {"path": "../../../terraform-state/consumer.tfstate"},
        "logs_outputs": {"path": "../../../terraform-state/logs.tfstate"},
    }


def test_a_job_that_watches_nothing_gets_no_queue_and_no_permission(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    # Given the job without watches
    root = repo_copy()
    edit_job(root, watches=None)

    # When synthesized
    stack = synth_job(root, tmp_path / "cdktf.out")

    # Then its task role has no policy (only the scheduler's and the execution role have one),
    # no QUEUE_URL is set, and the consumer's state is not read
    with_policy = {policy["role"] for policy in resources(stack, ROLE_POLICY).values()}
    assert with_policy == {
        reference(ROLE, named(stack, ROLE, f"workers-reporter-{name}")[0], "id")
        for name in ("scheduler", "execution")
    }
    (container,) = json.loads(only_resource(stack, TASK_DEFINITION)["container_definitions"])
    assert "QUEUE_URL" not in {item["name"] for item in container["environment"]}
    assert "consumer_outputs" not in data_sources(stack, "terraform_remote_state")


# --- sizing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("containers", "size"),
    [
        pytest.param([(256, 512)], ("256", "512"), id="one-container-smallest"),
        pytest.param([(256, 1024), (256, 1024)], ("512", "2048"), id="two-cross-a-cpu-step"),
        pytest.param([(128, 1536), (128, 1024)], ("512", "3072"), id="memory-outgrows-256-cpu"),
        pytest.param([(1024, 2048), (1024, 6144)], ("2048", "8192"), id="several-at-2-vcpu"),
    ],
)
def test_task_size_is_the_smallest_fargate_size_holding_the_sum_of_the_containers(
    containers: list[tuple[int, int]],
    size: tuple[str, str],
    repo_copy: Callable[[], Path],
    tmp_path: Path,
) -> None:
    # Given containers whose cpu and memory add up as listed
    root = repo_copy()
    edit_job(
        root,
        containers=[
            {"name": f"part-{index}", "cpu": cpu, "memory": memory}
            for index, (cpu, memory) in enumerate(containers)
        ],
    )

    # When synthesized
    stack = synth_job(root, tmp_path / "cdktf.out")

    # Then the task has the smallest valid Fargate size that holds the sum
    assert task_size(stack) == size


def test_containers_that_no_fargate_size_holds_are_a_config_error(
    repo_copy: Callable[[], Path],
) -> None:
    # Given two containers of 16 vCPU and 64 GiB each
    root = repo_copy()
    edit_job(
        root,
        containers=[
            {"name": "left", "cpu": 16384, "memory": 65536},
            {"name": "right", "cpu": 16384, "memory": 65536},
        ],
    )

    # When loading the configuration
    with pytest.raises(ConfigError) as raised:
        load_config(root)

    # Then one problem, naming the file, the field, the sum and the largest size
    assert raised.value.problems == [
        "workers/reporter/service.yaml: containers: no Fargate task size holds cpu=32768 and "
        "memory=131072 MiB; the largest is cpu=16384 with memory=122880 MiB (cpu and memory add "
        "up over the containers)"
    ]


# --- what a change touches ---------------------------------------------------------------------


def test_a_new_image_changes_only_the_build_and_the_task_definition(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    # Given the job synthesized before and after an edit of its code
    root = repo_copy()
    before = synth_job(root, tmp_path / "before")
    with (root / "workers" / JOB / "handler.py").open("a") as file:
        file.write("\n# a change to the job's code\n")
    after = synth_job(root, tmp_path / "after")

    # When listing the resources whose configuration differs
    changed = sorted(
        (resource_type, logical_id)
        for resource_type, instances in after["resource"].items()
        for logical_id, body in instances.items()
        if before["resource"][resource_type][logical_id] != body
    )

    # Then the image build and the task definition (a new revision) differ, nothing else; the
    # schedule's target names the task definition's ARN, so the plan updates it in place
    assert changed == [
        (TASK_DEFINITION, only_id(after, TASK_DEFINITION)),
        (BUILD, only_id(after, BUILD)),
    ]
    assert before["resource"].keys() == after["resource"].keys()
    assert only_resource(after, SCHEDULE)["target"]["ecs_parameters"]["task_definition_arn"] == (
        reference(TASK_DEFINITION, only_id(after, TASK_DEFINITION), "arn")
    )


def test_adding_a_job_changes_its_own_stack_and_the_logs_stack_only(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    # Given the repository without the job, then with it
    root = repo_copy()
    job_folder = root / "workers" / JOB
    parked = tmp_path / "parked"
    job_folder.rename(parked)
    without_job = output_files(synth_into(load_config(root), tmp_path / "without"))
    parked.rename(job_folder)
    with_job = output_files(synth_into(load_config(root), tmp_path / "with"))

    # When comparing the outputs file by file
    changed = sorted(
        name
        for name in without_job.keys() | with_job.keys()
        if without_job.get(name) != with_job.get(name)
    )

    # Then the job's own stack is new, the logs stack gains its log group; the cluster and the
    # services are untouched (the manifest lists stacks, so it changes too)
    assert changed == ["manifest.json", "stacks/logs/cdk.tf.json", "stacks/reporter/cdk.tf.json"]
