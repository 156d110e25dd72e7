"""A job on Fargate: its task, an EventBridge Scheduler schedule that runs it, the schedule's own
role, and a dead-letter queue for runs that could not be started.

Modelled on AWS CDK's `ScheduledFargateTask`, on EventBridge Scheduler rather than an EventBridge
rule: time zones, a flexible window, and a retry policy and DLQ per schedule.

What happens when:
- a run cannot be started (RunTask throttled, no capacity, a broken role): Scheduler retries
  it as `retry` says, then sends it to the DLQ, whose alarm notifies the alert topic;
- a task starts and fails (non-zero exit code): nothing is retried; the cluster-wide failure
  alerts (logs stack) report it;
- `enabled: false`: the schedule's state becomes DISABLED, every resource stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from modules.cdk import Construct, aws
from modules.constructs.task_definition import (
    CAPACITY_PROVIDER,
    TaskDefinitionProps,
    add_worker_task,
    run_task_statements,
)
from modules.constructs.work_queue import add_alarmed_dead_letter_queue
from modules.iam import Statement, role_with_policy, source_conditions
from modules.naming import resource_name

if TYPE_CHECKING:
    from modules.config import ScheduledSpec

SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"
# The schedule group every schedule is in unless it names another.
SCHEDULE_GROUP = "default"
# SQS's longest retention: a run that never started stays inspectable for two weeks.
DEAD_LETTER_RETENTION_DAYS = 14


@dataclass(frozen=True, kw_only=True)
class ScheduledFargateTaskProps(TaskDefinitionProps):
    """What a scheduled job needs: its task (see TaskDefinitionProps; `name` also names the
    schedule, its role `<name>-scheduler` and its DLQ `<name>-dlq`), and

    spec: the job's spec (schedule, time zone, enabled, task count, retry, flexible window).
    alert_topic_arn: where the DLQ alarm goes.
    """

    spec: ScheduledSpec
    alert_topic_arn: str


class ScheduledFargateTask(Construct):
    """Public fields: `task_role`, `execution_role`, `task_definition`, `container_definitions`,
    `dead_letter_queue`, `dead_letter_alarm`, `scheduler_role`, `schedule`."""

    def __init__(
        self, scope: Construct, construct_id: str, props: ScheduledFargateTaskProps
    ) -> None:
        super().__init__(scope, construct_id)
        spec = props.spec
        task = add_worker_task(self, props)
        self.task_role = task.task_role
        self.execution_role = task.execution_role
        self.task_definition = task.task_definition
        self.container_definitions = task.container_definitions

        dead_letter_queue_name = resource_name(props.name, "dlq")
        self.dead_letter_queue, self.dead_letter_alarm = add_alarmed_dead_letter_queue(
            self,
            "dead_letter_queue",
            alarm_id="dead_letter_alarm",
            name=dead_letter_queue_name,
            retention_days=DEAD_LETTER_RETENTION_DAYS,
            alarm_name=resource_name(props.name, "runs-not-started"),
            description=f"Runs of {props.name} that EventBridge Scheduler could not start after "
            f"{spec.retry.maximum_retry_attempts} retries are in {dead_letter_queue_name}. "
            "Each message says why (e.g. RunTask throttled, a role that cannot be passed).",
            alert_topic_arn=props.alert_topic_arn,
        )

        self.scheduler_role = role_with_policy(
            self,
            "scheduler_role",
            name=resource_name(props.name, "scheduler"),
            service=SCHEDULER_PRINCIPAL,
            # Confused deputy: only this account's schedules in their group may use the role
            # (EventBridge Scheduler guide, execution role: aws:SourceAccount, aws:SourceArn).
            trust_conditions=source_conditions(
                props.aws.account_id,
                props.aws.arn("scheduler", f"schedule-group/{SCHEDULE_GROUP}"),
            ),
            statements=scheduler_statements(
                props, self.task_role.arn, self.execution_role.arn, self.dead_letter_queue.arn
            ),
        )

        self.schedule = self._schedule(props)

    def _schedule(
        self, props: ScheduledFargateTaskProps
    ) -> aws.scheduler_schedule.SchedulerSchedule:
        """The schedule: RunTask of the task's current revision in the cluster's private subnets,
        with the spec's retries, then the DLQ."""
        spec = props.spec
        scheduler = aws.scheduler_schedule
        window = spec.flexible_window_minutes
        return scheduler.SchedulerSchedule(
            self,
            "schedule",
            name=props.name,
            group_name=SCHEDULE_GROUP,
            description=f"Runs the {spec.name} job",
            schedule_expression=spec.schedule,
            schedule_expression_timezone=spec.timezone,
            # Disabling keeps everything, so that enabling again is an in-place update.
            state="ENABLED" if spec.enabled else "DISABLED",
            flexible_time_window=scheduler.SchedulerScheduleFlexibleTimeWindow(mode="OFF")
            if window is None
            else scheduler.SchedulerScheduleFlexibleTimeWindow(
                mode="FLEXIBLE", maximum_window_in_minutes=window
            ),
            target=scheduler.SchedulerScheduleTarget(
                arn=props.cluster.cluster_arn,
                role_arn=self.scheduler_role.arn,
                dead_letter_config=scheduler.SchedulerScheduleTargetDeadLetterConfig(
                    arn=self.dead_letter_queue.arn
                ),
                retry_policy=scheduler.SchedulerScheduleTargetRetryPolicy(
                    maximum_retry_attempts=spec.retry.maximum_retry_attempts,
                    maximum_event_age_in_seconds=spec.retry.maximum_event_age_seconds,
                ),
                ecs_parameters=scheduler.SchedulerScheduleTargetEcsParameters(
                    # With its revision: a new image is a new revision, an in-place update here.
                    task_definition_arn=self.task_definition.arn,
                    task_count=spec.task_count,
                    capacity_provider_strategy=[
                        scheduler.SchedulerScheduleTargetEcsParametersCapacityProviderStrategy(
                            capacity_provider=CAPACITY_PROVIDER, weight=1
                        )
                    ],
                    platform_version="LATEST",
                    network_configuration=scheduler.SchedulerScheduleTargetEcsParametersNetworkConfiguration(
                        subnets=props.cluster.private_subnet_ids,
                        security_groups=[props.cluster.task_security_group_id],
                        assign_public_ip=False,
                    ),
                    # The task carries the project's tags (cost allocation), as service tasks do.
                    propagate_tags="TASK_DEFINITION",
                    enable_ecs_managed_tags=True,
                ),
            ),
        )


def scheduler_statements(
    props: ScheduledFargateTaskProps,
    task_role_arn: str,
    execution_role_arn: str,
    dead_letter_queue_arn: str,
) -> tuple[Statement, ...]:
    """All the schedule's role may do: start this job's tasks in this cluster, hand them their
    two roles, tag them as they start, and report a run it could not start."""
    return (
        *run_task_statements(
            family=props.name,
            cluster=props.cluster,
            task_role_arn=task_role_arn,
            execution_role_arn=execution_role_arn,
            aws_context=props.aws,
        ),
        Statement(
            sid="SendRunsNotStartedToDlq",
            actions=("sqs:SendMessage",),
            resources=(dead_letter_queue_arn,),
        ),
    )
