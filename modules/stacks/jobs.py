"""The stack of one job family (`kind: job`): its queue, status table, task, and the dispatcher
and reaper that run one task per message.

Its own directory and state, like every service: adding a job family changes only its stack and
the logs stack (its log group). Reads the cluster's outputs and the logs stack's alert topic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.config import WORKERS_DIR
from modules.constructs.job_dispatch import JobDispatch, JobDispatchProps
from modules.constructs.job_queue import JobQueue, JobQueueProps
from modules.constructs.job_table import JobTable, JobTableProps
from modules.constructs.lambda_code import LambdaCode, LambdaCodeProps
from modules.constructs.task_definition import ClusterHandles, TaskDefinitionProps, add_worker_task
from modules.iam import Statement
from modules.naming import jobs_table_name, log_group_name, resource_name
from modules.stacks.base import PlatformStack
from modules.stacks.logs import ALERT_TOPIC_ARN
from workers.runtime.jobs.schema import LAMBDA_FILES
from workers.runtime.jobs.settings import RunnerSettings

if TYPE_CHECKING:
    from modules.cdk import Construct
    from modules.config import JobSpec, PlatformConfig

# Outputs (README: "Links between stacks"): where producers send jobs, where people look.
QUEUE_URL = "queue_url"
QUEUE_ARN = "queue_arn"
DEAD_LETTER_QUEUE_URL = "dead_letter_queue_url"
STATUS_TABLE_NAME = "status_table_name"

# What the job runner in the task does with the status table: read its job, change its state.
TASK_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")
LAMBDA_BUNDLE_NAME = "job-platform.zip"


class JobStack(PlatformStack):
    def __init__(self, scope: Construct, name: str, config: PlatformConfig, job: JobSpec) -> None:
        super().__init__(scope, name, config)
        self.job = job
        project, region = self.project.project, self.project.region
        family = resource_name(project, job.name)
        log_group = log_group_name(project, job.name)
        cluster = ClusterHandles.from_remote_state(self.remote_state("cluster"))
        alert_topic_arn = self.remote_state("logs").get_string(ALERT_TOPIC_ARN)

        self.status_table = JobTable(
            self, "status_table", JobTableProps(name=jobs_table_name(project, job.name))
        )
        table = self.status_table.table
        self.job_queue = JobQueue(
            self,
            "job_queue",
            JobQueueProps(
                name=family,
                spec=job.queue,
                max_attempts=job.max_attempts,
                alert_topic_arn=alert_topic_arn,
            ),
        )
        self.image = self.worker_image(job.name)
        self.task = add_worker_task(
            self,
            TaskDefinitionProps(
                name=family,
                spec=job,
                cluster=cluster,
                image_uri=self.image.uri,
                image_build=self.image.build,
                repository_arn=self.image.repository.arn,
                log_group=log_group,
                aws=self.aws_context,
                environment={
                    **job.task_settings(region).to_env(),
                    **RunnerSettings.task_definition_env(
                        table.name, job.timeout_seconds, job.status_retention_days
                    ),
                },
                task_role_statements=(
                    Statement(
                        sid="UpdateOwnJobStatus", actions=TASK_TABLE_ACTIONS, resources=(table.arn,)
                    ),
                ),
            ),
        )
        self._add_dispatch(cluster, alert_topic_arn)
        self._declare_outputs()

    def _add_dispatch(self, cluster: ClusterHandles, alert_topic_arn: str) -> None:
        """The platform's Lambda code, and the dispatcher and reaper that run the job's task."""
        job, table = self.job, self.status_table.table
        family = resource_name(self.project.project, job.name)
        self.code = LambdaCode(
            self,
            "platform_code",
            LambdaCodeProps(
                root=self.config.root / WORKERS_DIR, entries=LAMBDA_FILES, name=LAMBDA_BUNDLE_NAME
            ),
        )
        self.dispatch = JobDispatch(
            self,
            "dispatch",
            JobDispatchProps(
                name=family,
                spec=job,
                code=self.code,
                queue=self.job_queue,
                table_name=table.name,
                table_arn=table.arn,
                cluster=cluster,
                family=family,
                task_definition_arn=self.task.task_definition.arn,
                task_role_arn=self.task.task_role.arn,
                execution_role_arn=self.task.execution_role.arn,
                container=job.containers[0].name,
                log_group=log_group_name(self.project.project, job.name),
                aws=self.aws_context,
                alert_topic_arn=alert_topic_arn,
            ),
        )

    def _declare_outputs(self) -> None:
        queue, table = self.job_queue.queue, self.status_table.table
        self.output(QUEUE_URL, queue.url, "URL of the job queue: one message per job.")
        self.output(QUEUE_ARN, queue.arn, "ARN of the job queue (a producer's send permission).")
        self.output(
            DEAD_LETTER_QUEUE_URL,
            self.job_queue.dead_letter_queue.url,
            "URL of the dead-letter queue: jobs out of attempts, and messages that were no job.",
        )
        self.output(STATUS_TABLE_NAME, table.name, "The status table (`make jobs` reads it).")
