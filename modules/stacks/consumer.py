"""The consumer stack (being written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.stacks.base import PlatformStack

if TYPE_CHECKING:
    from modules.cdk import Construct
    from modules.config import ConsumerSpec, PlatformConfig


class ConsumerStack(PlatformStack):
    def __init__(self, scope: Construct, name: str, config: PlatformConfig, service: ConsumerSpec) -> None:
        super().__init__(scope, name, config)
        self.service = service
