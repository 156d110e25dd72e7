"""A stand-in for the `docker` CLI: builds nothing, pushes to a local ECR (moto_server).

There is no Docker engine on the development and CI machines, yet workers/build_and_push.sh
must run unchanged when the e2e harness applies the stacks against moto_server, and a bad
Dockerfile, a failed login or a failed push must fail that apply as they would for real. This
implements exactly what the script uses (devtools/bin/docker puts it first on the PATH):

    docker login --username AWS --password-stdin REGISTRY
    docker buildx build --platform linux/amd64 --provenance=false --file F \
        [--build-arg NAME=VALUE ...] --tag IMAGE --push DIR

`login` checks the password against ECR's authorization token and records the login in
$FAKE_DOCKER_STATE/config.json (as docker does in its own config). `--build-arg` values replace
the defaults of the ARGs they name, in every stage that declares them, as docker applies them
(one no ARG declares is reported as not consumed, as docker warns). `buildx build` refuses what a
real build or push would (a COPY source missing from the context, no login, a malformed tag, an
existing tag in an immutable repository) and what our images must not be (another platform
than Fargate's, no ENTRYPOINT or CMD); then it "pushes": ECR PutImage of an OCI image manifest
whose config digest is a content hash of the files the Dockerfile copies and whose annotations
carry the image config, which `image_config()` reads back so a test can start a worker
exactly as its image declares. The Dockerfile is split into instructions by modules.dockerfile,
as the synth-time check of a service's own Dockerfile splits it, so both read the same file.

FAKE_DOCKER_FAIL=login|build|push makes that step fail. Exit codes: 0 done, 1 failure (as
docker), 2 unsupported command or flag, or the stand-in itself is misconfigured.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import posixpath
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from modules.dockerfile import (
    KEYWORDS,
    DockerfileSyntaxError,
    expand,
    is_remote_source,
    json_list,
    parse,
    split_flags,
    words,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from mypy_boto3_ecr import ECRClient

    from modules.dockerfile import Dockerfile, Instruction

STATE_ENV = "FAKE_DOCKER_STATE"
FAIL_ENV = "FAKE_DOCKER_FAIL"
FAILURE_POINTS = ("login", "build", "push")
PLATFORM = "linux/amd64"
CONFIG_FILE = "config.json"
PUSHES_FILE = "pushes.jsonl"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
# The image config travels in the manifest: moto stores manifests verbatim but cannot serve
# blobs (no GetDownloadUrlForLayer), so a config blob could never be read back.
CONFIG_ANNOTATION = "dev.fake-docker.image-config"
SUPPORTED = (
    "supported: 'docker login --username AWS --password-stdin REGISTRY' and 'docker buildx "
    "build --platform linux/amd64 --provenance=false --file DOCKERFILE [--build-arg NAME=VALUE] "
    "--tag IMAGE --push CONTEXT'"
)
ECR_REGISTRY = re.compile(
    r"(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
)
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST_PART = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
# Docker's reference grammar, restricted to REGISTRY/REPOSITORY[:TAG] (no digests).
IMAGE_REFERENCE = re.compile(
    rf"(?P<registry>{_HOST_PART}(?:\.{_HOST_PART})*(?::[0-9]+)?)"
    rf"/(?P<repository>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>\w[\w.-]{0,127}))?"
)
COPY_FLAGS = {"COPY": {"from", "chown", "chmod", "link"}, "ADD": {"chown", "chmod", "link"}}


class FakeDockerError(Exception):
    """What docker would report: one line on stderr, exit code 1."""

    exit_code = 1


class UsageError(FakeDockerError):
    """A command or flag the stand-in does not implement, or its own configuration missing."""

    exit_code = 2


class ImageConfigError(LookupError):
    """The image is not in ECR, or was not pushed by this stand-in."""


@dataclass(frozen=True)
class ImageConfig:
    """What an image declares about how to run it. None: left to the base image (unknown here).

    env holds what the Dockerfile sets, not the base image's own variables (PATH, LANG...).
    """

    entrypoint: tuple[str, ...] | None
    cmd: tuple[str, ...] | None
    user: str | None
    workdir: str | None
    env: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def argv(self) -> list[str]:
        """The command the container runs: ENTRYPOINT then CMD, as docker combines them."""
        return [*(self.entrypoint or ()), *(self.cmd or ())]

    def to_json(self) -> str:
        # The field names and shapes of the image config's "config" object in the OCI spec.
        return _compact_json(
            {
                "Entrypoint": self.entrypoint,
                "Cmd": self.cmd,
                "User": self.user,
                "WorkingDir": self.workdir,
                "Env": [f"{name}={value}" for name, value in self.env.items()],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ImageConfig:
        data = json.loads(text)
        env = dict(item.split("=", 1) for item in data.get("Env") or [])
        return cls(
            entrypoint=_optional_tuple(data.get("Entrypoint")),
            cmd=_optional_tuple(data.get("Cmd")),
            user=data.get("User"),
            workdir=data.get("WorkingDir"),
            env=env,
        )


def _optional_tuple(value: list[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _compact_json(value: object) -> str:
    # Sorted and compact: the manifest's bytes, hence the image digest, depend only on content.
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- Dockerfile parsing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Copy:
    line: int
    keyword: str  # COPY or ADD
    sources: tuple[str, ...]
    from_: str | None  # another stage or image: nothing from the context


@dataclass
class Stage:
    index: int
    name: str | None
    base: str
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    cmd_set: bool = False  # CMD given in this stage: a later ENTRYPOINT keeps it
    sets_command: bool = False  # ENTRYPOINT or CMD given here or in a stage this one is FROM
    user: str | None = None
    workdir: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    shell: tuple[str, ...] = ("/bin/sh", "-c")
    args: dict[str, str] = field(default_factory=dict)
    copies: list[Copy] = field(default_factory=list)

    def inherit(self, parent: Stage) -> None:
        """`FROM <earlier stage>`: start from that stage's image config (not its ARGs)."""
        self.entrypoint, self.cmd, self.user = parent.entrypoint, parent.cmd, parent.user
        self.workdir, self.env, self.shell = parent.workdir, dict(parent.env), parent.shell
        self.sets_command = parent.sets_command

    def variables(self) -> dict[str, str]:
        return {**self.args, **self.env}  # ENV wins over ARG, as in docker

    def config(self) -> ImageConfig:
        return ImageConfig(self.entrypoint, self.cmd, self.user, self.workdir, dict(self.env))


@dataclass
class _Parsing:
    escape: str
    build_args: Mapping[str, str] = field(default_factory=dict)  # --build-arg NAME=VALUE
    global_args: dict[str, str] = field(default_factory=dict)  # ARGs before the first FROM
    stages: list[Stage] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)  # build args some ARG declared


def parse_dockerfile(text: str, build_args: Mapping[str, str] | None = None) -> list[Stage]:
    """The stages of a Dockerfile with what the stand-in needs: image config and COPY/ADD.

    `build_args`: `--build-arg` values; each replaces the default of the ARG it names."""
    return _parse(text, {} if build_args is None else build_args).stages


def unconsumed_build_args(text: str, build_args: Mapping[str, str]) -> list[str]:
    """The build args no ARG of the Dockerfile declares (docker warns about them), sorted."""
    return sorted(set(build_args) - _parse(text, build_args).consumed)


def _parse(text: str, build_args: Mapping[str, str]) -> _Parsing:
    try:
        return _parse_instructions(parse(text), build_args)
    except DockerfileSyntaxError as error:
        raise FakeDockerError(f"ERROR: failed to solve: {error}") from error


def _parse_instructions(dockerfile: Dockerfile, build_args: Mapping[str, str]) -> _Parsing:
    parsing = _Parsing(dockerfile.escape, build_args)
    for instruction in dockerfile.instructions:
        if instruction.keyword not in KEYWORDS:
            _refuse(instruction, f"unknown instruction: {instruction.keyword}")
        if instruction.keyword == "FROM":
            parsing.stages.append(_start_stage(instruction, parsing))
        elif parsing.stages:
            _HANDLERS.get(instruction.keyword, _ignored)(parsing.stages[-1], instruction, parsing)
        elif instruction.keyword == "ARG":
            _declare_args(parsing.global_args, instruction, parsing, parsing.global_args)
        else:
            _refuse(instruction, "no build stage in current context (FROM must come first)")
    if not parsing.stages:
        raise FakeDockerError("ERROR: failed to solve: the Dockerfile has no FROM")
    return parsing


def _refuse(instruction: Instruction, message: str) -> NoReturn:
    raise FakeDockerError(f"ERROR: failed to solve: dockerfile line {instruction.line}: {message}")


def _start_stage(instruction: Instruction, parsing: _Parsing) -> Stage:
    _, arguments = split_flags(instruction.arguments)  # --platform: every stage is PLATFORM
    items = words(arguments, parsing.global_args, parsing.escape)
    if len(items) == 3 and items[1].lower() == "as":
        base, name = items[0], items[2].lower()
    elif len(items) == 1:
        base, name = items[0], None
    else:
        _refuse(instruction, "FROM requires either one or three arguments")
    stage = Stage(index=len(parsing.stages), name=name, base=base)
    parent = next((s for s in parsing.stages if s.name == base.lower()), None)
    if parent is not None:
        stage.inherit(parent)
    return stage


def _declare_args(
    target: dict[str, str], instruction: Instruction, parsing: _Parsing, known: Mapping[str, str]
) -> None:
    for item in words(instruction.arguments, known, parsing.escape):
        name, has_default, default = item.partition("=")
        if name in parsing.build_args:  # a --build-arg wins over any default, as in docker
            parsing.consumed.add(name)
            target[name] = parsing.build_args[name]
            continue
        value = default if has_default else parsing.global_args.get(name)
        if value is not None:
            target[name] = value


def _arg(stage: Stage, instruction: Instruction, parsing: _Parsing) -> None:
    _declare_args(stage.args, instruction, parsing, stage.variables())


def _command(stage: Stage, text: str) -> tuple[str, ...]:
    exec_form = json_list(text)
    return tuple(exec_form) if exec_form is not None else (*stage.shell, text)


def _entrypoint(stage: Stage, instruction: Instruction, parsing: _Parsing) -> None:
    stage.entrypoint = _command(stage, instruction.arguments)
    if not stage.cmd_set:
        stage.cmd = None  # docker drops an inherited CMD when ENTRYPOINT changes
    stage.sets_command = True


def _cmd(stage: Stage, instruction: Instruction, parsing: _Parsing) -> None:
    stage.cmd = _command(stage, instruction.arguments)
    stage.cmd_set = stage.sets_command = True


def _user(stage: Stage, instruction: Instruction, parsing: _Parsing) -> None:
    stage.user = " ".join(words(instruction.arguments, stage.variables(), parsing.escape))


def _workdir(stage: Stage, instruction: Instruction, parsing: _Parsing) -> None:
    path = " ".join(words(instruction.arguments, stage.variables(), parsing.escape))
    stage.workdir = posixpath.normpath(posixpath.join(stage.workdir or "/", path))


def _env(stage: Stage, instruction: Instruction, parsing: _Parsing) -> None:
    # Every pair expands against the variables from before this instruction, as docker does.
    items = words(instruction.arguments, stage.variables(), parsing.escape)
    if items and "=" not in items[0]:  # legacy form: ENV NAME the rest is the value
        stage.env[items[0]] = " ".join(items[1:])
        return
    for item in items:
        name, has_value, value = item.partition("=")
        if not has_value or not name:
            _refuse(instruction, f"ENV names must be followed by '=': {item!r}")
        stage.env[name] = value


def _shell(stage: Stage, instruction: Instruction, parsing: _Parsing) -> None:
    shell = json_list(instruction.arguments)
    if not shell:
        _refuse(instruction, "SHELL requires the arguments to be in JSON form")
    stage.shell = tuple(shell)


def _copy(stage: Stage, instruction: Instruction, parsing: _Parsing) -> None:
    if instruction.heredocs:  # files written inline: no context file to check or hash
        _refuse(instruction, f"{instruction.keyword} <<EOF (heredocs) is not supported here")
    flags, text = split_flags(instruction.arguments)
    for flag in flags:
        if flag.name not in COPY_FLAGS[instruction.keyword]:
            _refuse(instruction, f"{instruction.keyword} --{flag.name} is not supported here")
    values = {
        flag.name: expand(flag.value or "", stage.variables(), parsing.escape) for flag in flags
    }
    items = json_list(text)
    if items is None:
        items = words(text, stage.variables(), parsing.escape)
    if len(items) < 2:
        _refuse(instruction, f"{instruction.keyword} requires at least two arguments")
    copy = Copy(instruction.line, instruction.keyword, tuple(items[:-1]), values.get("from"))
    stage.copies.append(copy)


def _ignored(stage: Stage, instruction: Instruction, parsing: _Parsing) -> None:
    """RUN, LABEL, EXPOSE, VOLUME, ...: nothing the stand-in checks or reports."""


_HANDLERS: dict[str, Callable[[Stage, Instruction, _Parsing], None]] = {
    "ADD": _copy,
    "ARG": _arg,
    "CMD": _cmd,
    "COPY": _copy,
    "ENTRYPOINT": _entrypoint,
    "ENV": _env,
    "SHELL": _shell,
    "USER": _user,
    "WORKDIR": _workdir,
}


def needed_stages(stages: Sequence[Stage]) -> list[Stage]:
    """The final stage and those it is built from (FROM, COPY --from): BuildKit builds only
    these, so a broken stage nothing uses does not fail a real build and must not fail this."""
    by_name = {stage.name: stage for stage in stages if stage.name}
    needed: dict[int, Stage] = {}
    pending = [stages[-1]]
    while pending:
        stage = pending.pop()
        if stage.index in needed:
            continue
        needed[stage.index] = stage
        references = [stage.base, *(copy.from_ for copy in stage.copies if copy.from_)]
        pending += [s for ref in references if (s := _stage_named(ref, stages, by_name))]
    return [needed[index] for index in sorted(needed)]


def _stage_named(
    reference: str, stages: Sequence[Stage], by_name: Mapping[str, Stage]
) -> Stage | None:
    if reference.isdigit() and int(reference) < len(stages):
        return stages[int(reference)]
    return by_name.get(reference.lower())  # None: an image from a registry


# --- The build context --------------------------------------------------------------------------


def glob_regex(pattern: str) -> str:
    """Go's filepath.Match syntax as docker uses it (`*` stays within a folder, `**` spans
    folders) translated to a regular expression for re.fullmatch."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        piece, i = _glob_piece(pattern, i)
        out.append(piece)
    return "".join(out)


_GLOB_TOKENS = (("**/", "(?:.*/)?"), ("**", ".*"), ("*", "[^/]*"), ("?", "[^/]"))


def _glob_piece(pattern: str, i: int) -> tuple[str, int]:
    for token, regex in _GLOB_TOKENS:
        if pattern.startswith(token, i):
            return regex, i + len(token)
    char = pattern[i]
    end = pattern.find("]", i + 2)
    if char == "[" and end != -1:
        body = pattern[i + 1 : end]
        negate = body[:1] in ("!", "^")
        # Ranges (a-z) and escapes keep their meaning; only a nested "[" must be made literal.
        return f"[{'^' if negate else ''}{body[negate:].replace('[', chr(92) + '[')}]", end + 1
    if char == "\\" and i + 1 < len(pattern):
        return re.escape(pattern[i + 1]), i + 2
    return re.escape(char), i + 1


@dataclass(frozen=True)
class IgnoreRule:
    pattern: re.Pattern[str]
    exclude: bool  # False for a "!" exception


def ignore_rules(context: Path, dockerfile: Path) -> list[IgnoreRule]:
    """The Dockerfile's own `<name>.dockerignore` if there is one, else the context's."""
    path = dockerfile.with_name(f"{dockerfile.name}.dockerignore")
    if not path.is_file():
        path = context / ".dockerignore"
    if not path.is_file():
        return []
    rules = []
    for line in path.read_text().splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        cleaned = posixpath.normpath(entry.removeprefix("!").strip().lstrip("/"))
        rules.append(IgnoreRule(re.compile(glob_regex(cleaned)), not entry.startswith("!")))
    return rules


def is_ignored(path: str, rules: Sequence[IgnoreRule]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    ignored = False
    for rule in rules:
        if any(rule.pattern.fullmatch(candidate) for candidate in candidates):
            ignored = rule.exclude
    return ignored


def context_entries(context: Path, rules: Sequence[IgnoreRule]) -> dict[str, Path]:
    """Every file and folder a build may copy, by path relative to the context."""
    entries: dict[str, Path] = {}
    for folder, folders, files in os.walk(context):
        folders.sort()
        relative = Path(folder).relative_to(context).as_posix()
        for name in [*folders, *sorted(files)]:
            path = name if relative == "." else f"{relative}/{name}"
            if not is_ignored(path, rules):
                entries[path] = Path(folder, name)
    return entries


def copied_files(copy: Copy, entries: Mapping[str, Path]) -> dict[str, Path]:
    """The context files one COPY/ADD takes; refused, as docker does, if a source is missing."""
    files: dict[str, Path] = {}
    for source in copy.sources:
        if copy.keyword == "ADD" and is_remote_source(source):
            continue  # a URL or git repository, not the context
        files.update(_files_of_source(copy, source, entries))
    return files


def _files_of_source(copy: Copy, source: str, entries: Mapping[str, Path]) -> dict[str, Path]:
    relative = posixpath.normpath(source.lstrip("/") or ".")
    if relative == ".." or relative.startswith("../"):
        raise FakeDockerError(
            f"ERROR: failed to solve: forbidden path outside the build context: {source} "
            f"(dockerfile line {copy.line})"
        )
    pattern = re.compile(".*" if relative == "." else glob_regex(relative))
    roots = [path for path in entries if pattern.fullmatch(path)]
    if not roots:
        raise FakeDockerError(
            f'ERROR: failed to solve: failed to compute cache key: "/{relative}": not found '
            f"(dockerfile line {copy.line}: {copy.keyword} {source})"
        )
    return {
        path: entry
        for path, entry in entries.items()
        if (entry.is_symlink() or not entry.is_dir())
        and any(path == root or path.startswith(f"{root}/") for root in roots)
    }


def content_digest(files: Mapping[str, Path]) -> str:
    """SHA-256 over path, kind and content of each file, in path order: deterministic, and
    independent of timestamps and of the machine."""
    digest = hashlib.sha256()
    for path in sorted(files):
        entry = files[path]
        if entry.is_symlink():
            kind, data = "link", os.readlink(entry).encode()
        else:
            kind = "exec" if entry.stat().st_mode & 0o111 else "file"
            data = entry.read_bytes()
        digest.update(f"{path}\0{kind}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    return f"sha256:{digest.hexdigest()}"


def _size(files: Mapping[str, Path]) -> int:
    return sum(entry.lstat().st_size for entry in files.values())


# --- Build ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    digest: str
    size: int


@dataclass(frozen=True)
class BuiltImage:
    config: ImageConfig
    content_digest: str  # of every context file the Dockerfile copies
    size: int
    layers: tuple[Layer, ...]  # one per COPY/ADD from the context

    def manifest(self) -> str:
        """An OCI image manifest (what `--provenance=false` makes buildx push, one per tag)."""
        return _compact_json(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_MEDIA_TYPE,
                "config": {
                    "mediaType": CONFIG_MEDIA_TYPE,
                    "digest": self.content_digest,
                    "size": self.size,
                },
                "layers": [
                    {"mediaType": LAYER_MEDIA_TYPE, "digest": layer.digest, "size": layer.size}
                    for layer in self.layers
                ],
                "annotations": {CONFIG_ANNOTATION: self.config.to_json()},
            }
        )


def build(
    dockerfile: Path, context: Path, build_args: Mapping[str, str] | None = None
) -> BuiltImage:
    """Check a build as BuildKit would (plus our rules) and describe the image it would make."""
    stages, copies = _copies(dockerfile, context, build_args)
    final = stages[-1]
    if not final.sets_command:
        raise FakeDockerError(
            f"ERROR: {dockerfile.resolve()}: the final stage sets no ENTRYPOINT or CMD, so the "
            f"container would run whatever its base image ({final.base}) runs"
        )
    files = _merged(copies)
    layers = tuple(Layer(content_digest(copied), _size(copied)) for copied in copies)
    return BuiltImage(final.config(), content_digest(files), _size(files), layers)


def copied_context_files(
    dockerfile: Path, context: Path, build_args: Mapping[str, str] | None = None
) -> dict[str, Path]:
    """Every file of `context` the build puts into the image, by path relative to the context
    (past the .dockerignore, under a COPY/ADD source of a stage the final one needs)."""
    return _merged(_copies(dockerfile, context, build_args)[1])


def _merged(copies: Sequence[Mapping[str, Path]]) -> dict[str, Path]:
    return {path: entry for copied in copies for path, entry in copied.items()}


def _copies(
    dockerfile: Path, context: Path, build_args: Mapping[str, str] | None
) -> tuple[list[Stage], list[dict[str, Path]]]:
    """The stages, and the context files of each COPY/ADD from the context, in build order."""
    context, dockerfile = _checked_paths(dockerfile, context)
    stages = parse_dockerfile(dockerfile.read_text(), build_args)
    entries = context_entries(context, ignore_rules(context, dockerfile))
    copies = [
        copied_files(copy, entries)
        for stage in needed_stages(stages)
        for copy in stage.copies
        if copy.from_ is None
    ]
    return stages, copies


def _checked_paths(dockerfile: Path, context: Path) -> tuple[Path, Path]:
    context = context.resolve()
    if not context.is_dir():
        raise FakeDockerError(f'ERROR: unable to prepare context: path "{context}" not found')
    dockerfile = dockerfile.resolve()
    if not dockerfile.is_file():
        raise FakeDockerError(
            f"ERROR: failed to solve: failed to read dockerfile: open {dockerfile}: "
            "no such file or directory"
        )
    if not dockerfile.is_relative_to(context):
        raise FakeDockerError(
            f"ERROR: the Dockerfile {dockerfile} is outside the build context {context} "
            "(the fake docker requires it inside)"
        )
    return context, dockerfile


# --- Registry: logins, pushes, reading back ----------------------------------------------------


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: str

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


def parse_image_reference(reference: str) -> ImageReference:
    match = IMAGE_REFERENCE.fullmatch(reference)
    if match is None or len(match["registry"]) + len(match["repository"]) >= 255:
        raise FakeDockerError(f'ERROR: invalid tag "{reference}": invalid reference format')
    return ImageReference(match["registry"], match["repository"], match["tag"] or "latest")


def ecr_client(region: str) -> ECRClient:
    """An ECR client whose endpoint comes from the environment (AWS_ENDPOINT_URL), as boto3
    reads it; few retries, so that a dead moto_server fails a push in seconds."""
    client = boto3.client(
        "ecr",
        region_name=region,
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5),
    )
    # The manifests reference layers that were never uploaded: never send them to AWS itself.
    if re.search(r"\.amazonaws\.com(\.cn)?/?$", client.meta.endpoint_url):
        raise UsageError(
            f"fake docker: talks only to a local ECR such as moto_server, not "
            f"{client.meta.endpoint_url}: set AWS_ENDPOINT_URL"
        )
    return client


def _ecr_registry(registry: str) -> tuple[str, str]:
    """(account, region) of an ECR registry host; the stand-in knows no other registry."""
    match = ECR_REGISTRY.fullmatch(registry)
    if match is None:
        raise FakeDockerError(
            f"Error response from daemon: {registry}: the fake docker knows only ECR "
            "registries (ACCOUNT.dkr.ecr.REGION.amazonaws.com)"
        )
    return match["account"], match["region"]


def _ecr_credentials(client: ECRClient, account: str, registry: str) -> tuple[str, str]:
    """(username, password) that ECR's authorization token stands for, as the registry would
    check them. moto's token is fixed per account, so a wrong password is told apart."""
    try:
        data = client.get_authorization_token(registryIds=[account])["authorizationData"]
    except (BotoCoreError, ClientError) as error:
        raise FakeDockerError(
            f'Error response from daemon: Get "https://{registry}/v2/": {error}'
        ) from error
    return _basic_auth(data[0]["authorizationToken"])


def _basic_auth(encoded: str) -> tuple[str, str]:
    """(username, password) of base64("username:password"), as ECR tokens and docker's
    config.json hold them."""
    username, _, password = base64.b64decode(encoded).decode().partition(":")
    return username, password


def state_folder() -> Path:
    value = os.environ.get(STATE_ENV, "")
    if not value:
        raise UsageError(
            f"fake docker: set {STATE_ENV} to a folder for its logins and pushes "
            "(for example a test's tmp_path)"
        )
    path = Path(value)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _locked(state: Path) -> Iterator[None]:
    # Stacks may be applied in parallel: one writer of the state files at a time.
    with (state / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _read_config(state: Path) -> dict[str, Any]:
    path = state / CONFIG_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _save_login(state: Path, registry: str, username: str, password: str) -> None:
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    with _locked(state):
        config = _read_config(state)
        config.setdefault("auths", {})[registry] = {"auth": auth}
        temporary = state / f"{CONFIG_FILE}.tmp"
        temporary.write_text(json.dumps(config, indent=2, sort_keys=True))
        temporary.replace(state / CONFIG_FILE)


def logged_in(state: Path, registry: str) -> tuple[str, str] | None:
    """(username, password) recorded by `docker login REGISTRY`, or None."""
    entry = _read_config(state).get("auths", {}).get(registry)
    if entry is None:
        return None
    return _basic_auth(entry["auth"])


def pushes(state: Path) -> list[dict[str, Any]]:
    """Every push the stand-in made with this state folder, oldest first."""
    path = state / PUSHES_FILE
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]


def _record_push(state: Path, image: ImageReference, digest: str, built: BuiltImage) -> None:
    record = {"image": str(image), "digest": digest, "config_digest": built.content_digest}
    with _locked(state), (state / PUSHES_FILE).open("a") as file:
        file.write(_compact_json(record) + "\n")


def push(state: Path, image: ImageReference, built: BuiltImage) -> str:
    """PutImage into ECR with the login recorded for the registry; the image digest."""
    account, region = _ecr_registry(image.registry)
    credentials = logged_in(state, image.registry)
    if credentials is None:
        raise FakeDockerError(
            f"ERROR: failed to push {image}: no basic auth credentials "
            f"(docker login {image.registry} first)"
        )
    client = ecr_client(region)
    if _ecr_credentials(client, account, image.registry) != credentials:
        raise FakeDockerError(
            f"ERROR: failed to push {image}: 401 Unauthorized: the login recorded for "
            f"{image.registry} is not ECR's current token"
        )
    mutability = _tag_mutability(client, account, image)
    digest = _put_image(client, account, image, built, mutability)
    _record_push(state, image, digest, built)
    return digest


def _tag_mutability(client: ECRClient, account: str, image: ImageReference) -> str:
    # Asked first: moto answers PutImage into a missing repository with a bare 500.
    try:
        repositories = client.describe_repositories(
            registryId=account, repositoryNames=[image.repository]
        )["repositories"]
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", str(error))
        raise FakeDockerError(f"ERROR: failed to push {image}: name unknown: {message}") from error
    except BotoCoreError as error:
        raise FakeDockerError(f"ERROR: failed to push {image}: {error}") from error
    return repositories[0].get("imageTagMutability", "MUTABLE")


def _put_image(
    client: ECRClient, account: str, image: ImageReference, built: BuiltImage, mutability: str
) -> str:
    manifest = built.manifest()
    # A registry names an image by the SHA-256 of its manifest's bytes.
    digest = f"sha256:{hashlib.sha256(manifest.encode()).hexdigest()}"
    try:
        client.put_image(
            registryId=account,
            repositoryName=image.repository,
            imageManifest=manifest,
            imageManifestMediaType=MANIFEST_MEDIA_TYPE,
            imageTag=image.tag,
            imageDigest=digest,
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        exists = code in ("ImageAlreadyExistsException", "ImageTagAlreadyExistsException")
        if not exists or mutability.startswith("IMMUTABLE"):
            raise FakeDockerError(_push_refusal(image, error, exists)) from error
        # The same manifest under the same tag of a mutable repository: a no-op for docker.
    except BotoCoreError as error:
        raise FakeDockerError(f"ERROR: failed to push {image}: {error}") from error
    return digest


def _push_refusal(image: ImageReference, error: ClientError, exists: bool) -> str:
    if exists:  # docker's words for ECR's refusal
        return (
            f"ERROR: failed to push {image}: tag invalid: The image tag '{image.tag}' already "
            f"exists in the '{image.repository}' repository and cannot be overwritten because "
            "the repository is immutable."
        )
    return f"ERROR: failed to push {image}: {error}"


def image_config(ecr_client: ECRClient, repository_name: str, tag: str) -> ImageConfig:
    """The config of an image this stand-in pushed, read back from ECR (BatchGetImage)."""
    name = f"{repository_name}:{tag}"
    try:
        response = ecr_client.batch_get_image(
            repositoryName=repository_name, imageIds=[{"imageTag": tag}]
        )
    except ClientError as error:
        raise ImageConfigError(f"cannot read image {name} from ECR: {error}") from error
    images = response.get("images", [])
    if not images:
        reasons = "; ".join(f.get("failureReason", "") for f in response.get("failures", []))
        raise ImageConfigError(f"no image {name} in ECR: {reasons or 'not found'}")
    try:
        annotations = json.loads(images[0].get("imageManifest", "{}")).get("annotations") or {}
    except (ValueError, AttributeError):
        annotations = {}
    if CONFIG_ANNOTATION not in annotations:
        raise ImageConfigError(
            f"image {name} was not pushed by devtools.fake_docker: its manifest has no "
            f"{CONFIG_ANNOTATION!r} annotation"
        )
    return ImageConfig.from_json(annotations[CONFIG_ANNOTATION])


# --- Command line ------------------------------------------------------------------------------


def _options(
    args: Sequence[str],
    valued: Mapping[str, str],
    switches: Mapping[str, str],
    command: str,
    repeated: Mapping[str, list[str]] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Docker-style flags (`--name value`, `--name=value`, switches) and positionals; the values
    of a flag in `repeated` (which may be given any number of times) are appended to its list."""
    options: dict[str, str] = {}
    positional: list[str] = []
    remaining = iter(args)
    for arg in remaining:
        name, has_value, value = arg.partition("=")
        if repeated is not None and name in repeated:
            value = value if has_value else next(remaining, "")
            if not value:
                raise UsageError(f"fake docker: {name} needs a value; {SUPPORTED}")
            repeated[name].append(value)
        elif name in valued:
            value = value if has_value else next(remaining, "")
            if not value or valued[name] in options:
                raise UsageError(f"fake docker: {name} needs one value, given once; {SUPPORTED}")
            options[valued[name]] = value
        elif arg in switches:
            options[switches[arg]] = "true"
        elif arg.startswith("-"):
            raise UsageError(f"fake docker: unknown flag {arg!r} for '{command}'; {SUPPORTED}")
        else:
            positional.append(arg)
    return options, positional


def _failure_point() -> str | None:
    value = os.environ.get(FAIL_ENV, "")
    if value and value not in FAILURE_POINTS:
        raise UsageError(f"fake docker: {FAIL_ENV} must be login, build or push; got {value!r}")
    return value or None


def _injected(step: str, failure: str | None, message: str) -> None:
    if failure == step:
        raise FakeDockerError(f"{message}: failure injected by {FAIL_ENV}={step}")


def login(args: Sequence[str], failure: str | None, stdin: TextIO) -> None:
    options, positional = _options(
        args, {"--username": "username", "-u": "username"}, {"--password-stdin": "stdin"}, "login"
    )
    if "stdin" not in options or "username" not in options or len(positional) != 1:
        raise UsageError(
            f"fake docker: login needs --username, --password-stdin and REGISTRY; {SUPPORTED}"
        )
    registry, state = positional[0], state_folder()
    password = stdin.read().removesuffix("\n").removesuffix("\r")  # docker trims one newline
    _injected("login", failure, f"Error response from daemon: login to {registry} failed")
    if not password:
        raise FakeDockerError("Error: password required: --password-stdin read nothing")
    account, region = _ecr_registry(registry)
    if _ecr_credentials(ecr_client(region), account, registry) != (options["username"], password):
        raise FakeDockerError(
            f"Error response from daemon: login attempt to https://{registry}/v2/ failed "
            "with status: 401 Unauthorized"
        )
    _save_login(state, registry, options["username"], password)
    print("Login Succeeded")


def build_arg_values(values: Sequence[str]) -> dict[str, str]:
    """`--build-arg NAME=VALUE` values by name (the last one wins, as in docker). A value without
    `=` would take NAME from the caller's environment in docker: refused, builds must not."""
    build_args: dict[str, str] = {}
    for value in values:
        name, has_value, given = value.partition("=")
        if not has_value or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise UsageError(
                f"fake docker: --build-arg {value!r} must be NAME=VALUE (a value from the "
                f"environment is not supported); {SUPPORTED}"
            )
        build_args[name] = given
    return build_args


def buildx_build(args: Sequence[str], failure: str | None) -> None:
    build_arg_flags: dict[str, list[str]] = {"--build-arg": []}
    options, positional = _options(
        args,
        {
            "--platform": "platform",
            "--provenance": "provenance",
            "--file": "file",
            "-f": "file",
            "--tag": "tag",
            "-t": "tag",
        },
        {"--push": "push"},
        "buildx build",
        build_arg_flags,
    )
    build_args = build_arg_values(build_arg_flags["--build-arg"])
    # Without these the real command does something the stand-in does not model (an image
    # index with attestations, an image kept in a local store).
    if options.get("provenance") != "false" or "push" not in options or "tag" not in options:
        raise UsageError(
            f"fake docker: buildx build needs --provenance=false, --tag and --push; {SUPPORTED}"
        )
    if len(positional) != 1:
        raise UsageError(f"fake docker: buildx build needs exactly one CONTEXT; {SUPPORTED}")
    state, image = state_folder(), parse_image_reference(options["tag"])
    platform = options.get("platform", "(none: the machine's own)")
    if platform != PLATFORM:
        raise FakeDockerError(
            f"ERROR: the fake docker builds only for {PLATFORM} (Fargate's platform); "
            f"got --platform {platform}"
        )
    _injected("build", failure, f"ERROR: failed to solve: building {image}")
    context = Path(positional[0])
    dockerfile = Path(options.get("file", context / "Dockerfile"))
    built = build(dockerfile, context, build_args)
    unused = unconsumed_build_args(dockerfile.read_text(), build_args)
    if unused:
        print(f"[Warning] One or more build-args {unused} were not consumed", file=sys.stderr)
    print(f"fake docker: built {image} from {len(built.layers)} context copies", file=sys.stderr)
    _injected("push", failure, f"ERROR: failed to push {image}")
    digest = push(state, image, built)
    print(f"fake docker: pushed {image} digest: {digest}", file=sys.stderr)


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        failure = _failure_point()
        if args[:1] == ["login"]:
            login(args[1:], failure, stdin or sys.stdin)
        elif args[:2] == ["buildx", "build"]:
            buildx_build(args[2:], failure)
        else:
            shown = " ".join(args[:2]) or "(nothing)"
            raise UsageError(f"fake docker: unsupported command {shown!r}; {SUPPORTED}")
    except FakeDockerError as error:
        print(error, file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
