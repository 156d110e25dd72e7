"""The cluster stack (being written): network, ECS cluster, shared execution role."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.stacks.base import PlatformStack

if TYPE_CHECKING:
    from modules.cdk import Construct
    from modules.config import PlatformConfig


class ClusterStack(PlatformStack):
    def __init__(self, scope: Construct, name: str, config: PlatformConfig) -> None:
        super().__init__(scope, name, config)
