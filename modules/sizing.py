"""Fargate task sizing: the one function that turns container needs into a valid task size."""

from __future__ import annotations

from dataclasses import dataclass

# Valid Fargate (cpu units -> memory MiB) combinations, smallest first.
# Source: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
MAX_CPU = max(FARGATE_SIZES)
MAX_MEMORY = max(FARGATE_SIZES[MAX_CPU])


@dataclass(frozen=True)
class TaskSize:
    cpu: int
    memory: int


class NoFargateSize(ValueError):
    """No Fargate task size holds the requested cpu and memory."""


def fargate_size(cpu: int, memory: int) -> TaskSize:
    """The smallest valid Fargate task size with at least `cpu` units and `memory` MiB.

    Smallest means least cpu first, then least memory: cpu is what a task costs most.
    """
    for size_cpu, memories in FARGATE_SIZES.items():
        if size_cpu < cpu:
            continue
        for size_memory in memories:
            if size_memory >= memory:
                return TaskSize(size_cpu, size_memory)
    raise NoFargateSize(
        f"no Fargate task size holds cpu={cpu} and memory={memory} MiB; "
        f"the largest is cpu={MAX_CPU} with memory={MAX_MEMORY} MiB"
    )
