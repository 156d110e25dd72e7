"""A job family's stack (`kind: job`): the queue and DLQ, the status table, the task, the
dispatcher fed by the queue, the reaper fed by stopped tasks, and each role's exact permissions.

Most tests read the repository's own job family (`workers/crunch`, synthesized once per session);
the FIFO variant synthesizes a modified copy.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import zipfile
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from modules.cdk import aws
from modules.config import JobSpec, load_config
from modules.constructs.job_dispatch import REAPER_CONCURRENCY
from modules.constructs.lambda_code import bundle_files, deterministic_zip
from tests.conftest import REPO_ROOT
from tests.infra.stack_json import (
    ACCOUNT,
    ALARM,
    ALERT_TOPIC,
    CLUSTER_ARN,
    CLUSTER_NAME,
    PARTITION,
    QUEUE,
    ROLE,
    ROLE_POLICY,
    RULE,
    TARGET,
    TASK_DEFINITION,
    ecs_tasks_trust,
    execution_role,
    execution_role_permissions,
    named,
    only_resource,
    policy_statements,
    reference,
    remote_output,
    resources,
    role_permissions,
)
from tests.infra.synth_output import synth_into
from workers.runtime.jobs.schema import LAMBDA_FILES

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from modules.config import PlatformConfig
    from tests.infra.stack_json import Stack

JOB = "crunch"
FAMILY = "workers-crunch"
FUNCTION = aws.lambda_function.LambdaFunction.TF_RESOURCE_TYPE
MAPPING = aws.lambda_event_source_mapping.LambdaEventSourceMapping.TF_RESOURCE_TYPE
PERMISSION = aws.lambda_permission.LambdaPermission.TF_RESOURCE_TYPE
TABLE = aws.dynamodb_table.DynamodbTable.TF_RESOURCE_TYPE
LOG_STREAMS = f"arn:{PARTITION}:logs:eu-west-1:{ACCOUNT}:log-group:/workers/crunch:*"


def ref(stack: Stack, resource_type: str, name: str, attribute: str, key: str = "name") -> str:
    return reference(resource_type, named(stack, resource_type, name, key)[0], attribute)


def grants(stack: Stack, role_name: str) -> dict[str, tuple[Any, ...]]:
    """A role's statements by sid, as (actions, resources, conditions or None)."""
    return {
        sid: (statement["actions"], statement["resources"], statement.get("condition"))
        for sid, statement in role_permissions(stack, role_name).items()
    }


def spec(root: Path = REPO_ROOT) -> JobSpec:
    found = load_config(root).service(JOB)
    assert isinstance(found, JobSpec)
    return found


@pytest.fixture(scope="module")
def outdir(default_config: PlatformConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's stacks, with their asset files (the Lambda zip)."""
    return synth_into(default_config, tmp_path_factory.mktemp("job-synth"))


@pytest.fixture(scope="module")
def stack(outdir: Path) -> Stack:
    return json.loads((outdir / "stacks" / JOB / "cdk.tf.json").read_text())


# --- what the stack holds -------------------------------------------------------------------


def test_the_stack_holds_a_job_familys_resources_and_no_service(stack: Stack) -> None:
    counts = {kind: len(found) for kind, found in stack["resource"].items()}

    assert counts == {
        "aws_cloudwatch_event_rule": 1,
        "aws_cloudwatch_event_target": 1,
        "aws_cloudwatch_metric_alarm": 2,  # the job DLQ and the reaper's DLQ
        "aws_dynamodb_table": 1,
        "aws_ecr_lifecycle_policy": 1,
        "aws_ecr_repository": 1,
        "aws_ecs_task_definition": 1,
        "aws_iam_role": 4,  # dispatcher, reaper, task, execution
        "aws_iam_role_policy": 4,
        "aws_lambda_event_source_mapping": 1,
        "aws_lambda_function": 2,
        "aws_lambda_permission": 1,
        "aws_sqs_queue": 3,  # jobs, their DLQ, the reaper's DLQ
        "aws_sqs_queue_policy": 3,
        "aws_sqs_queue_redrive_allow_policy": 1,
        "terraform_data": 1,  # the image build
    }


def test_outputs_say_where_jobs_go_and_where_their_status_is(stack: Stack) -> None:
    outputs = {name: body["value"] for name, body in stack["output"].items()}

    assert outputs == {
        "queue_url": ref(stack, QUEUE, FAMILY, "url"),
        "queue_arn": ref(stack, QUEUE, FAMILY, "arn"),
        "dead_letter_queue_url": ref(stack, QUEUE, f"{FAMILY}-dlq", "url"),
        "status_table_name": ref(stack, TABLE, f"{FAMILY}-jobs", "name"),
    }


# --- the queue and the table ----------------------------------------------------------------


def test_queue_waits_for_slots_long_and_redrives_to_its_dlq(stack: Stack) -> None:
    _, queue = named(stack, QUEUE, FAMILY)
    _, dead_letters = named(stack, QUEUE, f"{FAMILY}-dlq")

    assert {key: queue[key] for key in queue if key != "//"} == {
        "name": FAMILY,
        "sqs_managed_sse_enabled": True,
        "receive_wait_time_seconds": 20,
        # Six times the dispatcher's 60 s limit, as AWS advises for a Lambda source.
        "visibility_timeout_seconds": 360,
        "message_retention_seconds": 14 * 86400,
        "redrive_policy": json.dumps(
            {
                "deadLetterTargetArn": ref(stack, QUEUE, f"{FAMILY}-dlq", "arn"),
                "maxReceiveCount": 1000,
            },
            sort_keys=True,
        ),
    }
    assert dead_letters["sqs_managed_sse_enabled"] is True
    assert "fifo_queue" not in dead_letters


def test_a_message_in_the_job_dlq_alarms_the_alert_topic(stack: Stack) -> None:
    _, alarm = named(stack, ALARM, f"{FAMILY}-dead-letters", key="alarm_name")

    assert alarm["dimensions"] == {"QueueName": ref(stack, QUEUE, f"{FAMILY}-dlq", "name")}
    assert (alarm["threshold"], alarm["comparison_operator"]) == (0, "GreaterThanThreshold")
    assert alarm["alarm_actions"] == alarm["ok_actions"] == [ALERT_TOPIC]


def test_status_table_is_encrypted_recoverable_expiring_and_indexed_by_state(
    stack: Stack,
) -> None:
    table = only_resource(stack, TABLE)

    assert {key: table[key] for key in table if key != "//"} == {
        "name": f"{FAMILY}-jobs",
        "billing_mode": "PAY_PER_REQUEST",
        "hash_key": "id",
        "attribute": [
            {"name": "created_at", "type": "N"},
            {"name": "id", "type": "S"},
            {"name": "state", "type": "S"},
        ],
        "global_secondary_index": [
            {
                "name": "by_state",
                "hash_key": "state",
                "range_key": "created_at",
                "projection_type": "ALL",
            }
        ],
        "ttl": {"attribute_name": "expires_at", "enabled": True},
        "point_in_time_recovery": {"enabled": True},
        "server_side_encryption": {"enabled": True},
    }


# --- the dispatcher ---------------------------------------------------------------------------


def test_the_queue_feeds_the_dispatcher_in_batches_with_partial_failures(stack: Stack) -> None:
    mapping = only_resource(stack, MAPPING)
    policy_id, _ = next(
        (id_, body)
        for id_, body in resources(stack, ROLE_POLICY).items()
        if body["role"] == reference(ROLE, named(stack, ROLE, f"{FAMILY}-dispatcher")[0], "id")
    )

    assert {key: mapping[key] for key in mapping if key != "//"} == {
        "event_source_arn": ref(stack, QUEUE, FAMILY, "arn"),
        "function_name": ref(stack, FUNCTION, f"{FAMILY}-dispatcher", "arn", "function_name"),
        "batch_size": 10,
        "function_response_types": ["ReportBatchItemFailures"],
        "scaling_config": {"maximum_concurrency": 2},
        # Lambda checks the role's queue permissions when the mapping is created.
        "depends_on": [f"{ROLE_POLICY}.{policy_id}"],
    }


def test_dispatcher_runs_the_platform_code_with_the_jobs_settings(stack: Stack) -> None:
    _, function = named(stack, FUNCTION, f"{FAMILY}-dispatcher", "function_name")
    job = spec()

    assert function["handler"] == "workers.runtime.jobs.lambda_handlers.dispatch"
    assert (function["runtime"], function["architectures"]) == ("python3.12", ["arm64"])
    assert (function["timeout"], function["memory_size"]) == (60, 256)
    assert function["logging_config"] == {"log_format": "Text", "log_group": "/workers/crunch"}
    assert function["tracing_config"] == {"mode": "PassThrough"}
    assert function["environment"]["variables"] == {
        "JOBS_TABLE": ref(stack, TABLE, f"{FAMILY}-jobs", "name"),
        "QUEUE_URL": ref(stack, QUEUE, FAMILY, "url"),
        "DEAD_LETTER_QUEUE_URL": ref(stack, QUEUE, f"{FAMILY}-dlq", "url"),
        "QUEUE_TYPE": "standard",
        "MAX_PARALLEL_JOBS": str(job.max_parallel_jobs),
        "MAX_ATTEMPTS": str(job.max_attempts),
        "RETRY_DELAY_SECONDS": str(job.retry_delay_seconds),
        "STATUS_RETENTION_DAYS": str(job.status_retention_days),
        "CLUSTER": CLUSTER_ARN,
        "TASK_DEFINITION": reference(TASK_DEFINITION, "task_definition", "arn"),
        "SUBNETS": '${join(",", data.terraform_remote_state.cluster_outputs.outputs.'
        "private_subnet_ids)}",
        "SECURITY_GROUPS": remote_output("cluster", "task_security_group_id"),
        "JOB_CONTAINER": "worker",
    }


def test_dispatcher_may_only_take_its_jobs_run_its_family_and_track_its_table(
    stack: Stack,
) -> None:
    ecs = f"arn:{PARTITION}:ecs:eu-west-1:{ACCOUNT}"
    queue, dead_letters = (
        ref(stack, QUEUE, FAMILY, "arn"),
        ref(stack, QUEUE, f"{FAMILY}-dlq", "arn"),
    )
    table = ref(stack, TABLE, f"{FAMILY}-jobs", "arn")
    task_role = reference(ROLE, named(stack, ROLE, f"{FAMILY}-task")[0], "arn")
    execution = reference(ROLE, named(stack, ROLE, f"{FAMILY}-execution")[0], "arn")

    assert grants(stack, f"{FAMILY}-dispatcher") == {
        "ReceiveJobs": (
            [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
            ],
            [queue],
            None,
        ),
        "RequeueJobs": (["sqs:SendMessage"], [queue, dead_letters], None),
        "TrackJobs": (
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            [table],
            None,
        ),
        "RunJobTasks": (
            ["ecs:RunTask"],
            [f"{ecs}:task-definition/{FAMILY}:*"],
            [{"test": "ArnEquals", "variable": "ecs:cluster", "values": [CLUSTER_ARN]}],
        ),
        "TagJobTasksAtStart": (
            ["ecs:TagResource"],
            [f"{ecs}:task/{CLUSTER_NAME}/*"],
            [{"test": "StringEquals", "variable": "ecs:CreateAction", "values": ["RunTask"]}],
        ),
        "PassJobTaskRoles": (
            ["iam:PassRole"],
            [task_role, execution],
            [
                {
                    "test": "StringEquals",
                    "variable": "iam:PassedToService",
                    "values": ["ecs-tasks.amazonaws.com"],
                }
            ],
        ),
        "WriteOwnLogs": (["logs:CreateLogStream", "logs:PutLogEvents"], [LOG_STREAMS], None),
    }


def test_only_lambda_assumes_the_dispatcher_and_reaper_roles_for_this_account(
    stack: Stack,
) -> None:
    for name in (f"{FAMILY}-dispatcher", f"{FAMILY}-reaper"):
        _, body = named(stack, ROLE, name)
        (trust,) = policy_statements(stack, body["assume_role_policy"]).values()
        assert trust["principals"] == [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}]
        assert trust["actions"] == ["sts:AssumeRole"]
        assert trust["condition"] == [
            {"test": "StringEquals", "variable": "aws:SourceAccount", "values": [ACCOUNT]}
        ]


# --- the reaper -------------------------------------------------------------------------------


def test_stopped_tasks_of_this_family_in_this_cluster_reach_the_reaper(stack: Stack) -> None:
    rule = only_resource(stack, RULE)
    target = only_resource(stack, TARGET)
    permission = only_resource(stack, PERMISSION)
    reaper = ref(stack, FUNCTION, f"{FAMILY}-reaper", "arn", "function_name")

    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {
            "clusterArn": [CLUSTER_ARN],
            "group": [f"family:{FAMILY}"],
            "lastStatus": ["STOPPED"],
        },
    }
    assert (target["rule"], target["arn"]) == (
        reference(RULE, next(iter(resources(stack, RULE))), "name"),
        reaper,
    )
    assert {key: permission[key] for key in ("action", "principal", "source_arn")} == {
        "action": "lambda:InvokeFunction",
        "principal": "events.amazonaws.com",
        "source_arn": reference(RULE, next(iter(resources(stack, RULE))), "arn"),
    }  # fmt: skip


def test_reaper_keeps_events_it_failed_and_may_only_retry_dead_letter_and_track(
    stack: Stack,
) -> None:
    _, reaper = named(stack, FUNCTION, f"{FAMILY}-reaper", "function_name")
    reaper_dlq = ref(stack, QUEUE, f"{FAMILY}-reaper-dlq", "arn")

    assert reaper["handler"] == "workers.runtime.jobs.lambda_handlers.reap"
    assert reaper["dead_letter_config"] == {"target_arn": reaper_dlq}
    # A burst of stopped tasks waits in Lambda's async queue instead of taking the account's
    # concurrency; the dispatcher is bounded by its event source mapping instead.
    assert reaper["reserved_concurrent_executions"] == REAPER_CONCURRENCY == 2
    _, dispatcher = named(stack, FUNCTION, f"{FAMILY}-dispatcher", "function_name")
    assert "reserved_concurrent_executions" not in dispatcher
    assert "CLUSTER" not in reaper["environment"]["variables"]
    queue, dead_letters = (
        ref(stack, QUEUE, FAMILY, "arn"),
        ref(stack, QUEUE, f"{FAMILY}-dlq", "arn"),
    )
    table = ref(stack, TABLE, f"{FAMILY}-jobs", "arn")
    assert grants(stack, f"{FAMILY}-reaper") == {
        "RequeueJobs": (["sqs:SendMessage"], [queue, dead_letters], None),
        "TrackJobs": (["dynamodb:GetItem", "dynamodb:UpdateItem"], [table], None),
        "KeepUnhandledEvents": (["sqs:SendMessage"], [reaper_dlq], None),
        "WriteOwnLogs": (["logs:CreateLogStream", "logs:PutLogEvents"], [LOG_STREAMS], None),
    }
    _, alarm = named(stack, ALARM, f"{FAMILY}-unreaped-tasks", key="alarm_name")
    assert alarm["alarm_actions"] == [ALERT_TOPIC]


# --- the task ---------------------------------------------------------------------------------


def test_task_runs_the_job_runner_with_its_table_and_may_only_update_job_items(
    stack: Stack,
) -> None:
    definition = only_resource(stack, TASK_DEFINITION)
    (container,) = json.loads(definition["container_definitions"])
    environment = {item["name"]: item["value"] for item in container["environment"]}
    table = ref(stack, TABLE, f"{FAMILY}-jobs", "arn")

    assert definition["family"] == FAMILY
    assert (definition["cpu"], definition["memory"]) == ("256", "512")
    assert environment == {
        "AWS_REGION": "eu-west-1",
        "SERVICE_NAME": JOB,
        "JOBS_TABLE": ref(stack, TABLE, f"{FAMILY}-jobs", "name"),
        "JOB_TIMEOUT_SECONDS": "3600",
        "STATUS_RETENTION_DAYS": "30",
        "JOB_SECONDS": "30",
        "WORKER_KIND": "job",
        "WORKER_HANDLER": f"workers.{JOB}.handler:run",
    }
    assert role_permissions(stack, f"{FAMILY}-task") == {
        "UpdateOwnJobStatus": {
            "sid": "UpdateOwnJobStatus",
            "effect": "Allow",
            "actions": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            "resources": [table],
        }
    }


def test_task_roles_trust_this_accounts_ecs_tasks_and_execution_is_limited_to_its_own(
    stack: Stack,
) -> None:
    execution_id, statements = execution_role(stack, f"{FAMILY}-execution")

    assert statements == execution_role_permissions(stack, "/workers/crunch")
    assert only_resource(stack, TASK_DEFINITION)["execution_role_arn"] == reference(
        ROLE, execution_id, "arn"
    )
    for name in (f"{FAMILY}-task", f"{FAMILY}-execution"):
        _, body = named(stack, ROLE, name)
        assert policy_statements(stack, body["assume_role_policy"]) == ecs_tasks_trust()


# --- the platform code ------------------------------------------------------------------------


def test_both_functions_run_one_zip_whose_hash_is_its_content(stack: Stack, outdir: Path) -> None:
    functions = resources(stack, FUNCTION).values()
    (filename,) = {function["filename"] for function in functions}
    (code_hash,) = {function["source_code_hash"] for function in functions}
    content = (outdir / "stacks" / JOB / filename).read_bytes()

    assert filename.startswith("assets/") and filename.endswith("/job-platform.zip")
    assert code_hash == base64.b64encode(hashlib.sha256(content).digest()).decode()


def test_the_zip_holds_the_job_package_and_the_runtime_it_imports_and_nothing_else(
    outdir: Path, tmp_path: Path
) -> None:
    # Given the zip, unpacked
    (archive,) = (outdir / "stacks" / JOB / "assets").rglob("*.zip")
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
        opened.extractall(tmp_path)

    # Then it holds exactly the listed files, and both handlers import from it alone
    assert names == sorted(bundle_files(REPO_ROOT / "workers", LAMBDA_FILES))
    assert all(not name.endswith(".pyc") and "__pycache__" not in name for name in names)
    completed = subprocess.run(
        [sys.executable, "-I", "-c",
         "import sys; sys.path.insert(0, sys.argv[1]); "
         "from workers.runtime.jobs.lambda_handlers import dispatch, reap; "
         "import workers; print(workers.__file__)", str(tmp_path)],
        capture_output=True, text=True, check=False, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == str(tmp_path / "workers" / "__init__.py")


def test_the_zip_is_the_same_whatever_the_files_timestamps(tmp_path: Path) -> None:
    files = bundle_files(REPO_ROOT / "workers", LAMBDA_FILES)
    first = deterministic_zip(files)
    copies = {}
    for name, path in files.items():
        copy = tmp_path / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(path.read_bytes())
        copies[name] = copy

    assert deterministic_zip(copies) == first


# --- FIFO -------------------------------------------------------------------------------------


def test_a_fifo_family_gets_fifo_queues_and_tells_its_functions(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    # Given the job family with queue.type fifo
    root = repo_copy()
    path = root / "workers" / JOB / "service.yaml"
    document = yaml.safe_load(path.read_text())
    document["queue"]["type"] = "fifo"
    path.write_text(yaml.safe_dump(document))

    # When synthesized
    outdir = synth_into(load_config(root), tmp_path)
    fifo = json.loads((outdir / "stacks" / JOB / "cdk.tf.json").read_text())

    # Then both queues are FIFO (a FIFO queue's DLQ must be), and both functions know it
    _, queue = named(fifo, QUEUE, f"{FAMILY}.fifo")
    _, dead_letters = named(fifo, QUEUE, f"{FAMILY}-dlq.fifo")
    assert (queue["fifo_queue"], queue["content_based_deduplication"]) == (True, True)
    assert dead_letters["fifo_queue"] is True
    functions = resources(fifo, FUNCTION).values()
    assert {function["environment"]["variables"]["QUEUE_TYPE"] for function in functions} == {
        "fifo"
    }
    _, reaper_dlq = named(fifo, QUEUE, f"{FAMILY}-reaper-dlq")
    assert "fifo_queue" not in reaper_dlq  # a Lambda function's DLQ is a standard queue
