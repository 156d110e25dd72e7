"""A service's container image: its ECR repository, a content-hash tag and the build at apply time.

The tag is computed at synth from exactly the files that go into the image and the Dockerfile
that builds them, so an edit to one service changes one stack's plan, an edit to the shared
workers/Dockerfile changes every stack built from it, and an unchanged service never rebuilds.
The build itself runs at apply time (`terraform_data` + `local-exec`), only when the tag or the
repository changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from modules.cdk import Construct, DataResource, LocalExecProvisioner, aws

# The build context is workers/; the image receives these, plus the service's own folder
# (see workers/.dockerignore, which must exclude the same things as `image_files`).
SHARED_IMAGE_FILES = ("__init__.py", "runtime")
# The image definition every service is built from, unless its folder has a Dockerfile of its own.
SHARED_DOCKERFILE = PurePosixPath("Dockerfile")
DOCKERFILE_NAME = "Dockerfile"
EXCLUDED_NAMES = frozenset({"service.yaml", "__pycache__", "conftest.py"})
EXCLUDED_SUFFIXES = frozenset({".pyc"})
# A service's tests (test_*.py) stay out of its image: editing one rebuilds nothing.
TEST_PREFIX, TEST_SUFFIX = "test_", ".py"
BUILD_SCRIPT = PurePosixPath("workers/build_and_push.sh")
TAG_LENGTH = 16


def image_files(workers_dir: Path, service: str) -> list[PurePosixPath]:
    """Every file the image of `service` receives, relative to `workers_dir`, sorted."""
    found: list[PurePosixPath] = []
    for top in (*SHARED_IMAGE_FILES, service):
        path = workers_dir / top
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        for candidate in candidates:
            relative = candidate.relative_to(workers_dir)
            if not candidate.is_file() or _excluded(relative):
                continue
            found.append(PurePosixPath(relative.as_posix()))
    return sorted(found)


def dockerfile(workers_dir: Path, service: str) -> PurePosixPath:
    """The Dockerfile `service` is built from, relative to `workers_dir`: its own, or the shared
    one (the same choice as workers/build_and_push.sh)."""
    own = PurePosixPath(service, DOCKERFILE_NAME)
    return own if (workers_dir / own).is_file() else SHARED_DOCKERFILE


def image_inputs(workers_dir: Path, service: str) -> list[PurePosixPath]:
    """What the image of `service` is made from: its files and the Dockerfile that builds them
    (a service's own Dockerfile is among its files already), sorted."""
    return sorted({*image_files(workers_dir, service), dockerfile(workers_dir, service)})


def _excluded(relative: Path) -> bool:
    name = relative.name
    return (
        bool(EXCLUDED_NAMES.intersection(relative.parts))
        or relative.suffix in EXCLUDED_SUFFIXES
        or (name.startswith(TEST_PREFIX) and name.endswith(TEST_SUFFIX))
    )


def image_tag(workers_dir: Path, service: str) -> str:
    """The first 16 hex digits of a SHA-256 over the image's inputs: each path, its size, its
    bytes.

    Path and size delimit each file, so moving bytes from one file to another changes the tag.
    The shared Dockerfile is one of them, so editing it changes every service built from it.
    """
    digest = hashlib.sha256()
    for relative in image_inputs(workers_dir, service):
        content = (workers_dir / relative).read_bytes()
        digest.update(f"{relative}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()[:TAG_LENGTH]


@dataclass(frozen=True)
class ContainerImageProps:
    """What a service image needs.

    service: the folder under workers/ (and the first argument of the build script).
    repository_name: ECR repository name (naming.repository_name).
    workers_dir: the workers/ folder on this machine; read at synth, never written to the output.
    region: passed to the build script for `aws ecr get-login-password`.
    repo_root_from_stack_dir: where the build runs, relative to the directory Terraform runs in.
    keep_images: how many images the lifecycle policy keeps. Default: 20.
    untagged_days: untagged images (failed or superseded pushes) expire after this. Default: 1.
    """

    service: str
    repository_name: str
    workers_dir: Path
    region: str
    repo_root_from_stack_dir: PurePosixPath
    keep_images: int = 20
    untagged_days: int = 1


class ContainerImage(Construct):
    """ECR repository (scan on push, immutable tags, encrypted, lifecycle) and the image build.

    Public fields: `repository`, `tag`, `uri` (`<repository url>:<tag>`), `build` (depend on it
    before starting tasks from `uri`).
    """

    def __init__(self, scope: Construct, construct_id: str, props: ContainerImageProps) -> None:
        super().__init__(scope, construct_id)
        ecr = aws.ecr_repository
        self.repository = ecr.EcrRepository(
            self,
            "repository",
            name=props.repository_name,
            # A content-hash tag names one image forever: never let a push move it.
            image_tag_mutability="IMMUTABLE",
            # Destroying the service takes its images with it: ECR refuses to delete a repository
            # that holds any, and every image is rebuilt from the commit its tag hashes.
            force_delete=True,
            image_scanning_configuration=ecr.EcrRepositoryImageScanningConfiguration(
                scan_on_push=True
            ),
            encryption_configuration=[
                ecr.EcrRepositoryEncryptionConfiguration(encryption_type="AES256")
            ],
        )
        self.lifecycle_policy = aws.ecr_lifecycle_policy.EcrLifecyclePolicy(
            self,
            "lifecycle_policy",
            repository=self.repository.name,
            policy=json.dumps(
                lifecycle_rules(props.keep_images, props.untagged_days), sort_keys=True
            ),
        )
        self.tag = image_tag(props.workers_dir, props.service)
        repository_url = self.repository.repository_url  # one jsii round trip, not three
        self.uri = f"{repository_url}:{self.tag}"
        self.build = DataResource(
            self,
            "build",
            # A new tag (changed files) or a new repository means a new image to push.
            triggers_replace={"repository_url": repository_url, "tag": self.tag},
            provisioners=[
                LocalExecProvisioner(
                    type="local-exec",
                    command=build_command(props.service, repository_url, self.tag, props.region),
                    # Relative: Terraform runs in cdktf.out/stacks/<stack>, and no absolute
                    # path may land in the output.
                    working_dir=str(props.repo_root_from_stack_dir),
                )
            ],
        )


def build_command(service: str, repository_url: str, tag: str, region: str) -> str:
    """The command the build runs from the repository root (see workers/build_and_push.sh)."""
    return f"{BUILD_SCRIPT} {service} {repository_url} {tag} {region}"


def lifecycle_rules(keep_images: int, untagged_days: int) -> dict[str, object]:
    """ECR lifecycle: drop untagged images soon, and keep the newest `keep_images` of the rest.

    The `any` rule must have the highest priority number (ECR evaluates it last).
    """
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Expire untagged images {untagged_days} day(s) after push",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": untagged_days,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep the newest {keep_images} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_images,
                },
                "action": {"type": "expire"},
            },
        ]
    }
