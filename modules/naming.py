"""Names and tags: the one place that derives what a resource is called from the configuration.

Stacks that never share state still agree on these names, which is how a
service stack finds its log group without a lookup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modules.config import ProjectConfig


def resource_name(project: str, *parts: str) -> str:
    """`<project>-<part>-...`: names of queues, roles, services, alarms, security groups."""
    return "-".join((project, *parts))


def cluster_name(project: str) -> str:
    """The ECS cluster: the cluster stack creates it; the logs stack's failure alerts match it."""
    return resource_name(project)


def log_group_name(project: str, service: str) -> str:
    return f"/{project}/{service}"


def log_group_prefix(project: str) -> str:
    """Every log group of the project starts with this (the failure alerts link into them)."""
    return f"/{project}/"


def repository_name(project: str, service: str) -> str:
    """ECR repository of a service's image: `<project>/<service>`."""
    return f"{project}/{service}"


def jobs_table_name(project: str, service: str) -> str:
    """A job family's status table (kind: job): the job stack creates it; `make jobs` reads it."""
    return resource_name(project, service, "jobs")


def alert_topic_name(project: str) -> str:
    return resource_name(project, "alerts")


def chat_alert_topic_name(project: str) -> str:
    """The topic AWS Chatbot relays to Slack: alerts in Chatbot's custom-notification format."""
    return resource_name(project, "alerts", "chat")


def alert_key_alias(project: str) -> str:
    """Alias of the KMS key that encrypts the alert topic: `alias/<project>-alerts`."""
    return f"alias/{alert_topic_name(project)}"


def flow_log_group_name(project: str) -> str:
    """The VPC flow log group: outside `log_group_prefix`, which holds only services' groups."""
    return f"/{project}-network/vpc-flow-logs"


def tags(project: ProjectConfig, stack: str) -> dict[str, str]:
    """Tags on every resource of `stack` (the provider's default_tags).

    The project's own tags first, so that `Project` and `Service` always say the truth.
    """
    return {**project.tags, "Project": project.project, "Service": stack, "ManagedBy": "cdktf"}
