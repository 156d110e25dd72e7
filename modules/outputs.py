"""The links between stacks that constructs read too: the cluster stack's output names, and the
remote state every stack reads other stacks' outputs through (modules/stacks/base.py).

Here rather than in the cluster stack, so that a construct (task_definition.py's
`ClusterHandles`) reads them without importing a stack.
"""

from __future__ import annotations

from modules.cdk import DataTerraformRemoteStateLocal, DataTerraformRemoteStateS3

RemoteState = DataTerraformRemoteStateLocal | DataTerraformRemoteStateS3

# The cluster stack's outputs (README: "Links between stacks").
PRIVATE_SUBNET_IDS = "private_subnet_ids"
TASK_SECURITY_GROUP_ID = "task_security_group_id"
CLUSTER_NAME = "cluster_name"
CLUSTER_ARN = "cluster_arn"
VPC_ID = "vpc_id"
