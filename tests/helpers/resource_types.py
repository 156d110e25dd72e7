"""Terraform resource types the tests look up in synthesized stacks, from the provider binding
(its `TF_RESOURCE_TYPE`), once: the ones several test modules read."""

from __future__ import annotations

from modules.cdk import aws

ALARM = aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm.TF_RESOURCE_TYPE
LOG_GROUP = aws.cloudwatch_log_group.CloudwatchLogGroup.TF_RESOURCE_TYPE
QUEUE = aws.sqs_queue.SqsQueue.TF_RESOURCE_TYPE
REPOSITORY = aws.ecr_repository.EcrRepository.TF_RESOURCE_TYPE
ROLE = aws.iam_role.IamRole.TF_RESOURCE_TYPE
ROLE_POLICY = aws.iam_role_policy.IamRolePolicy.TF_RESOURCE_TYPE
SERVICE = aws.ecs_service.EcsService.TF_RESOURCE_TYPE
TASK_DEFINITION = aws.ecs_task_definition.EcsTaskDefinition.TF_RESOURCE_TYPE
