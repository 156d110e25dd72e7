"""Run one step per stack in dependency order, stacks that do not depend on each other at once.

Applying, a stack starts once every stack it reads from is done; destroying, once every stack
that reads from it is gone. The first failure stops new starts; steps under way finish.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

# Terraform mostly waits on the AWS API (moto answers one call at a time per thread): three at
# once keeps two cores busy without making every call slower.
PARALLEL_STACKS = 3


def reverse(upstream: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """For each stack, the stacks that read from it (what must go before it is destroyed)."""
    return {
        stack: frozenset(other for other, reads in upstream.items() if stack in reads)
        for stack in upstream
    }


def run_in_order(
    stacks: Iterable[str],
    waits_for: Mapping[str, frozenset[str]],
    step: Callable[[str], None],
    parallel: int = PARALLEL_STACKS,
) -> list[tuple[str, BaseException]]:
    """Call `step(stack)` for each stack after all of `waits_for[stack]` among `stacks` are done.

    Returns the failures as (stack, exception); stacks waiting on a failed one are not started.
    """
    pending = set(stacks)
    failures: list[tuple[str, BaseException]] = []
    running: dict[Future[None], str] = {}
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        while pending or running:
            if not failures:
                unfinished = pending | set(running.values())
                for stack in sorted(pending):
                    if len(running) < parallel and not waits_for[stack] & unfinished:
                        pending.discard(stack)
                        running[pool.submit(step, stack)] = stack
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                stack = running.pop(future)
                error = future.exception()
                if error is not None:
                    failures.append((stack, error))
    return failures
