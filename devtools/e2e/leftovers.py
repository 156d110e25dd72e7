"""What is left of a project in an AWS account after every stack was destroyed.

A destroy that exits 0 proves little (moto let a cluster go while a service was still in it), so
the round trip lists, service by service, every resource kind our stacks create whose name or
tag says it belongs to the project. Scheduled-for-deletion KMS keys and inactive task definition
revisions count as gone: that is as far as AWS itself deletes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

# The tag every resource of the project carries (modules/naming.py, `tags`).
PROJECT_TAG = "Project"


def leftovers(client: Callable[[str], Any], project: str) -> list[str]:
    """One line per resource of `project` still there (empty when all is gone)."""
    found: list[str] = []
    for lister in LISTERS:
        kind = lister.__name__.removeprefix("_")
        found += [f"{kind}: {name}" for name in lister(client, project)]
    return found


def _named(names: Iterator[str], project: str) -> Iterator[str]:
    """The project's names: `<project>`, `<project>-...`, `<project>/...`, `/<project>/...`."""
    for name in names:
        bare = name.lstrip("/").removeprefix("alias/")
        if bare == project or bare.startswith((f"{project}-", f"{project}/")):
            yield name


def _vpcs(client: Callable[[str], Any], project: str) -> Iterator[str]:
    filters = [{"Name": f"tag:{PROJECT_TAG}", "Values": [project]}]
    ec2 = client("ec2")
    yield from (vpc["VpcId"] for vpc in ec2.describe_vpcs(Filters=filters)["Vpcs"])
    for group in ec2.describe_security_groups(Filters=filters)["SecurityGroups"]:
        yield group["GroupId"]
    for endpoint in ec2.describe_vpc_endpoints(Filters=filters)["VpcEndpoints"]:
        if endpoint["State"].lower() not in ("deleted", "deleting"):
            yield endpoint["VpcEndpointId"]


def _ecs_clusters(client: Callable[[str], Any], project: str) -> Iterator[str]:
    ecs = client("ecs")
    for arn in ecs.list_clusters()["clusterArns"]:
        described = ecs.describe_clusters(clusters=[arn])["clusters"]
        if described and described[0]["status"] != "INACTIVE":
            yield from _named(iter([described[0]["clusterName"]]), project)


def _task_definitions(client: Callable[[str], Any], project: str) -> Iterator[str]:
    arns = client("ecs").list_task_definitions(status="ACTIVE")["taskDefinitionArns"]
    yield from _named((arn.rsplit("/", 1)[-1] for arn in arns), project)


def _iam_roles(client: Callable[[str], Any], project: str) -> Iterator[str]:
    pages = client("iam").get_paginator("list_roles").paginate()
    yield from _named((role["RoleName"] for page in pages for role in page["Roles"]), project)


def _queues(client: Callable[[str], Any], project: str) -> Iterator[str]:
    urls = client("sqs").list_queues(QueueNamePrefix=project).get("QueueUrls", [])
    yield from _named((url.rsplit("/", 1)[-1] for url in urls), project)


def _repositories(client: Callable[[str], Any], project: str) -> Iterator[str]:
    repositories = client("ecr").describe_repositories()["repositories"]
    yield from _named((repo["repositoryName"] for repo in repositories), project)


def _log_groups(client: Callable[[str], Any], project: str) -> Iterator[str]:
    groups = client("logs").describe_log_groups()["logGroups"]
    yield from _named((group["logGroupName"] for group in groups), project)


def _kms_aliases(client: Callable[[str], Any], project: str) -> Iterator[str]:
    aliases = client("kms").list_aliases()["Aliases"]
    yield from _named((alias["AliasName"] for alias in aliases), project)


def _topics(client: Callable[[str], Any], project: str) -> Iterator[str]:
    topics = client("sns").list_topics()["Topics"]
    yield from _named((topic["TopicArn"].rsplit(":", 1)[-1] for topic in topics), project)


def _event_rules(client: Callable[[str], Any], project: str) -> Iterator[str]:
    rules = client("events").list_rules(NamePrefix=project)["Rules"]
    yield from _named((rule["Name"] for rule in rules), project)


def _schedules(client: Callable[[str], Any], project: str) -> Iterator[str]:
    schedules = client("scheduler").list_schedules(NamePrefix=project)["Schedules"]
    yield from _named((schedule["Name"] for schedule in schedules), project)


def _functions(client: Callable[[str], Any], project: str) -> Iterator[str]:
    functions = client("lambda").list_functions()["Functions"]
    yield from _named((function["FunctionName"] for function in functions), project)


def _tables(client: Callable[[str], Any], project: str) -> Iterator[str]:
    yield from _named(iter(client("dynamodb").list_tables()["TableNames"]), project)


def _rest_apis(client: Callable[[str], Any], project: str) -> Iterator[str]:
    apis = client("apigateway").get_rest_apis()["items"]
    yield from _named((api["name"] for api in apis), project)


def _web_acls(client: Callable[[str], Any], project: str) -> Iterator[str]:
    acls = client("wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"]
    yield from _named((acl["Name"] for acl in acls), project)


def _alarms(client: Callable[[str], Any], project: str) -> Iterator[str]:
    alarms = client("cloudwatch").describe_alarms(AlarmNamePrefix=project)["MetricAlarms"]
    yield from _named((alarm["AlarmName"] for alarm in alarms), project)


def _scalable_targets(client: Callable[[str], Any], project: str) -> Iterator[str]:
    targets = client("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")
    for target in targets["ScalableTargets"]:
        # service/<cluster>/<service>
        parts = target["ResourceId"].split("/")
        if len(parts) == 3 and next(_named(iter([parts[1]]), project), None):
            yield target["ResourceId"]


LISTERS = (
    _vpcs,
    _ecs_clusters,
    _task_definitions,
    _iam_roles,
    _queues,
    _repositories,
    _log_groups,
    _kms_aliases,
    _topics,
    _event_rules,
    _schedules,
    _functions,
    _tables,
    _rest_apis,
    _web_acls,
    _alarms,
    _scalable_targets,
)
