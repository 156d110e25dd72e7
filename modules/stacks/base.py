"""What every stack of the platform has: the AWS provider with tags, an explicit backend, and
explicit links to other stacks' outputs."""

from __future__ import annotations

from functools import cached_property
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from modules.aws_context import AwsContext
from modules.cdk import (
    DataTerraformRemoteStateLocal,
    DataTerraformRemoteStateS3,
    LocalBackend,
    S3Backend,
    TerraformOutput,
    TerraformStack,
    aws,
)
from modules.config import WORKERS_DIR, LocalState, S3State
from modules.constructs.container_image import ContainerImage, ContainerImageProps
from modules.naming import repository_name, tags

if TYPE_CHECKING:
    from modules.cdk import Construct
    from modules.config import PlatformConfig
    from modules.outputs import RemoteState

# Terraform runs in <repo>/cdktf.out/stacks/<stack>; local state paths are relative to it, so that
# no absolute path, which differs from one checkout to the next, ever lands in the output.
REPO_ROOT_FROM_STACK_DIR = PurePosixPath("../../..")


class PlatformStack(TerraformStack):
    """A root module of this platform. Subclasses add resources; this owns provider and state."""

    def __init__(self, scope: Construct, name: str, config: PlatformConfig) -> None:
        super().__init__(scope, name)
        self.name = name
        self.config = config
        self.project = config.project
        aws.provider.AwsProvider(
            self,
            "aws",
            region=self.project.region,
            default_tags=[aws.provider.AwsProviderDefaultTags(tags=tags(self.project, name))],
        )
        self._declare_backend()
        self._remote_states: dict[str, RemoteState] = {}

    def _declare_backend(self) -> None:
        state = self.project.state
        if isinstance(state, LocalState):
            LocalBackend(self, path=local_state_path(state, self.name))
        else:
            S3Backend(
                self,
                **s3_state_settings(state, self.project.region, self.project.project, self.name),
            )
            # S3-native locking (Terraform >= 1.10); cdktf 0.21's S3Backend has no field for it.
            self.add_override("terraform.backend.s3.use_lockfile", state.use_lockfile)

    @cached_property
    def aws_context(self) -> AwsContext:
        """This stack's Region, account and partition.

        Built on first use, which declares the `account` and `partition` data sources: a stack
        that names no ARN reads neither.
        """
        return AwsContext(
            region=self.project.region,
            account_id=aws.data_aws_caller_identity.DataAwsCallerIdentity(
                self, "account"
            ).account_id,
            partition=aws.data_aws_partition.DataAwsPartition(self, "partition").partition,
        )

    def remote_state(self, stack: str) -> RemoteState:
        """Another stack's outputs, read from its state (one data source per stack)."""
        if stack not in self._remote_states:
            state = self.project.state
            construct_id = f"{stack}_outputs"
            if isinstance(state, LocalState):
                remote: RemoteState = DataTerraformRemoteStateLocal(
                    self, construct_id, path=local_state_path(state, stack)
                )
            else:
                remote = DataTerraformRemoteStateS3(
                    self,
                    construct_id,
                    **s3_state_settings(state, self.project.region, self.project.project, stack),
                )
            self._remote_states[stack] = remote
        return self._remote_states[stack]

    def worker_image(self, worker: str) -> ContainerImage:
        """The image of `workers/<worker>/` and its repository (construct id `image`)."""
        return ContainerImage(
            self,
            "image",
            ContainerImageProps(
                service=worker,
                repository_name=repository_name(self.project.project, worker),
                workers_dir=self.config.root / WORKERS_DIR,
                region=self.project.region,
                repo_root_from_stack_dir=REPO_ROOT_FROM_STACK_DIR,
            ),
        )

    def output(self, name: str, value: Any, description: str) -> TerraformOutput:
        """A value other stacks may read through `remote_state`; every output says what it is."""
        return TerraformOutput(self, name, value=value, description=description)


def local_state_path(state: LocalState, stack: str) -> str:
    return str(REPO_ROOT_FROM_STACK_DIR / state.path / f"{stack}.tfstate")


def s3_state_settings(state: S3State, region: str, project: str, stack: str) -> dict[str, Any]:
    return {
        "bucket": state.bucket,
        "key": f"{state.key_prefix}{project}/{stack}.tfstate",
        "region": state.region if state.region is not None else region,
        "encrypt": True,
    }
