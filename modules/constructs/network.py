"""Where tasks run: a new private VPC (VPC endpoints or one NAT gateway), or an existing VPC.

Both constructs expose the same three handles the cluster stack publishes: `vpc_id`,
`private_subnet_ids` and `task_security_group` (no ingress; egress TCP 443 only).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modules.cdk import Construct, Fn, aws
from modules.config import ConsumerSpec, JobSpec, ProducerSpec, ScheduledSpec
from modules.iam import Statement, role_with_policy, source_conditions
from modules.naming import flow_log_group_name, resource_name

if TYPE_CHECKING:
    from modules.aws_context import AwsContext
    from modules.config import CreatedNetwork, ExistingNetwork, PlatformConfig

HTTPS = 443
ANYWHERE = "0.0.0.0/0"

# Interface endpoints every created network with `egress: endpoints` has, each for a caller that
# has no other way out of a VPC without NAT: ecr.api (auth token, manifests) and ecr.dkr
# (registry protocol) for image pulls, whose layers come from the S3 gateway; logs for the
# awslogs driver. Fargate tasks need no ECS endpoint ("Amazon ECS interface VPC endpoints",
# Considerations for Fargate); README "Network cost" says why task scale-in protection does
# not either.
BASE_INTERFACE_ENDPOINTS: tuple[str, ...] = ("ecr.api", "ecr.dkr", "logs")
# SQS from inside tasks: consumers receive and delete, producers send, scheduled jobs may watch.
SQS_CALLERS = (ConsumerSpec, ProducerSpec, ScheduledSpec)
# Regions AWS opened on or after 2023-12-23 route even Fargate's agent traffic through the three
# ECS endpoints when a VPC has any of them, and need all three ("Amazon ECS interface VPC
# endpoints", Considerations for endpoints in Regions introduced starting on December 23, 2023).
# A Region opened later and missing here: declare the three in network.extra_endpoints.
ECS_ENDPOINT_REGIONS = frozenset(
    {"ap-east-2", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "mx-central-1"}
)
ECS_ENDPOINTS: tuple[str, ...] = ("ecs", "ecs-agent", "ecs-telemetry")
# Not added unless declared (network.extra_endpoints): kms (SQS and SNS call KMS on the caller's
# behalf), secretsmanager/ssm (no task definition has secrets), ssmmessages (no ECS Exec),
# monitoring and sts (no worker calls CloudWatch or STS; task-role credentials come from the
# ECS agent).


@dataclass(frozen=True)
class Egress:
    """What a created network gives tasks to reach AWS with, derived from the configuration.

    nat: one NAT gateway (and its public subnet, internet gateway and address).
    interface_endpoints: services with an interface endpoint in every AZ, sorted.
    dynamodb_gateway: the DynamoDB gateway endpoint (job status tables); S3's is always there.
    """

    nat: bool
    interface_endpoints: tuple[str, ...]
    dynamodb_gateway: bool


def egress_for(config: PlatformConfig, network: CreatedNetwork) -> Egress:
    """The endpoints (or NAT) the configured services need, plus the declared extras."""
    wanted = set(network.extra_endpoints)
    nat = network.egress == "nat"
    if not nat:
        wanted.update(BASE_INTERFACE_ENDPOINTS)
        if any(isinstance(service, SQS_CALLERS) for service in config.services):
            wanted.add("sqs")
        if config.project.region in ECS_ENDPOINT_REGIONS:
            wanted.update(ECS_ENDPOINTS)
    jobs = any(isinstance(service, JobSpec) for service in config.services)
    return Egress(nat=nat, interface_endpoints=tuple(sorted(wanted)), dynamodb_gateway=jobs)


# Subnets are cut with this many extra prefix bits: room for 8, of which at most 6 are private
# (the config allows 6 AZs), so that adding an AZ later never re-cuts the existing subnets; the
# last one is the NAT gateway's public subnet.
SUBNET_NEWBITS = 3
PUBLIC_SUBNET_INDEX = 2**SUBNET_NEWBITS - 1


def private_subnet_cidrs(cidr: str, count: int) -> list[str]:
    """The first `count` subnets of `cidr`, each SUBNET_NEWBITS longer in prefix."""
    network = ipaddress.IPv4Network(cidr)
    subnets = network.subnets(prefixlen_diff=SUBNET_NEWBITS)
    return [str(next(subnets)) for _ in range(count)]


def public_subnet_cidr(cidr: str) -> str:
    """The last SUBNET_NEWBITS cut of `cidr`: never one of the private subnets."""
    subnets = list(ipaddress.IPv4Network(cidr).subnets(prefixlen_diff=SUBNET_NEWBITS))
    return str(subnets[PUBLIC_SUBNET_INDEX])


@dataclass(frozen=True)
class PrivateNetworkProps:
    """What a new private network needs.

    project: prefix of every name and Name tag.
    aws: the cluster stack's Region (endpoint service names) and account (the flow log role's
        confused-deputy conditions).
    network: the created network's settings (CIDR, availability zones).
    egress: what tasks reach AWS with (`egress_for`).
    """

    project: str
    aws: AwsContext
    network: CreatedNetwork
    egress: Egress


@dataclass(frozen=True)
class ExistingPrivateNetworkProps:
    """What the tasks' side of an existing VPC needs.

    project: prefix of the task security group's name.
    network: the existing VPC and its private subnets.
    """

    project: str
    network: ExistingNetwork


class PrivateNetwork(Construct):
    """A new VPC whose tasks run in private subnets and reach AWS as `props.egress` says: through
    VPC endpoints only (no route out at all), or through one NAT gateway.

    Public fields: `vpc`, `vpc_id`, `subnets`, `private_subnet_ids`, `route_table`,
    `task_security_group`, `s3_endpoint`, `dynamodb_endpoint` (None without job families),
    `endpoint_security_group` (None without interface endpoints), `interface_endpoints` (by
    service), `nat_gateway` (None with endpoints), `flow_log`.
    """

    def __init__(self, scope: Construct, construct_id: str, props: PrivateNetworkProps) -> None:
        super().__init__(scope, construct_id)
        project, network, egress = props.project, props.network, props.egress
        region = props.aws.region
        self.vpc = aws.vpc.Vpc(
            self,
            "vpc",
            cidr_block=network.cidr,
            # Private DNS of interface endpoints needs both.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": resource_name(project)},
        )
        self.vpc_id: str = self.vpc.id
        self._lock_default_security_group()
        self.route_table = aws.route_table.RouteTable(
            self,
            "private_routes",
            vpc_id=self.vpc_id,
            tags={"Name": resource_name(project, "private")},
        )
        self._route_table_id: str = self.route_table.id
        self.subnets = self._private_subnets(project, network)
        self.private_subnet_ids: list[str] = [subnet.id for subnet in self.subnets]
        self.task_security_group = task_security_group(self, project, self.vpc_id)
        self._task_security_group_id: str = self.task_security_group.id
        self._gateway_endpoints(project, region, egress)
        self._interface_endpoints(project, region, egress.interface_endpoints)
        self.nat_gateway = self._nat_gateway(project, network) if egress.nat else None
        self.flow_log = self._rejected_traffic_log(project, props.aws)

    def _gateway_endpoints(self, project: str, region: str, egress: Egress) -> None:
        """S3 (image layers; free, and it spares NAT its per-GB charge) and, for job families'
        status tables, DynamoDB."""
        self.s3_endpoint = self._gateway_endpoint(project, region, "s3")
        https_egress(
            self,
            "tasks_to_s3",
            self._task_security_group_id,
            "HTTPS to S3 through the gateway endpoint (ECR image layers)",
            prefix_list_id=self.s3_endpoint.prefix_list_id,
        )
        self.dynamodb_endpoint = None
        if egress.dynamodb_gateway:
            self.dynamodb_endpoint = self._gateway_endpoint(project, region, "dynamodb")
            https_egress(
                self,
                "tasks_to_dynamodb",
                self._task_security_group_id,
                "HTTPS to DynamoDB through the gateway endpoint (job status)",
                prefix_list_id=self.dynamodb_endpoint.prefix_list_id,
            )

    def _interface_endpoints(self, project: str, region: str, services: tuple[str, ...]) -> None:
        self.endpoint_security_group = None
        self.interface_endpoints: dict[str, aws.vpc_endpoint.VpcEndpoint] = {}
        if not services:
            return
        self.endpoint_security_group = self._endpoint_security_group(project)
        self._endpoint_security_group_id: str = self.endpoint_security_group.id
        self.interface_endpoints = {
            service: self._interface_endpoint(project, region, service) for service in services
        }
        https_egress(
            self,
            "tasks_to_endpoints",
            self._task_security_group_id,
            "HTTPS to the VPC interface endpoints",
            referenced_security_group_id=self._endpoint_security_group_id,
        )

    def _nat_gateway(self, project: str, network: CreatedNetwork) -> aws.nat_gateway.NatGateway:
        """One NAT gateway in a public subnet of the first AZ, the private subnets' default route.

        One, not one per AZ: it is the whole point of choosing NAT over endpoints (README,
        "Network cost"); if that AZ fails, tasks in every AZ lose their way out until it is back.
        """
        gateway = aws.internet_gateway.InternetGateway(
            self, "internet_gateway", vpc_id=self.vpc_id, tags={"Name": resource_name(project)}
        )
        public = self._public_subnet(project, network, gateway)
        address = aws.eip.Eip(
            self, "nat_address", domain="vpc", tags={"Name": resource_name(project, "nat")}
        )
        nat = aws.nat_gateway.NatGateway(
            self,
            "nat_gateway",
            subnet_id=public.id,
            allocation_id=address.allocation_id,
            tags={"Name": resource_name(project)},
            depends_on=[gateway],
        )
        aws.route.Route(
            self,
            "private_default_route",
            route_table_id=self._route_table_id,
            destination_cidr_block=ANYWHERE,
            nat_gateway_id=nat.id,
        )
        https_egress(
            self,
            "tasks_to_nat",
            self._task_security_group_id,
            "HTTPS to anywhere through the NAT gateway",
            cidr_ipv4=ANYWHERE,
        )
        return nat

    def _public_subnet(
        self,
        project: str,
        network: CreatedNetwork,
        gateway: aws.internet_gateway.InternetGateway,
    ) -> aws.subnet.Subnet:
        """The NAT gateway's subnet in the first AZ, routed to the internet gateway."""
        public_routes = aws.route_table.RouteTable(
            self,
            "public_routes",
            vpc_id=self.vpc_id,
            tags={"Name": resource_name(project, "public")},
        )
        aws.route.Route(
            self,
            "public_default_route",
            route_table_id=public_routes.id,
            destination_cidr_block=ANYWHERE,
            gateway_id=gateway.id,
        )
        public = aws.subnet.Subnet(
            self,
            "public_subnet",
            vpc_id=self.vpc_id,
            cidr_block=public_subnet_cidr(network.cidr),
            availability_zone=self.subnets[0].availability_zone,
            # Only the NAT gateway lives here, with its own Elastic IP.
            map_public_ip_on_launch=False,
            tags={"Name": resource_name(project, "public")},
        )
        aws.route_table_association.RouteTableAssociation(
            self, "public_subnet_routes", subnet_id=public.id, route_table_id=public_routes.id
        )
        return public

    def _private_subnets(self, project: str, network: CreatedNetwork) -> list[aws.subnet.Subnet]:
        """One subnet per AZ, all on the private route table (which has only the local route)."""
        zones = aws.data_aws_availability_zones.DataAwsAvailabilityZones(
            self,
            "zones",
            state="available",
            # Regular AZs only: Local and Wavelength Zones lack most endpoint services.
            filter=[
                aws.data_aws_availability_zones.DataAwsAvailabilityZonesFilter(
                    name="opt-in-status", values=["opt-in-not-required"]
                )
            ],
        )
        zone_names, subnets = zones.names, []
        cidrs = private_subnet_cidrs(network.cidr, network.availability_zones)
        for index, cidr in enumerate(cidrs):
            subnet = aws.subnet.Subnet(
                self,
                f"private_subnet_{index}",
                vpc_id=self.vpc_id,
                cidr_block=cidr,
                availability_zone=Fn.element(zone_names, index),
                map_public_ip_on_launch=False,
                tags={"Name": resource_name(project, "private", str(index))},
            )
            aws.route_table_association.RouteTableAssociation(
                self,
                f"private_subnet_{index}_routes",
                subnet_id=subnet.id,
                route_table_id=self._route_table_id,
            )
            subnets.append(subnet)
        return subnets

    def _gateway_endpoint(
        self, project: str, region: str, service: str
    ) -> aws.vpc_endpoint.VpcEndpoint:
        """A gateway endpoint (free, no ENI) on the private route table: `<service>_endpoint`."""
        return aws.vpc_endpoint.VpcEndpoint(
            self,
            f"{service}_endpoint",
            vpc_id=self.vpc_id,
            service_name=f"com.amazonaws.{region}.{service}",
            vpc_endpoint_type="Gateway",
            route_table_ids=[self._route_table_id],
            tags={"Name": resource_name(project, service)},
        )

    def _endpoint_security_group(self, project: str) -> aws.security_group.SecurityGroup:
        group = aws.security_group.SecurityGroup(
            self,
            "endpoint_security_group",
            name=resource_name(project, "endpoints"),
            description="VPC interface endpoints: HTTPS from tasks only",
            vpc_id=self.vpc_id,
        )
        # Terraform removes AWS's default allow-all egress rule from a new group; the endpoints only
        # answer connections, so the group needs no egress rule.
        aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
            self,
            "endpoints_from_tasks",
            security_group_id=group.id,
            description="HTTPS from tasks",
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            referenced_security_group_id=self._task_security_group_id,
        )
        return group

    def _interface_endpoint(
        self, project: str, region: str, service: str
    ) -> aws.vpc_endpoint.VpcEndpoint:
        return aws.vpc_endpoint.VpcEndpoint(
            self,
            f"{service.replace('.', '_').replace('-', '_')}_endpoint",
            vpc_id=self.vpc_id,
            service_name=f"com.amazonaws.{region}.{service}",
            vpc_endpoint_type="Interface",
            # Tasks keep calling the public names (sqs.<region>.amazonaws.com); inside the VPC
            # those resolve to the endpoint.
            private_dns_enabled=True,
            subnet_ids=self.private_subnet_ids,
            security_group_ids=[self._endpoint_security_group_id],
            tags={"Name": resource_name(project, service.replace(".", "-"))},
        )

    def _lock_default_security_group(self) -> None:
        # Adopting the default group with no rules strips AWS's allow-all defaults, so that nothing
        # started without an explicit group (a debugging ENI, say) can talk to anything.
        aws.default_security_group.DefaultSecurityGroup(
            self, "default_security_group", vpc_id=self.vpc_id, ingress=[], egress=[]
        )

    def _rejected_traffic_log(self, project: str, aws_context: AwsContext) -> aws.flow_log.FlowLog:
        """Flow log of REJECTED traffic only, kept 14 days.

        Without a NAT gateway, a worker calling a service that has no endpoint fails with a
        timeout; the rejected connection (security group egress is 443 to endpoints, S3 and
        DynamoDB only) shows up here with its destination, which is the fastest way to find the
        missing endpoint. Only rejects are logged: in a VPC this quiet that is a few MB a month.
        """
        log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self, "flow_log_group", name=flow_log_group_name(project), retention_in_days=14
        )
        role = role_with_policy(
            self,
            "flow_log_role",
            name=resource_name(project, "vpc-flow-logs"),
            service="vpc-flow-logs.amazonaws.com",
            # Confused deputy: only flow logs of this account (VPC guide, flow logs IAM role).
            trust_conditions=source_conditions(
                aws_context.account_id, aws_context.arn("ec2", "vpc-flow-log/*")
            ),
            statements=(
                # AWS's example grants these on "*" (and CreateLogGroup); the group exists before
                # the flow log, so the role gets this one group and its streams only.
                Statement(
                    sid="WriteFlowLogRecords",
                    actions=(
                        "logs:CreateLogStream",
                        "logs:DescribeLogGroups",
                        "logs:DescribeLogStreams",
                        "logs:PutLogEvents",
                    ),
                    resources=(log_group.arn, f"{log_group.arn}:*"),
                ),
            ),
        )
        return aws.flow_log.FlowLog(
            self,
            "flow_log",
            vpc_id=self.vpc_id,
            traffic_type="REJECT",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=600,
        )


class ExistingPrivateNetwork(Construct):
    """An existing VPC: only the tasks' security group is created; subnets come from config.

    Public fields: `vpc_id`, `private_subnet_ids`, `task_security_group`.
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: ExistingPrivateNetworkProps
    ) -> None:
        super().__init__(scope, construct_id)
        network = props.network
        self.vpc_id: str = network.vpc_id
        self.private_subnet_ids: list[str] = list(network.private_subnet_ids)
        self.task_security_group = task_security_group(self, props.project, network.vpc_id)
        # The owning team's routing (NAT, endpoints, proxies) decides where HTTPS actually goes;
        # this group cannot know their endpoint or prefix list ids, so it allows 443 anywhere.
        https_egress(
            self,
            "tasks_to_anywhere",
            self.task_security_group.id,
            "HTTPS; routing in this existing VPC decides the path",
            cidr_ipv4="0.0.0.0/0",
        )


def task_security_group(
    scope: Construct, project: str, vpc_id: str
) -> aws.security_group.SecurityGroup:
    """The group every worker task runs in: no ingress rule at all (workers only call out)."""
    return aws.security_group.SecurityGroup(
        scope,
        "task_security_group",
        name=resource_name(project, "tasks"),
        description="Worker tasks: no inbound, outbound HTTPS only",
        vpc_id=vpc_id,
    )


def https_egress(
    scope: Construct,
    construct_id: str,
    security_group_id: str,
    description: str,
    *,
    referenced_security_group_id: str | None = None,
    prefix_list_id: str | None = None,
    cidr_ipv4: str | None = None,
) -> aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule:
    """One egress rule of the group, for TCP 443 to exactly one destination."""
    return aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule(
        scope,
        construct_id,
        security_group_id=security_group_id,
        description=description,
        ip_protocol="tcp",
        from_port=HTTPS,
        to_port=HTTPS,
        referenced_security_group_id=referenced_security_group_id,
        prefix_list_id=prefix_list_id,
        cidr_ipv4=cidr_ipv4,
    )
