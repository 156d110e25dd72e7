"""devtools/moto_patches.py against real moto_server processes: one probe per patch.

A probe makes the boto3 calls whose AWS behaviour the patch adds and asserts what AWS answers.
Each probe must pass on the patched server and fail on stock moto: the day a moto upgrade
makes a probe pass on stock moto, its test says which patch to drop.
"""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devtools.moto_patches import PATCHES
from devtools.moto_server import REPO_ROOT, MotoServer, running_moto_server

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
# One attempt each: stock moto answers an operation it lacks with a 500, which botocore retries.
ONE_ATTEMPT = Config(retries={"max_attempts": 1, "mode": "standard"})
_serial = itertools.count()


def unique(prefix: str) -> str:
    """A resource name no other probe on the same server uses."""
    return f"{prefix}-{next(_serial)}"


@dataclass
class Aws:
    server: MotoServer

    def client(self, service: str) -> Any:
        env = self.server.env(REGION)
        return boto3.client(
            service,
            endpoint_url=self.server.endpoint_url,
            region_name=REGION,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=env["AWS_SESSION_TOKEN"],
            config=ONE_ATTEMPT,
        )


@dataclass(frozen=True)
class Probe:
    behaviour: str  # what AWS does, completing "moto now ... itself"
    check: Callable[[Aws], None]


PROBES: dict[str, Probe] = {}


def probe(behaviour: str) -> Callable[[Callable[[Aws], None]], Callable[[Aws], None]]:
    """Register a probe under the name of the patch it checks (the function's name)."""

    def register(check: Callable[[Aws], None]) -> Callable[[Aws], None]:
        PROBES[check.__name__] = Probe(behaviour, check)
        return check

    return register


# --- the probes, one per patch ----------------------------------------------------------------


def ecs_service(aws: Aws, **settings: Any) -> tuple[str, str]:
    """A cluster with one service; settings go to CreateService. Returns (cluster, service)."""
    ecs = aws.client("ecs")
    cluster, service = unique("cluster"), unique("service")
    ecs.create_cluster(clusterName=cluster)
    family = unique("family")
    ecs.register_task_definition(
        family=family, containerDefinitions=[{"name": "app", "image": "app", "memory": 128}]
    )
    ecs.create_service(
        cluster=cluster, serviceName=service, taskDefinition=family, desiredCount=0, **settings
    )
    return cluster, service


@probe("tags Application Auto Scaling scalable targets")
def application_auto_scaling_tags(aws: Aws) -> None:
    autoscaling = aws.client("application-autoscaling")
    cluster, service = ecs_service(aws)
    target = {
        "ServiceNamespace": "ecs",
        "ResourceId": f"service/{cluster}/{service}",
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    arn = autoscaling.register_scalable_target(
        **target, MinCapacity=0, MaxCapacity=2, Tags={"team": "platform"}
    )["ScalableTargetARN"]
    assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "platform"}

    autoscaling.tag_resource(ResourceARN=arn, Tags={"stage": "test"})
    autoscaling.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"stage": "test"}

    autoscaling.deregister_scalable_target(**target)
    with pytest.raises(ClientError) as gone:
        autoscaling.list_tags_for_resource(ResourceARN=arn)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def queue(aws: Aws, **attributes: str) -> tuple[str, str]:
    """A new queue with these attributes. Returns (url, arn)."""
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=unique("queue"), Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def queue_attribute(aws: Aws, url: str, name: str) -> str | None:
    """The attribute asked for by name, checked against what "All" answers."""
    sqs = aws.client("sqs")
    by_name = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[name])
    every = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    assert by_name.get("Attributes", {}).get(name) == every["Attributes"].get(name)
    return every["Attributes"].get(name)


@probe("stores the SQS RedriveAllowPolicy attribute")
def sqs_redrive_allow_policy(aws: Aws) -> None:
    allow = '{"redrivePermission":"denyAll"}'
    url, _ = queue(aws, RedriveAllowPolicy=allow)
    assert queue_attribute(aws, url, "RedriveAllowPolicy") == allow

    allow = '{"redrivePermission":"allowAll"}'
    aws.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"RedriveAllowPolicy": allow})
    assert queue_attribute(aws, url, "RedriveAllowPolicy") == allow

    # An empty value removes it (what the provider sends when the policy is destroyed).
    aws.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"RedriveAllowPolicy": ""})
    assert queue_attribute(aws, url, "RedriveAllowPolicy") is None


@probe("keeps a queue's Policy when SetQueueAttributes does not give it")
def sqs_keeps_unset_attributes(aws: Aws) -> None:
    sqs = aws.client("sqs")
    url, arn = queue(aws)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": arn}
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})

    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60"})

    assert queue_attribute(aws, url, "VisibilityTimeout") == "60"
    kept = queue_attribute(aws, url, "Policy")
    assert kept is not None
    assert json.loads(kept) == policy


@probe("returns RedrivePolicy and RedriveAllowPolicy as compact JSON")
def sqs_compact_redrive_json(aws: Aws) -> None:
    _, dead_letters = queue(aws, RedriveAllowPolicy='{"redrivePermission": "allowAll"}')
    redrive = json.dumps({"deadLetterTargetArn": dead_letters, "maxReceiveCount": 5})
    url, _ = queue(aws, RedrivePolicy=redrive)

    assert queue_attribute(aws, url, "RedrivePolicy") == (
        f'{{"deadLetterTargetArn":"{dead_letters}","maxReceiveCount":5}}'
    )
    dead_letters_url = aws.client("sqs").get_queue_url(QueueName=dead_letters.split(":")[-1])
    assert queue_attribute(aws, dead_letters_url["QueueUrl"], "RedriveAllowPolicy") == (
        '{"redrivePermission":"allowAll"}'
    )


@probe("keeps the description of rules that reference a group or a prefix list")
def ec2_referencing_rule_descriptions(aws: Aws) -> None:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group, peer = (
        ec2.create_security_group(GroupName=unique("group"), Description="probe", VpcId=vpc)[
            "GroupId"
        ]
        for _ in range(2)
    )
    prefix_list = ec2.create_managed_prefix_list(
        PrefixListName=unique("list"), MaxEntries=1, AddressFamily="IPv4"
    )["PrefixList"]["PrefixListId"]
    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{**https, "UserIdGroupPairs": [{"GroupId": peer, "Description": "peer"}]}],
    )
    ec2.authorize_security_group_egress(
        GroupId=group,
        IpPermissions=[
            {**https, "PrefixListIds": [{"PrefixListId": prefix_list, "Description": "list"}]}
        ],
    )

    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])
    described = {
        rule.get("PrefixListId") or rule.get("ReferencedGroupInfo", {}).get("GroupId"): rule.get(
            "Description"
        )
        for rule in rules["SecurityGroupRules"]
        if rule.get("FromPort") == 443
    }
    assert described == {peer: "peer", prefix_list: "list"}

    found = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
    (ingress,) = [rule for rule in found["IpPermissions"] if rule.get("FromPort") == 443]
    (egress,) = [rule for rule in found["IpPermissionsEgress"] if rule.get("FromPort") == 443]
    assert [pair.get("Description") for pair in ingress["UserIdGroupPairs"]] == ["peer"]
    assert egress["PrefixListIds"] == [{"PrefixListId": prefix_list, "Description": "list"}]


@probe("keeps a service's capacity provider strategy, managed tags and deployment configuration")
def ecs_service_settings(aws: Aws) -> None:
    ecs = aws.client("ecs")
    strategy = [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]
    deployment = {
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "maximumPercent": 150,
        "minimumHealthyPercent": 50,
    }
    cluster, name = ecs_service(
        aws,
        capacityProviderStrategy=strategy,
        enableECSManagedTags=True,
        deploymentConfiguration=deployment,
        availabilityZoneRebalancing="DISABLED",
    )

    def described(cluster: str, name: str) -> dict[str, Any]:
        return ecs.describe_services(cluster=cluster, services=[name])["services"][0]

    service = described(cluster, name)
    assert service.get("capacityProviderStrategy") == strategy
    assert "launchType" not in service  # placed by its capacity providers
    assert service.get("enableECSManagedTags") is True
    assert service.get("deploymentConfiguration") == deployment
    assert service.get("availabilityZoneRebalancing") == "DISABLED"

    deployment = {**deployment, "deploymentCircuitBreaker": {"enable": True, "rollback": False}}
    ecs.update_service(
        cluster=cluster,
        service=name,
        desiredCount=1,
        enableECSManagedTags=False,
        deploymentConfiguration=deployment,
        availabilityZoneRebalancing="ENABLED",
    )
    service = described(cluster, name)
    assert service.get("capacityProviderStrategy") == strategy
    assert service.get("availabilityZoneRebalancing") == "ENABLED"
    assert service.get("enableECSManagedTags") is False
    assert service.get("deploymentConfiguration") == deployment

    # Without them, ECS reports its defaults for a replica service.
    cluster, name = ecs_service(aws, launchType="FARGATE")
    service = described(cluster, name)
    assert service.get("enableECSManagedTags") is False
    assert service.get("availabilityZoneRebalancing") == "ENABLED"
    assert service.get("deploymentConfiguration") == {
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    }


def lambda_function(aws: Aws, **settings: Any) -> tuple[str, dict[str, Any]]:
    """A new function with these settings. Returns (name, CreateFunction's answer)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = aws.client("iam").create_role(
        RoleName=unique("role"), AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return None\n")
    name = unique("function")
    created = aws.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="handler.handle",
        Code={"ZipFile": code.getvalue()},
        **settings,
    )
    return name, created


def function_setting(aws: Aws, name: str, setting: str) -> Any:
    """The setting as GetFunctionConfiguration reports it, checked against GetFunction."""
    awslambda = aws.client("lambda")
    configuration = awslambda.get_function_configuration(FunctionName=name)
    assert awslambda.get_function(FunctionName=name)["Configuration"].get(setting) == (
        configuration.get(setting)
    )
    return configuration.get(setting)


@probe("keeps a function's LoggingConfig")
def lambda_logging_config(aws: Aws) -> None:
    logging = {"LogFormat": "Text", "LogGroup": "/platform/jobs"}
    name, created = lambda_function(aws, LoggingConfig=logging)
    assert created.get("LoggingConfig") == logging
    assert function_setting(aws, name, "LoggingConfig") == logging

    logging = {**logging, "LogFormat": "JSON", "ApplicationLogLevel": "WARN"}
    updated = aws.client("lambda").update_function_configuration(
        FunctionName=name, LoggingConfig=logging
    )
    # Lambda's system log level for JSON logs is INFO unless given.
    assert updated.get("LoggingConfig") == {**logging, "SystemLogLevel": "INFO"}
    assert function_setting(aws, name, "LoggingConfig") == {**logging, "SystemLogLevel": "INFO"}


@probe("keeps a function's DeadLetterConfig")
def lambda_dead_letter_config(aws: Aws) -> None:
    _, dead_letters = queue(aws)
    name, created = lambda_function(aws, DeadLetterConfig={"TargetArn": dead_letters})
    assert created.get("DeadLetterConfig") == {"TargetArn": dead_letters}
    assert function_setting(aws, name, "DeadLetterConfig") == {"TargetArn": dead_letters}

    # An empty target removes it (what the provider sends when the block goes away).
    aws.client("lambda").update_function_configuration(
        FunctionName=name, DeadLetterConfig={"TargetArn": ""}
    )
    assert function_setting(aws, name, "DeadLetterConfig") is None


# --- the tests --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stock_aws() -> Iterator[Aws]:
    with running_moto_server() as server:
        yield Aws(server)


@pytest.fixture(scope="module")
def patched_aws() -> Iterator[Aws]:
    with running_moto_server(patched=True) as server:
        yield Aws(server)


@pytest.mark.parametrize("name", sorted(PROBES))
def test_patched_moto_has_the_behaviour(patched_aws: Aws, name: str) -> None:
    PROBES[name].check(patched_aws)


@pytest.mark.parametrize("name", sorted(PROBES))
def test_stock_moto_still_lacks_the_behaviour(stock_aws: Aws, name: str) -> None:
    try:
        PROBES[name].check(stock_aws)
    except (AssertionError, ClientError):
        return
    pytest.fail(f"moto now {PROBES[name].behaviour} itself: drop the patch {name}")


def test_every_patch_has_a_probe() -> None:
    assert sorted(PATCHES) == sorted(PROBES)


def test_applying_the_patches_twice_changes_nothing_more() -> None:
    # In a process of its own: the patches must not change the moto this test process imports.
    script = """
import sys
from devtools.moto_patches import PATCHES, apply_all

def moto_classes():
    return {
        (module_name, name, attribute): value
        for module_name, module in list(sys.modules.items())
        if module_name.startswith("moto.")
        for name, cls in vars(module).items()
        if isinstance(cls, type)
        for attribute, value in vars(cls).items()
    }

apply_all()
once = moto_classes()
apply_all()
for apply in PATCHES.values():
    apply()
assert moto_classes() == once
"""
    subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, check=True, timeout=120)
