#!/usr/bin/env bash
# Build one service's image for Fargate (linux/amd64) and push it to ECR, unless the tag is
# already there (tags are content hashes of the image's files, so an existing tag is the same
# image: pushing again would only cost time, and fails on an immutable repository).
#
# Usage: workers/build_and_push.sh SERVICE REPOSITORY_URL TAG REGION
#   SERVICE         a service's folder under workers/, e.g. consumer
#   REPOSITORY_URL  ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME
#   TAG             the image tag
#   REGION          the AWS region of the repository
# The image is built from workers/SERVICE/Dockerfile when the service has one, else from the
# shared workers/Dockerfile, with --build-arg SERVICE=SERVICE and the workers/ folder as context.
# Called by Terraform local-exec in every service stack; works from any directory.
# Needs the aws CLI and docker with buildx. Exit codes: 0 done, 1 failure, 2 usage error.
set -euo pipefail

usage_error() {
    echo "usage: build_and_push.sh SERVICE REPOSITORY_URL TAG REGION" >&2
    echo "error: $1" >&2
    exit 2
}

fail() {
    echo "error: $1" >&2
    exit 1
}

[[ $# -eq 4 ]] || usage_error "expected 4 arguments, got $#"
service=$1
repository_url=$2
tag=$3
region=$4

# The build context is this script's folder, whatever the caller's working directory.
workers_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

[[ $service =~ ^[a-z][a-z0-9-]{0,19}$ ]] \
    || usage_error "SERVICE '$service' must be a service folder name (lowercase, digits, '-')"
[[ $service != runtime && -f $workers_dir/$service/service.yaml ]] \
    || usage_error "SERVICE '$service' is not a service: no $workers_dir/$service/service.yaml"
# A service's own Dockerfile (system packages, ...) wins over the shared one.
dockerfile="$workers_dir/$service/Dockerfile"
[[ -f $dockerfile ]] || dockerfile="$workers_dir/Dockerfile"
[[ $repository_url =~ ^([0-9]{12})\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9][a-z0-9._/-]*$ ]] \
    || usage_error "REPOSITORY_URL '$repository_url' must look like ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME"
account=${BASH_REMATCH[1]}
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] \
    || usage_error "TAG '$tag' must be 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
[[ $region =~ ^[a-z]{2}(-gov)?-[a-z]+-[0-9]$ ]] \
    || usage_error "REGION '$region' must be an AWS region such as eu-west-1"

registry=${repository_url%%/*}
repository_name=${repository_url#*/}
image="$repository_url:$tag"

for tool in aws docker; do
    command -v "$tool" >/dev/null || fail "$tool is not on the PATH; it is needed to build and push"
done

# describe-images fails for a missing tag with ImageNotFoundException; any other failure
# (no credentials, no repository) is a real error and must not be mistaken for "missing".
if lookup=$(aws ecr describe-images --region "$region" --registry-id "$account" \
    --repository-name "$repository_name" --image-ids "imageTag=$tag" \
    --query 'imageDetails[0].imageDigest' --output text 2>&1); then
    echo "$image exists ($lookup); nothing to build"
    exit 0
elif [[ $lookup != *ImageNotFoundException* ]]; then
    fail "cannot check whether $image exists: $lookup"
fi

aws ecr get-login-password --region "$region" \
    | docker login --username AWS --password-stdin "$registry"

# --provenance=false: one plain image manifest, not an index with an attestation, so that
# ECR shows one image per tag and lifecycle rules count images, not attestations.
docker buildx build \
    --platform linux/amd64 \
    --provenance=false \
    --file "$dockerfile" \
    --build-arg "SERVICE=$service" \
    --tag "$image" \
    --push \
    "$workers_dir"
echo "$image pushed"
