"""The cluster stack: where tasks run (network) and the ECS cluster.

Applied first: every service stack reads its outputs (named in modules/outputs.py) through
`remote_state("cluster")`. Task execution roles are not here: each service's stack has its own,
limited to its own image repository and log group (task_definition.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.cdk import aws
from modules.config import CreatedNetwork
from modules.constructs.network import (
    ExistingPrivateNetwork,
    ExistingPrivateNetworkProps,
    PrivateNetwork,
    PrivateNetworkProps,
    egress_for,
)
from modules.naming import cluster_name
from modules.outputs import (
    CLUSTER_ARN,
    CLUSTER_NAME,
    PRIVATE_SUBNET_IDS,
    TASK_SECURITY_GROUP_ID,
    VPC_ID,
)
from modules.stacks.base import PlatformStack

if TYPE_CHECKING:
    from modules.cdk import Construct
    from modules.config import PlatformConfig

# Services pick their own strategy; one that does not gets on-demand Fargate, because a Spot
# interruption mid-message costs a redelivery.
DEFAULT_CAPACITY_PROVIDER = "FARGATE"
CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


class ClusterStack(PlatformStack):
    def __init__(self, scope: Construct, name: str, config: PlatformConfig) -> None:
        super().__init__(scope, name, config)
        self.network = self._add_network()
        self.cluster = aws.ecs_cluster.EcsCluster(
            self,
            "cluster",
            name=cluster_name(self.project.project),
            # Backlog-per-task scaling divides by ECS/ContainerInsights RunningTaskCount.
            setting=[aws.ecs_cluster.EcsClusterSetting(name="containerInsights", value="enabled")],
        )
        aws.ecs_cluster_capacity_providers.EcsClusterCapacityProviders(
            self,
            "capacity_providers",
            cluster_name=self.cluster.name,
            capacity_providers=list(CAPACITY_PROVIDERS),
            default_capacity_provider_strategy=[
                aws.ecs_cluster_capacity_providers.EcsClusterCapacityProvidersDefaultCapacityProviderStrategy(
                    capacity_provider=DEFAULT_CAPACITY_PROVIDER, weight=1, base=0
                )
            ],
        )
        self._declare_outputs()

    def _add_network(self) -> PrivateNetwork | ExistingPrivateNetwork:
        """A new private VPC, or the task security group in an existing one (`network.mode`)."""
        project, network = self.project.project, self.project.network
        if isinstance(network, CreatedNetwork):
            return PrivateNetwork(
                self,
                "network",
                PrivateNetworkProps(
                    project=project,
                    aws=self.aws_context,
                    network=network,
                    egress=egress_for(self.config, network),
                ),
            )
        return ExistingPrivateNetwork(
            self, "network", ExistingPrivateNetworkProps(project=project, network=network)
        )

    def _declare_outputs(self) -> None:
        self.output(
            PRIVATE_SUBNET_IDS, self.network.private_subnet_ids, "Private subnets tasks run in."
        )
        self.output(
            TASK_SECURITY_GROUP_ID,
            self.network.task_security_group.id,
            "Security group of every worker task: no ingress, egress HTTPS only.",
        )
        self.output(CLUSTER_NAME, self.cluster.name, "Name of the ECS cluster services run in.")
        self.output(CLUSTER_ARN, self.cluster.arn, "ARN of the ECS cluster services run in.")
        self.output(VPC_ID, self.network.vpc_id, "VPC the tasks run in.")
