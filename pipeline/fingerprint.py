"""A stack's fingerprint: what decides whether applying it could do anything new.

sha256 over (a) its `cdk.tf.json` with cdktf's `"//"` metadata removed at every level and keys
sorted, and (b) the content hash of each image its stack builds (the files the image is built
from). So a change that only moves metadata, or refactors the code without changing its output,
leaves the fingerprint as it was, and an edit to a worker's code changes its stack's.

(b) repeats what the image tag in the task definition already says; it is here so that the
fingerprint follows the files even if a stack ever stopped putting the tag in its output.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

# The key cdktf puts its construct paths and stack metadata under, in any object.
METADATA_KEY = "//"


def strip_metadata(value: Any) -> Any:
    """`value` without any `"//"` key, at every depth."""
    if isinstance(value, dict):
        return {key: strip_metadata(item) for key, item in value.items() if key != METADATA_KEY}
    if isinstance(value, list):
        return [strip_metadata(item) for item in value]
    return value


def canonical_json(value: Any) -> bytes:
    """One byte string per value: keys sorted, no whitespace. List order is kept (it matters)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def local_exec_commands(stack: dict[str, Any]) -> list[str]:
    """Every `local-exec` command of every resource in a synthesized stack."""
    commands = []
    for resources in stack.get("resource", {}).values():
        for resource in resources.values():
            for provisioner in resource.get("provisioner", []):
                local_exec = provisioner.get("local-exec")
                if local_exec is not None:
                    commands.append(str(local_exec.get("command", "")))
    return commands


def image_services(stack: dict[str, Any]) -> list[str]:
    """Services whose image this stack builds: the first argument of each build command."""
    from modules.constructs.container_image import BUILD_SCRIPT

    services = set()
    for command in local_exec_commands(stack):
        words = shlex.split(command)
        if len(words) >= 2 and words[0] == str(BUILD_SCRIPT):
            services.add(words[1])
    return sorted(services)


def image_hashes(stack: dict[str, Any], workers_dir: Path) -> dict[str, str]:
    """Each built image's content hash, computed from `workers_dir` by the project's own rule."""
    # The one definition of "the files an image is built from" (and its hash) lives with the
    # construct that tags the image; reusing it keeps the two from drifting apart.
    from modules.constructs.container_image import image_tag

    return {service: image_tag(workers_dir, service) for service in image_services(stack)}


def stack_fingerprint(stack: dict[str, Any], workers_dir: Path) -> str:
    """The hex sha256 fingerprint of one synthesized stack (see the module docstring)."""
    content = {
        "terraform": strip_metadata(stack),
        "images": image_hashes(stack, workers_dir),
    }
    return hashlib.sha256(canonical_json(content)).hexdigest()
