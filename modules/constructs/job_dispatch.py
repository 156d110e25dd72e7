"""A job family's dispatch: the dispatcher and reaper Lambda functions, what feeds them, and
their roles.

    job queue --event source mapping (batches, ReportBatchItemFailures)--> dispatcher
        records the job, takes a slot, RunTask (Fargate, private subnets, no public IP)
    ECS task STOPPED (this family) --EventBridge rule--> reaper
        fails attempts whose task died, retries with backoff or dead-letters

Both run the platform's code (`workers/runtime/jobs`, one zip built at synth, see
lambda_code.py), each with a role that allows exactly what its half does. They run outside the
VPC: they call only AWS APIs, and inside it they would need ENI permissions on resource "*" and
more endpoints for nothing gained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modules.cdk import Construct, Fn, aws
from modules.constructs.task_definition import run_task_statements
from modules.constructs.work_queue import add_alarmed_dead_letter_queue
from modules.iam import Statement, role_with_policy, source_conditions
from modules.naming import resource_name
from workers.runtime.jobs.schema import DISPATCH_TIMEOUT_SECONDS
from workers.runtime.jobs.settings import LaunchSettings, PlatformSettings, QueueType

if TYPE_CHECKING:
    from modules.aws_context import AwsContext
    from modules.config import JobSpec
    from modules.constructs.job_queue import JobQueue
    from modules.constructs.lambda_code import LambdaCode
    from modules.constructs.task_definition import ClusterHandles

LAMBDA_PRINCIPAL = "lambda.amazonaws.com"
EVENTS_PRINCIPAL = "events.amazonaws.com"
# Supported until 2028; the code needs only the runtime's boto3 (RunTask's clientToken is in
# every boto3 that Lambda's python3.12 runtime has shipped).
RUNTIME = "python3.12"
ARCHITECTURE = "arm64"  # pure Python: Graviton is cheaper for the same work
MEMORY_MB = 256
HANDLERS = {
    "dispatcher": "workers.runtime.jobs.lambda_handlers.dispatch",
    "reaper": "workers.runtime.jobs.lambda_handlers.reap",
}
# Lambda's largest batch for an SQS source without a batching window.
BATCH_SIZE = 10
# Two concurrent dispatchers, Lambda's least for an SQS source: a message is dispatched in well
# under a second, and more dispatchers would only contend for the same slot item.
DISPATCHER_CONCURRENCY = 2
# The reaper's reserved concurrency: each stopped task is one event settled in a few calls that
# contend on the same status items, so more reapers at once only retry each other's conditional
# updates. A bound also keeps a burst of stopped tasks from taking the account's concurrency.
# Lambda retries throttled asynchronous events (for up to their maximum age, 6 hours) before the
# DLQ, so a burst waits, it is not lost. Lambda keeps 100 executions of the account unreserved
# (all of them while the account's quota is at most that, as a new account's 10 is), so the
# account's concurrency quota must be above 100 for this to apply.
REAPER_CONCURRENCY = 2
# One event is settled in a few DynamoDB and SQS calls.
REAPER_TIMEOUT_SECONDS = 30
# An event the reaper failed 3 times (Lambda retries asynchronous events twice) is kept here.
REAPER_DEAD_LETTER_RETENTION_DAYS = 14

DISPATCHER_QUEUE_ACTIONS = (
    # What the event source mapping does with the function's role, and the dispatcher's own
    # visibility change for a job that waits.
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
)
DISPATCHER_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
REAPER_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


@dataclass(frozen=True, kw_only=True)
class JobDispatchProps:
    """What the dispatch needs.

    name: `<project>-<job>`: prefix of the functions, roles, rule and reaper DLQ.
    spec: the job spec (limits, attempts, backoff, queue type, retention).
    code: the platform's zip.
    queue: the job queue and its DLQ.
    table_name: the status table's name (the functions' JOBS_TABLE).
    table_arn: the status table's ARN (the roles' table permissions).
    cluster: handles from the cluster stack.
    family: the job's task definition family (RunTask of any revision, the reaper's rule).
    task_definition_arn: the revision the dispatcher starts.
    task_role_arn: the job task's role, which the dispatcher passes to ECS.
    execution_role_arn: the job task's execution role, passed likewise.
    container: the container RunTask tells which job and attempt it runs (overrides).
    log_group: the job's log group (the logs stack's): both functions write there too.
    aws: the job stack's Region, account and partition: the roles' trust and the ARNs they
        are allowed.
    alert_topic_arn: where the reaper DLQ's alarm goes.
    """

    name: str
    spec: JobSpec
    code: LambdaCode
    queue: JobQueue
    table_name: str
    table_arn: str
    cluster: ClusterHandles
    family: str
    task_definition_arn: str
    task_role_arn: str
    execution_role_arn: str
    container: str
    log_group: str
    aws: AwsContext
    alert_topic_arn: str

    @property
    def log_streams_arn(self) -> str:
        return self.aws.arn("logs", f"log-group:{self.log_group}:*")

    def platform_settings(self) -> PlatformSettings:
        spec = self.spec
        return PlatformSettings(
            table=self.table_name,
            queue_url=self.queue.queue.url,
            dead_letter_queue_url=self.queue.dead_letter_queue.url,
            queue_type=QueueType.FIFO if spec.fifo else QueueType.STANDARD,
            max_parallel_jobs=spec.max_parallel_jobs,
            max_attempts=spec.max_attempts,
            retry_delay_seconds=spec.retry_delay_seconds,
            status_retention_days=spec.status_retention_days,
        )


class JobDispatch(Construct):
    """Public fields: `dispatcher_role`, `dispatcher`, `event_source`, `reaper_role`, `reaper`,
    `reaper_dead_letter_queue`, `reaper_dead_letter_alarm`, `rule`, `target`, `permission`."""

    def __init__(self, scope: Construct, construct_id: str, props: JobDispatchProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        queue, dead_letters = props.queue.queue, props.queue.dead_letter_queue
        # What both functions do: retries go back to the queue, bad messages and spent jobs to
        # its DLQ; and both write into the job's log group.
        requeue = Statement(
            sid="RequeueJobs", actions=("sqs:SendMessage",), resources=(queue.arn, dead_letters.arn)
        )
        logs = Statement(
            sid="WriteOwnLogs", actions=LOG_ACTIONS, resources=(props.log_streams_arn,)
        )
        self._add_dispatcher(requeue, logs)
        self._add_reaper(requeue, logs)
        self._route_stopped_tasks_to_reaper()

    def _add_dispatcher(self, requeue: Statement, logs: Statement) -> None:
        """The dispatcher, its role, and the event source that feeds it the job queue."""
        props = self.props
        queue = props.queue.queue
        self.dispatcher_role = self._role(
            "dispatcher",
            Statement(sid="ReceiveJobs", actions=DISPATCHER_QUEUE_ACTIONS, resources=(queue.arn,)),
            requeue,
            Statement(
                sid="TrackJobs", actions=DISPATCHER_TABLE_ACTIONS, resources=(props.table_arn,)
            ),
            *run_task_statements(
                family=props.family,
                cluster=props.cluster,
                task_role_arn=props.task_role_arn,
                execution_role_arn=props.execution_role_arn,
                aws_context=props.aws,
            ),
            logs,
        )
        launch = LaunchSettings(
            cluster=props.cluster.cluster_arn,
            task_definition=props.task_definition_arn,
            subnets=(),
            security_groups=(props.cluster.task_security_group_id,),
            container=props.container,
        )
        self.dispatcher = self._function(
            "dispatcher",
            role=self.dispatcher_role,
            timeout=DISPATCH_TIMEOUT_SECONDS,
            environment={
                **props.platform_settings().to_env(),
                **launch.to_env(subnets=Fn.join(",", props.cluster.private_subnet_ids)),
            },
            description=f"Starts one task per job message of {props.family}",
        )
        self.event_source = aws.lambda_event_source_mapping.LambdaEventSourceMapping(
            self,
            "event_source",
            event_source_arn=queue.arn,
            function_name=self.dispatcher.arn,
            batch_size=BATCH_SIZE,
            # A message the dispatcher returns (it waits, or failed) stays; the rest is deleted.
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=aws.lambda_event_source_mapping.LambdaEventSourceMappingScalingConfig(
                maximum_concurrency=DISPATCHER_CONCURRENCY
            ),
            # Lambda checks that the role may receive from the queue when the mapping is made.
            depends_on=[self.node.find_child("dispatcher_role_policy")],
        )

    def _add_reaper(self, requeue: Statement, logs: Statement) -> None:
        """The reaper, its role, and the dead-letter queue of the events it failed."""
        props = self.props
        reaper_dead_letters = resource_name(props.name, "reaper-dlq")
        self.reaper_dead_letter_queue, self.reaper_dead_letter_alarm = (
            add_alarmed_dead_letter_queue(
                self,
                "reaper_dead_letter_queue",
                alarm_id="reaper_dead_letter_alarm",
                name=reaper_dead_letters,
                retention_days=REAPER_DEAD_LETTER_RETENTION_DAYS,
                alarm_name=resource_name(props.name, "unreaped-tasks"),
                description=f"Stopped tasks of {props.family} that the reaper failed to handle "
                f"3 times are in {reaper_dead_letters}: their jobs may be left RUNNING. Read the "
                "reaper's errors in the job's log group, then `make jobs`.",
                alert_topic_arn=props.alert_topic_arn,
            )
        )
        self.reaper_role = self._role(
            "reaper",
            requeue,
            Statement(sid="TrackJobs", actions=REAPER_TABLE_ACTIONS, resources=(props.table_arn,)),
            Statement(
                sid="KeepUnhandledEvents",
                actions=("sqs:SendMessage",),
                resources=(self.reaper_dead_letter_queue.arn,),
            ),
            logs,
        )
        self.reaper = self._function(
            "reaper",
            role=self.reaper_role,
            timeout=REAPER_TIMEOUT_SECONDS,
            environment=props.platform_settings().to_env(),
            description=f"Settles jobs whose {props.family} task stopped",
            dead_letter_arn=self.reaper_dead_letter_queue.arn,
            reserved_concurrency=REAPER_CONCURRENCY,
        )

    def _route_stopped_tasks_to_reaper(self) -> None:
        """The EventBridge rule on the family's stopped tasks, its target, and the permission
        that lets it invoke the reaper."""
        props = self.props
        events = aws.cloudwatch_event_rule
        self.rule = events.CloudwatchEventRule(
            self,
            "task_stopped_rule",
            name=resource_name(props.name, "task-stopped"),
            description=f"Tasks of {props.family} that stopped, for the job reaper",
            event_pattern=json.dumps(
                stopped_task_pattern(props.cluster.cluster_arn, props.family), sort_keys=True
            ),
        )
        self.target = aws.cloudwatch_event_target.CloudwatchEventTarget(
            self, "reaper_target", rule=self.rule.name, target_id="reaper", arn=self.reaper.arn
        )
        self.permission = aws.lambda_permission.LambdaPermission(
            self,
            "reaper_invoked_by_rule",
            statement_id="InvokedByTaskStoppedRule",
            action="lambda:InvokeFunction",
            function_name=self.reaper.function_name,
            principal=EVENTS_PRINCIPAL,
            source_arn=self.rule.arn,
        )

    def _role(self, part: str, *statements: Statement) -> aws.iam_role.IamRole:
        return role_with_policy(
            self,
            f"{part}_role",
            name=resource_name(self.props.name, part),
            service=LAMBDA_PRINCIPAL,
            statements=statements,
            # Confused deputy: Lambda may assume the role only for this account's functions.
            trust_conditions=source_conditions(self.props.aws.account_id),
        )

    def _function(
        self,
        part: str,
        *,
        role: aws.iam_role.IamRole,
        timeout: int,
        environment: dict[str, str],
        description: str,
        dead_letter_arn: str | None = None,
        reserved_concurrency: int | None = None,
    ) -> aws.lambda_function.LambdaFunction:
        function = aws.lambda_function
        extra: dict[str, Any] = {}
        if dead_letter_arn is not None:
            extra["dead_letter_config"] = function.LambdaFunctionDeadLetterConfig(
                target_arn=dead_letter_arn
            )
        if reserved_concurrency is not None:
            extra["reserved_concurrent_executions"] = reserved_concurrency
        return function.LambdaFunction(
            self,
            part,
            function_name=resource_name(self.props.name, part),
            description=description,
            role=role.arn,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=HANDLERS[part],
            filename=self.props.code.path,
            source_code_hash=self.props.code.source_code_hash,
            timeout=timeout,
            memory_size=MEMORY_MB,
            environment=function.LambdaFunctionEnvironment(variables=environment),
            # The job's own log group: its dispatch, its tasks and its reaping read in one place.
            logging_config=function.LambdaFunctionLoggingConfig(
                log_format="Text", log_group=self.props.log_group
            ),
            # No traces are sampled here (active tracing would need xray:PutTraceSegments on
            # resource "*"); the JSON log lines carry the job id through every step instead.
            tracing_config=function.LambdaFunctionTracingConfig(mode="PassThrough"),
            **extra,
        )


def stopped_task_pattern(cluster_arn: str, family: str) -> dict[str, Any]:
    """ECS task state changes to STOPPED of tasks of `family` in this cluster.

    Event fields: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html
    """
    return {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {
            "clusterArn": [cluster_arn],
            "group": [f"family:{family}"],
            "lastStatus": ["STOPPED"],
        },
    }
