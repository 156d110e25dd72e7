"""The cluster stack: private-only network with endpoints and the ECS cluster (no task roles).

Most tests read the repository's own configuration (created network, synthesized once per
session); the existing-network test synthesizes a modified copy.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from modules.cdk import aws
from modules.config import CreatedNetwork, PlatformConfig, load_config
from modules.constructs.network import (
    ECS_ENDPOINT_REGIONS,
    ECS_ENDPOINTS,
    egress_for,
    private_subnet_cidrs,
    public_subnet_cidr,
)
from modules.stacks import cluster
from tests.infra.stack_json import (
    ACCOUNT,
    PARTITION,
    ROLE,
    ROLE_POLICY,
    data_sources,
    only_resource,
    policy_statements,
    reference,
    resources,
    synth_stacks,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.infra.stack_json import Stack

VPC = aws.vpc.Vpc.TF_RESOURCE_TYPE
SUBNET = aws.subnet.Subnet.TF_RESOURCE_TYPE
ROUTE_TABLE = aws.route_table.RouteTable.TF_RESOURCE_TYPE
ROUTE_TABLE_ASSOCIATION = aws.route_table_association.RouteTableAssociation.TF_RESOURCE_TYPE
ENDPOINT = aws.vpc_endpoint.VpcEndpoint.TF_RESOURCE_TYPE
SECURITY_GROUP = aws.security_group.SecurityGroup.TF_RESOURCE_TYPE
INGRESS_RULE = aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule.TF_RESOURCE_TYPE
EGRESS_RULE = aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule.TF_RESOURCE_TYPE

# What the default configuration's tasks call: image pulls, awslogs, and SQS. Nothing more is
# paid for by default (README, "Network cost").
DEFAULT_INTERFACE_ENDPOINTS = ["ecr.api", "ecr.dkr", "logs", "sqs"]
MAX_DEFAULT_INTERFACE_ENDPOINTS = 5


def logical_id(stack: Stack, resource_type: str, **properties: Any) -> str:
    """The one resource of `resource_type` whose properties include `properties`."""
    found = [
        name
        for name, body in resources(stack, resource_type).items()
        if all(body.get(key) == value for key, value in properties.items())
    ]
    assert len(found) == 1, f"expected one {resource_type} with {properties}, found {found}"
    return found[0]


def group_ref(stack: Stack, name: str) -> str:
    return reference(SECURITY_GROUP, logical_id(stack, SECURITY_GROUP, name=name), "id")


def rules_of(stack: Stack, rule_type: str, group: str) -> list[dict[str, Any]]:
    """The rules of one security group, without cdktf's metadata."""
    return sorted(
        (
            {key: value for key, value in rule.items() if key not in ("//", "security_group_id")}
            for rule in resources(stack, rule_type).values()
            if rule["security_group_id"] == group
        ),
        key=lambda rule: rule["description"],
    )


def test_vpc_resolves_private_endpoint_names(stacks: dict[str, Stack]) -> None:
    # Given the repository's config (created network)
    # When the cluster stack is synthesized
    vpc = only_resource(stacks["cluster"], VPC)
    # Then the VPC has DNS support and hostnames, which private DNS of endpoints needs
    assert vpc["cidr_block"] == "10.40.0.0/16"
    assert vpc["enable_dns_support"] is True
    assert vpc["enable_dns_hostnames"] is True


def test_one_private_subnet_per_configured_zone(
    stacks: dict[str, Stack], default_config: PlatformConfig
) -> None:
    # Given a created network with N availability zones
    network = default_config.project.network
    assert isinstance(network, CreatedNetwork)
    # When synthesized
    stack = stacks["cluster"]
    subnets = resources(stack, SUBNET).values()
    # Then there are N subnets, each in a different zone of the available ones, cut from the CIDR
    (zones_id, zones), *_ = data_sources(stack, "aws_availability_zones").items()
    assert zones["state"] == "available"
    assert [subnet["availability_zone"] for subnet in subnets] == [
        f"${{element(data.aws_availability_zones.{zones_id}.names, {index})}}"
        for index in range(network.availability_zones)
    ]
    cidrs = [ipaddress.IPv4Network(subnet["cidr_block"]) for subnet in subnets]
    assert all(cidr.subnet_of(ipaddress.IPv4Network(network.cidr)) for cidr in cidrs)
    assert not any(a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :])


def test_adding_a_zone_keeps_existing_subnets() -> None:
    # Given two zones, when a third is added, then the first two subnets are cut the same
    assert private_subnet_cidrs("10.40.0.0/16", 3)[:2] == private_subnet_cidrs("10.40.0.0/16", 2)
    # and the largest allowed count still fits the smallest allowed VPC
    assert len(set(private_subnet_cidrs("10.40.0.0/24", 6))) == 6


def test_nothing_reaches_or_is_reachable_from_the_internet(stacks: dict[str, Stack]) -> None:
    # Given the created network
    stack = stacks["cluster"]
    # Then there is no NAT, no internet gateway, no elastic IP and no route besides the local one
    for resource_type in (
        aws.nat_gateway.NatGateway.TF_RESOURCE_TYPE,
        aws.internet_gateway.InternetGateway.TF_RESOURCE_TYPE,
        aws.egress_only_internet_gateway.EgressOnlyInternetGateway.TF_RESOURCE_TYPE,
        aws.eip.Eip.TF_RESOURCE_TYPE,
        aws.route.Route.TF_RESOURCE_TYPE,
    ):
        assert resources(stack, resource_type) == {}, resource_type
    assert "route" not in only_resource(stack, ROUTE_TABLE)
    # and no subnet gives its instances a public IP
    assert {subnet["map_public_ip_on_launch"] for subnet in resources(stack, SUBNET).values()} == {
        False
    }


def test_every_subnet_uses_the_private_route_table(stacks: dict[str, Stack]) -> None:
    stack = stacks["cluster"]
    table = reference(ROUTE_TABLE, next(iter(resources(stack, ROUTE_TABLE))), "id")
    associations = resources(stack, ROUTE_TABLE_ASSOCIATION).values()
    assert sorted(association["subnet_id"] for association in associations) == sorted(
        reference(SUBNET, name, "id") for name in resources(stack, SUBNET)
    )
    assert {association["route_table_id"] for association in associations} == {table}


def test_interface_endpoints_use_private_dns_in_every_subnet_behind_the_endpoint_group(
    stacks: dict[str, Stack], default_config: PlatformConfig
) -> None:
    # Given the created network
    stack = stacks["cluster"]
    region = default_config.project.region
    endpoints = {
        body["service_name"]: body
        for body in resources(stack, ENDPOINT).values()
        if body["vpc_endpoint_type"] == "Interface"
    }
    # Then exactly the services the tasks call have an interface endpoint, at most five
    assert sorted(endpoints) == [
        f"com.amazonaws.{region}.{name}" for name in DEFAULT_INTERFACE_ENDPOINTS
    ]
    assert len(endpoints) <= MAX_DEFAULT_INTERFACE_ENDPOINTS
    # and each one answers on private DNS, in every subnet, behind the endpoint group only
    subnet_ids = [reference(SUBNET, name, "id") for name in resources(stack, SUBNET)]
    endpoint_group = group_ref(stack, "workers-endpoints")
    for service, endpoint in endpoints.items():
        assert endpoint["private_dns_enabled"] is True, service
        assert endpoint["subnet_ids"] == subnet_ids, service
        assert endpoint["security_group_ids"] == [endpoint_group], service


@pytest.mark.parametrize("service", ["dynamodb", "s3"])
def test_gateway_endpoints_serve_the_private_route_table(
    service: str, stacks: dict[str, Stack], default_config: PlatformConfig
) -> None:
    # S3 for image layers; DynamoDB for the status tables of job tasks (kind: job)
    stack = stacks["cluster"]
    region = default_config.project.region
    name = logical_id(stack, ENDPOINT, service_name=f"com.amazonaws.{region}.{service}")
    endpoint = resources(stack, ENDPOINT)[name]
    assert endpoint["vpc_endpoint_type"] == "Gateway"
    assert endpoint["route_table_ids"] == [
        reference(ROUTE_TABLE, next(iter(resources(stack, ROUTE_TABLE))), "id")
    ]


def test_endpoint_group_admits_https_from_tasks_only(stacks: dict[str, Stack]) -> None:
    stack = stacks["cluster"]
    endpoints = group_ref(stack, "workers-endpoints")
    tasks = group_ref(stack, "workers-tasks")
    assert rules_of(stack, INGRESS_RULE, endpoints) == [
        {
            "description": "HTTPS from tasks",
            "ip_protocol": "tcp",
            "from_port": 443,
            "to_port": 443,
            "referenced_security_group_id": tasks,
        }
    ]
    assert rules_of(stack, EGRESS_RULE, endpoints) == []


def test_tasks_accept_nothing_and_send_https_to_endpoints_s3_and_dynamodb_only(
    stacks: dict[str, Stack], default_config: PlatformConfig
) -> None:
    stack = stacks["cluster"]
    tasks = group_ref(stack, "workers-tasks")
    region = default_config.project.region
    s3 = logical_id(stack, ENDPOINT, service_name=f"com.amazonaws.{region}.s3")
    dynamodb = logical_id(stack, ENDPOINT, service_name=f"com.amazonaws.{region}.dynamodb")
    # Inline rules would bypass the rule resources: there are none
    for group in resources(stack, SECURITY_GROUP).values():
        assert "ingress" not in group
        assert "egress" not in group
    assert rules_of(stack, INGRESS_RULE, tasks) == []
    assert rules_of(stack, EGRESS_RULE, tasks) == [
        {
            "description": "HTTPS to DynamoDB through the gateway endpoint (job status)",
            "ip_protocol": "tcp",
            "from_port": 443,
            "to_port": 443,
            "prefix_list_id": reference(ENDPOINT, dynamodb, "prefix_list_id"),
        },
        {
            "description": "HTTPS to S3 through the gateway endpoint (ECR image layers)",
            "ip_protocol": "tcp",
            "from_port": 443,
            "to_port": 443,
            "prefix_list_id": reference(ENDPOINT, s3, "prefix_list_id"),
        },
        {
            "description": "HTTPS to the VPC interface endpoints",
            "ip_protocol": "tcp",
            "from_port": 443,
            "to_port": 443,
            "referenced_security_group_id": group_ref(stack, "workers-endpoints"),
        },
    ]


def test_default_security_group_is_stripped_of_all_rules(stacks: dict[str, Stack]) -> None:
    stack = stacks["cluster"]
    group = only_resource(stack, aws.default_security_group.DefaultSecurityGroup.TF_RESOURCE_TYPE)
    assert group["ingress"] == []
    assert group["egress"] == []
    assert group["vpc_id"] == reference(VPC, next(iter(resources(stack, VPC))), "id")


def test_flow_log_keeps_rejected_traffic_for_two_weeks(stacks: dict[str, Stack]) -> None:
    stack = stacks["cluster"]
    flow_log = only_resource(stack, aws.flow_log.FlowLog.TF_RESOURCE_TYPE)
    group_type = aws.cloudwatch_log_group.CloudwatchLogGroup.TF_RESOURCE_TYPE
    group_id = logical_id(stack, group_type, name="/workers-network/vpc-flow-logs")
    assert resources(stack, group_type)[group_id]["retention_in_days"] == 14
    assert flow_log["traffic_type"] == "REJECT"
    assert flow_log["log_destination"] == reference(group_type, group_id, "arn")
    role_id = logical_id(stack, ROLE, name="workers-vpc-flow-logs")
    assert flow_log["iam_role_arn"] == reference(ROLE, role_id, "arn")
    # The delivery role writes to this group only
    (policy,) = [p for p in resources(stack, ROLE_POLICY).values() if role_id in p["role"]]
    group_arn = reference(group_type, group_id, "arn")
    assert policy_statements(stack, policy["policy"]) == {
        "WriteFlowLogRecords": {
            "sid": "WriteFlowLogRecords",
            "effect": "Allow",
            "actions": [
                "logs:CreateLogStream",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            "resources": [group_arn, f"{group_arn}:*"],
        }
    }


def test_cluster_has_container_insights_and_both_fargate_capacity_providers(
    stacks: dict[str, Stack],
) -> None:
    stack = stacks["cluster"]
    ecs_cluster = only_resource(stack, aws.ecs_cluster.EcsCluster.TF_RESOURCE_TYPE)
    assert ecs_cluster["name"] == "workers"
    assert ecs_cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    providers = only_resource(
        stack, aws.ecs_cluster_capacity_providers.EcsClusterCapacityProviders.TF_RESOURCE_TYPE
    )
    assert providers["cluster_name"] == "${aws_ecs_cluster.cluster.name}"
    assert providers["capacity_providers"] == ["FARGATE", "FARGATE_SPOT"]
    assert providers["default_capacity_provider_strategy"] == [
        {"capacity_provider": "FARGATE", "weight": 1, "base": 0}
    ]


def test_the_flow_log_role_is_assumable_by_this_accounts_flow_logs_only(
    stacks: dict[str, Stack],
) -> None:
    stack = stacks["cluster"]
    role = resources(stack, ROLE)[logical_id(stack, ROLE, name="workers-vpc-flow-logs")]
    assert policy_statements(stack, role["assume_role_policy"]) == {
        "AssumedByVpcFlowLogs": {
            "sid": "AssumedByVpcFlowLogs",
            "effect": "Allow",
            "actions": ["sts:AssumeRole"],
            "principals": [{"type": "Service", "identifiers": ["vpc-flow-logs.amazonaws.com"]}],
            "condition": [
                {"test": "StringEquals", "variable": "aws:SourceAccount", "values": [ACCOUNT]},
                {
                    "test": "ArnLike",
                    "variable": "aws:SourceArn",
                    "values": [f"arn:{PARTITION}:ec2:eu-west-1:{ACCOUNT}:vpc-flow-log/*"],
                },
            ],
        }
    }


def test_no_task_execution_role_is_shared_through_the_cluster(stacks: dict[str, Stack]) -> None:
    # Each service's stack holds its own execution role; the cluster's only role delivers
    # flow logs, and nothing is attached to it by managed policy.
    stack = stacks["cluster"]
    assert [role["name"] for role in resources(stack, ROLE).values()] == ["workers-vpc-flow-logs"]
    attachments = aws.iam_role_policy_attachment.IamRolePolicyAttachment.TF_RESOURCE_TYPE
    assert resources(stack, attachments) == {}


def test_outputs_other_stacks_read_are_present_and_described(stacks: dict[str, Stack]) -> None:
    outputs = stacks["cluster"]["output"]
    assert sorted(outputs) == sorted(
        [
            cluster.PRIVATE_SUBNET_IDS,
            cluster.TASK_SECURITY_GROUP_ID,
            cluster.CLUSTER_NAME,
            cluster.CLUSTER_ARN,
            cluster.VPC_ID,
        ]
    )
    assert all(output["description"].strip() for output in outputs.values())
    stack = stacks["cluster"]
    assert outputs[cluster.PRIVATE_SUBNET_IDS]["value"] == [
        reference(SUBNET, name, "id") for name in resources(stack, SUBNET)
    ]
    assert outputs[cluster.TASK_SECURITY_GROUP_ID]["value"] == group_ref(stack, "workers-tasks")


def test_existing_network_adds_only_a_task_group_in_the_given_vpc(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    # Given platform.yaml pointing at an existing VPC and its private subnets
    root = repo_copy()
    project_file = root / "platform.yaml"
    settings = yaml.safe_load(project_file.read_text())
    subnets = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
    settings["network"] = {
        "mode": "existing",
        "vpc_id": "vpc-0123456789abcdef0",
        "private_subnet_ids": subnets,
    }
    project_file.write_text(yaml.safe_dump(settings))
    # When synthesized
    stack = synth_stacks(load_config(root), tmp_path / "cdktf.out")["cluster"]
    # Then no network resource is created besides the tasks' security group in that VPC
    created_network_types = {
        VPC,
        SUBNET,
        ROUTE_TABLE,
        ROUTE_TABLE_ASSOCIATION,
        ENDPOINT,
        INGRESS_RULE,
        aws.default_security_group.DefaultSecurityGroup.TF_RESOURCE_TYPE,
        aws.flow_log.FlowLog.TF_RESOURCE_TYPE,
    }
    assert created_network_types.isdisjoint(stack["resource"])
    # and it reads no data source: no zones, nor the account and partition, as it names no ARN
    assert "data" not in stack
    assert resources(stack, ROLE) == {}
    (group,) = resources(stack, SECURITY_GROUP).values()
    assert group["vpc_id"] == "vpc-0123456789abcdef0"
    assert group["name"] == "workers-tasks"
    # with no ingress, and HTTPS out to anywhere (the VPC's own routing decides the path)
    tasks = group_ref(stack, "workers-tasks")
    assert rules_of(stack, INGRESS_RULE, tasks) == []
    assert rules_of(stack, EGRESS_RULE, tasks) == [
        {
            "description": "HTTPS; routing in this existing VPC decides the path",
            "ip_protocol": "tcp",
            "from_port": 443,
            "to_port": 443,
            "cidr_ipv4": "0.0.0.0/0",
        }
    ]
    # and the outputs hand over the given ids
    assert stack["output"][cluster.VPC_ID]["value"] == "vpc-0123456789abcdef0"
    assert stack["output"][cluster.PRIVATE_SUBNET_IDS]["value"] == subnets
    assert stack["output"][cluster.TASK_SECURITY_GROUP_ID]["value"] == tasks


# --- what the created network derives from the configuration -----------------------------------


def _with(config: PlatformConfig, **network: Any) -> tuple[PlatformConfig, CreatedNetwork]:
    created = CreatedNetwork.model_validate(network)
    project = config.project.model_copy(update={"network": created})
    return config.model_copy(update={"project": project}), created


def test_default_egress_is_the_four_endpoints_the_tasks_call(
    default_config: PlatformConfig,
) -> None:
    egress = egress_for(*_with(default_config))

    assert egress.nat is False
    assert list(egress.interface_endpoints) == DEFAULT_INTERFACE_ENDPOINTS
    assert egress.dynamodb_gateway is True  # the crunch job family's status table


def test_without_sqs_callers_or_job_families_neither_sqs_nor_dynamodb_is_reached(
    default_config: PlatformConfig,
) -> None:
    # Given only the ingest API (no containers of its own)
    only_ingest = default_config.model_copy(
        update={"services": tuple(s for s in default_config.services if s.name == "ingest")}
    )

    egress = egress_for(*_with(only_ingest))

    assert egress.interface_endpoints == ("ecr.api", "ecr.dkr", "logs")
    assert egress.dynamodb_gateway is False


def test_declared_endpoints_are_added_and_new_regions_get_the_three_ecs_endpoints(
    default_config: PlatformConfig,
) -> None:
    declared = egress_for(*_with(default_config, extra_endpoints=["sts", "monitoring"]))
    assert {"sts", "monitoring"} < set(declared.interface_endpoints)

    for region in sorted(ECS_ENDPOINT_REGIONS):
        project = default_config.project.model_copy(update={"region": region})
        config, network = _with(default_config.model_copy(update={"project": project}))
        assert set(ECS_ENDPOINTS) < set(egress_for(config, network).interface_endpoints), region


def test_nat_egress_has_no_interface_endpoint_unless_declared(
    default_config: PlatformConfig,
) -> None:
    assert egress_for(*_with(default_config, egress="nat")).interface_endpoints == ()
    declared = egress_for(*_with(default_config, egress="nat", extra_endpoints=["sqs"]))
    assert declared.interface_endpoints == ("sqs",)


def test_a_repeated_extra_endpoint_is_refused() -> None:
    with pytest.raises(ValueError, match="listed more than once: 'sts'"):
        CreatedNetwork.model_validate({"extra_endpoints": ["sts", "sts"]})


def test_the_public_subnet_is_never_a_private_one() -> None:
    for cidr in ("10.40.0.0/16", "10.40.0.0/24"):
        assert public_subnet_cidr(cidr) not in private_subnet_cidrs(cidr, 6)


def test_nat_egress_routes_private_subnets_through_one_nat_gateway(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    # Given platform.yaml with `egress: nat`
    root = repo_copy()
    project_file = root / "platform.yaml"
    settings = yaml.safe_load(project_file.read_text())
    settings["network"]["egress"] = "nat"
    project_file.write_text(yaml.safe_dump(settings))
    # When synthesized
    stack = synth_stacks(load_config(root), tmp_path / "cdktf.out")["cluster"]
    # Then one NAT gateway with its address sits in the one public subnet, behind an internet
    # gateway, and is the private route table's default route
    nat = only_resource(stack, aws.nat_gateway.NatGateway.TF_RESOURCE_TYPE)
    (eip_id,) = resources(stack, aws.eip.Eip.TF_RESOURCE_TYPE)
    (igw_id,) = resources(stack, aws.internet_gateway.InternetGateway.TF_RESOURCE_TYPE)
    public = logical_id(stack, SUBNET, cidr_block="10.40.224.0/19")
    assert nat["subnet_id"] == reference(SUBNET, public, "id")
    assert nat["allocation_id"] == reference(aws.eip.Eip.TF_RESOURCE_TYPE, eip_id, "allocation_id")
    routes = {
        route["route_table_id"]: route
        for route in resources(stack, aws.route.Route.TF_RESOURCE_TYPE).values()
    }
    private_table = reference(
        ROUTE_TABLE, logical_id(stack, ROUTE_TABLE, tags={"Name": "workers-private"}), "id"
    )
    assert routes[private_table]["nat_gateway_id"] == reference(
        aws.nat_gateway.NatGateway.TF_RESOURCE_TYPE,
        next(iter(resources(stack, aws.nat_gateway.NatGateway.TF_RESOURCE_TYPE))),
        "id",
    )
    public_table = reference(
        ROUTE_TABLE, logical_id(stack, ROUTE_TABLE, tags={"Name": "workers-public"}), "id"
    )
    assert routes[public_table]["gateway_id"] == reference(
        aws.internet_gateway.InternetGateway.TF_RESOURCE_TYPE, igw_id, "id"
    )
    # and no interface endpoint or endpoint group, while the free gateways stay
    endpoint_types = [body["vpc_endpoint_type"] for body in resources(stack, ENDPOINT).values()]
    assert endpoint_types == ["Gateway", "Gateway"]
    assert [g["name"] for g in resources(stack, SECURITY_GROUP).values()] == ["workers-tasks"]
    # and tasks may send HTTPS anywhere (through the NAT gateway), still nothing in
    tasks = group_ref(stack, "workers-tasks")
    assert rules_of(stack, INGRESS_RULE, tasks) == []
    assert {rule.get("cidr_ipv4") for rule in rules_of(stack, EGRESS_RULE, tasks)} == {
        None,
        "0.0.0.0/0",
    }
    assert all(s["map_public_ip_on_launch"] is False for s in resources(stack, SUBNET).values())
