"""A corpus of bad configurations, each with the exact problem lines it must produce.

Each case edits a copy of the repository's own `platform.yaml` and `workers/*/service.yaml`,
so the corpus follows the real files: one edit, one (or a few) expected lines, nothing else.
The last tests run `main.py` itself: exit code 2, every problem printed, no traceback, and an
existing output folder left byte for byte as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from modules.config import PLATFORM_ENVIRONMENT, ConfigError, load_config
from tests.config.support import (
    ALIAS_BOMB,
    CONSUMER,
    DEEP_LIST,
    INGEST,
    JOB,
    MAIN_TIMEOUT_SECONDS,
    PRODUCER,
    PROJECT,
    TEN_MB_VALUE,
    copy_file,
    copy_service,
    delete_file,
    link_outside,
    make_folder,
    rename_file,
    replace_text,
    run_main,
    set_key,
    write_bytes,
    write_text,
)
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

SYNTH_TIMEOUT_SECONDS = 300


def steps_scaling(*steps: tuple[int, int]) -> dict[str, Any]:
    """A `scaling:` block of mode steps with (at_least, change) steps."""
    return {
        "mode": "steps",
        "steps": [{"at_least": at_least, "change": change} for at_least, change in steps],
    }


@dataclass(frozen=True)
class BadConfig:
    id: str
    edits: tuple[Callable[[Path], None], ...]
    expected: tuple[str, ...]  # every problem line, in order, exactly


PROJECT_KEYS = "project, region, tags, network, state, alert_emails, alerts, engine"
CONSUMER_KEYS = (
    "description, containers, logs, handler, kind, concurrency, prefetch, queue, scaling"
)
BACKLOG_SCALING_KEYS = (
    "mode, min_tasks, max_tasks, acceptable_latency_seconds, processing_time_seconds, idle_minutes"
)
NAME_RULE = "lowercase letters, digits and '-', starting with a letter, at most 20 characters"
RETENTION_DAYS = (
    "1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, "
    "2922, 3288, 3653"
)
JOB_KEYS = (
    "description, containers, logs, handler, kind, queue, max_parallel_jobs, max_attempts, "
    "timeout_seconds, retry_delay_seconds, status_retention_days"
)
TWO_SUBNETS = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]
COGNITO_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"

CORPUS = [
    # --- unknown keys
    BadConfig(
        "project-unknown-key",
        (set_key(PROJECT, "colour", "blue"),),
        (f"platform.yaml: colour: unknown key; allowed: {PROJECT_KEYS}",),
    ),
    BadConfig(
        "project-misspelt-key",
        (set_key(PROJECT, "regoin", "eu-west-2"),),
        (f"platform.yaml: regoin: unknown key; did you mean region? allowed: {PROJECT_KEYS}",),
    ),
    BadConfig(
        "service-unknown-key",
        (set_key(CONSUMER, "replicas", 3),),
        (f"{CONSUMER}: replicas: unknown key; allowed: {CONSUMER_KEYS}",),
    ),
    BadConfig(
        "service-handler-not-module-function",
        (set_key(CONSUMER, "handler", "workers.consumer.handler.handle"),),
        (
            f"{CONSUMER}: handler: must be 'module:function', the module a path of Python names "
            "inside the service's folder, e.g. handler:handle or tasks.resize:handle; got "
            "'workers.consumer.handler.handle'",
        ),
    ),
    BadConfig(
        "service-handler-path",
        (set_key(CONSUMER, "handler", "../other/handler:handle"),),
        (
            f"{CONSUMER}: handler: must be 'module:function', the module a path of Python names "
            "inside the service's folder, e.g. handler:handle or tasks.resize:handle; got "
            "'../other/handler:handle'",
        ),
    ),
    BadConfig(
        "service-unknown-nested-key",
        (set_key(CONSUMER, "scaling.target", 5),),
        (f"{CONSUMER}: scaling.target: unknown key; allowed: {BACKLOG_SCALING_KEYS}",),
    ),
    BadConfig(
        "service-name-key",
        (set_key(PRODUCER, "name", "sender"),),
        (f"{PRODUCER}: name: unknown key; a service is named by its folder",),
    ),
    # --- wrong types
    BadConfig(
        "wrong-type-text-for-number",
        (set_key(CONSUMER, "concurrency", "ten"),),
        (f"{CONSUMER}: concurrency: must be a whole number; got 'ten'",),
    ),
    BadConfig(
        "wrong-type-yes-for-number",
        (set_key(CONSUMER, "concurrency", True),),
        (f"{CONSUMER}: concurrency: must be a whole number; got true",),
    ),
    BadConfig(
        "wrong-type-number-for-mapping",
        (set_key(CONSUMER, "queue", 5),),
        (f"{CONSUMER}: queue: must be a mapping of keys to values; got 5",),
    ),
    BadConfig(
        "wrong-type-number-for-tag-text",
        (set_key(PROJECT, "tags.cost-center", 4711),),
        ("platform.yaml: tags.cost-center: must be a string; got 4711 (quote it: '4711')",),
    ),
    # --- files that are not a mapping of valid YAML
    BadConfig(
        "invalid-yaml",
        (write_text(PROJECT, "project: workers\nregion: [eu-west-1\n"),),
        (
            "platform.yaml: line 3, column 1: invalid YAML: "
            "expected ',' or ']', but got '<stream end>'",
        ),
    ),
    BadConfig(
        "duplicate-yaml-key",
        (write_text(PROJECT, "project: workers\nregion: eu-west-1\nproject: other\n"),),
        (
            "platform.yaml: line 3, column 1: duplicate key 'project' (first on line 1); "
            "a key may appear once per mapping",
        ),
    ),
    BadConfig(
        "empty-project-file",
        (write_text(PROJECT, ""),),
        (
            "platform.yaml: project: required, but missing",
            "platform.yaml: region: required, but missing",
        ),
    ),
    BadConfig(
        "comments-only-service-file",
        (write_text(CONSUMER, "# to do\n"),),
        (
            f"{CONSUMER}: kind: required, but missing; one of 'consumer', 'producer', "
            "'scheduled', 'ingest', 'job'",
        ),
    ),
    BadConfig(
        "file-is-a-list",
        (write_text(PROJECT, "- project: workers\n- region: eu-west-1\n"),),
        ("platform.yaml: must be a mapping of keys to values; got a list",),
    ),
    BadConfig(
        "project-file-missing",
        (delete_file(PROJECT),),
        ("platform.yaml: file not found",),
    ),
    # --- links between services and names
    BadConfig(
        "sends-to-no-consumer",
        (set_key(PRODUCER, "sends_to", "billing"),),
        (
            f"{PRODUCER}: sends_to: no consumer named 'billing' declares a queue; "
            "consumers: consumer",
        ),
    ),
    BadConfig(
        "service-folder-named-cluster",
        (copy_service("consumer", "cluster"),),
        (
            "workers/cluster/service.yaml: name: 'cluster' is taken by a platform stack "
            "(cluster, logs); rename the folder",
        ),
    ),
    BadConfig(
        "service-folder-named-logs",
        (copy_service("producer", "logs"),),
        (
            "workers/logs/service.yaml: name: 'logs' is taken by a platform stack "
            "(cluster, logs); rename the folder",
        ),
    ),
    BadConfig(
        "bad-service-folder-name",
        (copy_service("producer", "Bad_Name"),),
        (
            f"workers/Bad_Name/service.yaml: name: the folder name must be {NAME_RULE}; "
            "got 'Bad_Name'; rename the folder",
        ),
    ),
    BadConfig(
        "unknown-kind",
        (set_key(CONSUMER, "kind", "cron"),),
        (
            f"{CONSUMER}: kind: must be one of 'consumer', 'producer', 'scheduled', 'ingest', "
            "'job'; got 'cron'",
        ),
    ),
    # --- queue and scaling
    BadConfig(
        "visibility-shorter-than-handler",
        (set_key(CONSUMER, "queue.visibility_timeout_seconds", 30),),
        (
            f"{CONSUMER}: queue.visibility_timeout_seconds: must be at least "
            "handler_timeout_seconds (90), or a message is delivered again while its handler "
            "still runs; got 30",
        ),
    ),
    BadConfig(
        "visibility-within-the-receive-read-timeout",
        (
            set_key(CONSUMER, "queue.handler_timeout_seconds", 10),
            set_key(CONSUMER, "queue.visibility_timeout_seconds", 30),
        ),
        (
            f"{CONSUMER}: queue.visibility_timeout_seconds: must be more than 30, the "
            "consumer's receive read timeout (a long poll may hold messages that long before "
            "the consumer sees them); got 30",
        ),
    ),
    BadConfig(
        "unknown-scaling-mode",
        (set_key(CONSUMER, "scaling.mode", "fast"),),
        (
            f"{CONSUMER}: scaling.mode: must be one of 'backlog-per-task', 'queue-depth', "
            "'steps'; got 'fast'",
        ),
    ),
    BadConfig(
        "max-below-min-backlog-per-task",
        (set_key(CONSUMER, "scaling.min_tasks", 5), set_key(CONSUMER, "scaling.max_tasks", 2)),
        (f"{CONSUMER}: scaling.max_tasks: must be at least min_tasks (5); got 2",),
    ),
    BadConfig(
        "max-below-min-queue-depth",
        (set_key(CONSUMER, "scaling", {"mode": "queue-depth", "min_tasks": 3, "max_tasks": 1}),),
        (f"{CONSUMER}: scaling.max_tasks: must be at least min_tasks (3); got 1",),
    ),
    BadConfig(
        "latency-shorter-than-processing-time",
        (set_key(CONSUMER, "scaling.acceptable_latency_seconds", 30),),
        (
            f"{CONSUMER}: scaling.acceptable_latency_seconds: must be at least "
            "processing_time_seconds (60), or no backlog per task can meet it; got 30",
        ),
    ),
    BadConfig(
        "steps-not-from-zero",
        (set_key(CONSUMER, "scaling", steps_scaling((1, 1), (5, 3))),),
        (
            f"{CONSUMER}: scaling.steps.0.at_least: must be 0: the steps cover every backlog from "
            "an empty queue up (a step with change 0 holds); got 1",
        ),
    ),
    BadConfig(
        "steps-overlap",
        (set_key(CONSUMER, "scaling", steps_scaling((0, -1), (5, 1), (5, 3))),),
        (
            f"{CONSUMER}: scaling.steps.2.at_least: must be more than steps.1.at_least (5): "
            "steps are ordered by backlog and may not overlap; got 5",
        ),
    ),
    BadConfig(
        "steps-out-of-order",
        (set_key(CONSUMER, "scaling", steps_scaling((0, -1), (10, 1), (5, 3))),),
        (
            f"{CONSUMER}: scaling.steps.2.at_least: must be more than steps.1.at_least (10): "
            "steps are ordered by backlog and may not overlap; got 5",
        ),
    ),
    BadConfig(
        "steps-change-decreases",
        (set_key(CONSUMER, "scaling", steps_scaling((0, -1), (5, 3), (10, 1))),),
        (
            f"{CONSUMER}: scaling.steps.2.change: must be at least steps.1.change (3): a larger "
            "backlog never calls for fewer tasks; got 1",
        ),
    ),
    BadConfig(
        "steps-never-add",
        (set_key(CONSUMER, "scaling", steps_scaling((0, -1), (5, 0))),),
        (
            f"{CONSUMER}: scaling.steps: at least one step must add tasks (change above 0), or "
            "the service never starts one",
        ),
    ),
    BadConfig(
        "steps-single",
        (set_key(CONSUMER, "scaling", steps_scaling((0, 1))),),
        (f"{CONSUMER}: scaling.steps: must hold at least 2 items; got 1",),
    ),
    BadConfig(
        "high-backlog-within-the-steps",
        (set_key(CONSUMER, "scaling", {"mode": "steps", "high_backlog": {"visible_messages": 8}}),),
        (
            f"{CONSUMER}: scaling.high_backlog.visible_messages: must be more than the last "
            "step's at_least (10), where the steps already add their most; got 8",
        ),
    ),
    BadConfig(
        "high-backlog-zero-percent",
        (
            set_key(
                CONSUMER,
                "scaling",
                {"mode": "steps", "high_backlog": {"visible_messages": 100, "add_percent": 0}},
            ),
        ),
        (f"{CONSUMER}: scaling.high_backlog.add_percent: must be at least 1; got 0",),
    ),
    # --- ingest API
    BadConfig(
        "ingest-feeds-no-consumer",
        (set_key(INGEST, "feeds", "billing"),),
        (f"{INGEST}: feeds: no consumer named 'billing' declares a queue; consumers: consumer",),
    ),
    BadConfig(
        "ingest-zero-rate",
        (set_key(INGEST, "throttle.rate_per_second", 0),),
        (f"{INGEST}: throttle.rate_per_second: must be more than 0; got 0",),
    ),
    BadConfig(
        "ingest-negative-burst",
        (set_key(INGEST, "throttle.burst", -5),),
        (f"{INGEST}: throttle.burst: must be more than 0; got -5",),
    ),
    BadConfig(
        "ingest-rate-above-account-limit",
        (set_key(INGEST, "throttle.rate_per_second", 20000),),
        (f"{INGEST}: throttle.rate_per_second: must be at most 10000; got 20000",),
    ),
    BadConfig(
        "ingest-unknown-route",
        (set_key(INGEST, "routes", ["POST /messages", "PUT /messages"]),),
        (
            f"{INGEST}: routes.1: must be one of 'POST /messages', 'GET /queue'; "
            "got 'PUT /messages'",
        ),
    ),
    BadConfig(
        "ingest-route-twice",
        (set_key(INGEST, "routes", ["GET /queue", "GET /queue"]),),
        (f"{INGEST}: routes: must be unique; listed more than once: 'GET /queue'",),
    ),
    BadConfig(
        "ingest-body-limit-beyond-waf",
        (set_key(INGEST, "max_body_bytes", 262144),),
        (f"{INGEST}: max_body_bytes: must be at most 65536; got 262144",),
    ),
    BadConfig(
        "ingest-zero-body-limit",
        (set_key(INGEST, "max_body_bytes", 0),),
        (f"{INGEST}: max_body_bytes: must be at least 1; got 0",),
    ),
    BadConfig(
        "ingest-schema-not-draft-4",
        (set_key(INGEST, "request_schema", {"type": "objekt"}),),
        (
            f"{INGEST}: request_schema: not a valid JSON Schema (draft 4): 'objekt' is not valid "
            "under any of the given schemas (at type)",
        ),
    ),
    BadConfig(
        "ingest-schema-without-its-route",
        (set_key(INGEST, "routes", ["GET /queue"]),),
        (f"{INGEST}: request_schema: applies to POST /messages, which routes does not list",),
    ),
    BadConfig(
        "ingest-unknown-auth",
        (set_key(INGEST, "auth", {"type": "basic"}),),
        (f"{INGEST}: auth.type: must be one of 'iam', 'jwt', 'api-key'; got 'basic'",),
    ),
    BadConfig(
        "ingest-jwt-issuer-not-cognito",
        (
            set_key(
                INGEST,
                "auth",
                {"type": "jwt", "issuer": "https://login.example.com", "audiences": ["web"]},
            ),
        ),
        (
            f"{INGEST}: auth.issuer: must be a Cognito user pool issuer, "
            "https://cognito-idp.<region>.amazonaws.com/<user pool id>; "
            "got 'https://login.example.com'",
        ),
    ),
    BadConfig(
        "ingest-jwt-without-audiences",
        (set_key(INGEST, "auth", {"type": "jwt", "issuer": COGNITO_ISSUER, "audiences": []}),),
        (f"{INGEST}: auth.audiences: must hold at least 1 item; got 0",),
    ),
    BadConfig(
        "ingest-api-key-client-twice",
        (set_key(INGEST, "auth", {"type": "api-key", "clients": ["acme", "acme"]}),),
        (f"{INGEST}: auth.clients: must be unique; listed more than once: 'acme'",),
    ),
    BadConfig(
        "ingest-api-key-quota",
        (set_key(INGEST, "auth", {"type": "api-key", "quota": {"limit": 0, "period": "YEAR"}}),),
        (
            f"{INGEST}: auth.quota.limit: must be at least 1; got 0",
            f"{INGEST}: auth.quota.period: must be one of DAY, WEEK, MONTH; got 'YEAR'",
        ),
    ),
    BadConfig(
        "ingest-with-containers",
        (set_key(INGEST, "containers", [{"name": "worker"}]),),
        (
            f"{INGEST}: containers: unknown key; allowed: description, kind, feeds, routes, "
            "auth, throttle, max_body_bytes, request_schema, logs",
        ),
    ),
    # --- containers
    BadConfig(
        "cpu-above-fargate-maximum",
        (set_key(CONSUMER, "containers.0.cpu", 300000),),
        (f"{CONSUMER}: containers.0.cpu: must be at most 16384; got 300000",),
    ),
    BadConfig(
        "containers-together-fit-no-fargate-size",
        (
            set_key(
                CONSUMER,
                "containers",
                [
                    {"name": "worker", "cpu": 16384, "memory": 32768},
                    {"name": "sidecar", "cpu": 256, "memory": 512},
                ],
            ),
        ),
        (
            f"{CONSUMER}: containers: no Fargate task size holds cpu=16640 and memory=33280 MiB; "
            "the largest is cpu=16384 with memory=122880 MiB "
            "(cpu and memory add up over the containers)",
        ),
    ),
    BadConfig(
        "no-containers",
        (set_key(CONSUMER, "containers", []),),
        (f"{CONSUMER}: containers: must hold at least 1 item; got 0",),
    ),
    BadConfig(
        "duplicate-container-names",
        (
            set_key(
                PRODUCER,
                "containers",
                [{"name": "worker"}, {"name": "worker"}],
            ),
        ),
        (f"{PRODUCER}: containers: container names must be unique; used more than once: 'worker'",),
    ),
    BadConfig(
        "reserved-platform-variable",
        (set_key(CONSUMER, "containers.0.environment.QUEUE_URL", "https://example.com/q"),),
        (
            f"{CONSUMER}: containers.0.environment.QUEUE_URL: is set by the platform; choose "
            f"another name (reserved: {', '.join(PLATFORM_ENVIRONMENT)})",
        ),
    ),
    BadConfig(
        "bad-variable-name",
        (set_key(PRODUCER, "containers.0.environment.max-interval", "5"),),
        (
            f"{PRODUCER}: containers.0.environment.max-interval: a variable name must be "
            "uppercase letters, digits and '_', not starting with a digit",
        ),
    ),
    BadConfig(
        "log-retention-not-allowed",
        (set_key(CONSUMER, "logs.retention_days", 10),),
        (f"{CONSUMER}: logs.retention_days: must be one of {RETENTION_DAYS}; got 10",),
    ),
    # --- project: region, network, state
    BadConfig(
        "bad-region",
        (set_key(PROJECT, "region", "Ireland"),),
        ("platform.yaml: region: must be an AWS region such as eu-west-1; got 'Ireland'",),
    ),
    BadConfig(
        "cidr-not-a-network",
        (set_key(PROJECT, "network.cidr", "10.40.0.0/33"),),
        (
            "platform.yaml: network.cidr: must be an IPv4 CIDR block such as 10.40.0.0/16 "
            "('33' is not a valid netmask); got '10.40.0.0/33'",
        ),
    ),
    BadConfig(
        "cidr-prefix-too-short",
        (set_key(PROJECT, "network.cidr", "10.0.0.0/8"),),
        (
            "platform.yaml: network.cidr: prefix length must be between /16 and /24 "
            "(AWS VPC limits); got '10.0.0.0/8'",
        ),
    ),
    BadConfig(
        "existing-network-without-subnets",
        (set_key(PROJECT, "network", {"mode": "existing", "vpc_id": "vpc-0a1b2c3d4e5f67890"}),),
        ("platform.yaml: network.private_subnet_ids: required, but missing",),
    ),
    BadConfig(
        "existing-network-bad-vpc-id",
        (
            set_key(
                PROJECT,
                "network",
                {"mode": "existing", "vpc_id": "vpc-main", "private_subnet_ids": TWO_SUBNETS},
            ),
        ),
        (
            "platform.yaml: network.vpc_id: must be a VPC id: 'vpc-' and 8 to 17 hex digits, "
            "e.g. vpc-0a1b2c3d4e5f67890; got 'vpc-main'",
        ),
    ),
    BadConfig(
        "existing-network-same-subnet-twice",
        (
            set_key(
                PROJECT,
                "network",
                {
                    "mode": "existing",
                    "vpc_id": "vpc-0a1b2c3d",
                    "private_subnet_ids": ["subnet-0a1b2c3d", "subnet-0a1b2c3d"],
                },
            ),
        ),
        (
            "platform.yaml: network.private_subnet_ids: must be unique; listed more than once: "
            "'subnet-0a1b2c3d'",
        ),
    ),
    BadConfig(
        "unknown-state-backend",
        (set_key(PROJECT, "state.backend", "consul"),),
        ("platform.yaml: state.backend: must be one of 'local', 's3'; got 'consul'",),
    ),
    # --- several files at once: every problem, project file first, then services by folder
    BadConfig(
        "problems-in-several-files",
        (
            set_key(PROJECT, "colour", "blue"),
            set_key(CONSUMER, "concurrency", 0),
            set_key(PRODUCER, "tasks", -1),
        ),
        (
            f"platform.yaml: colour: unknown key; allowed: {PROJECT_KEYS}",
            f"{CONSUMER}: concurrency: must be at least 1; got 0",
            f"{PRODUCER}: tasks: must be at least 0; got -1",
        ),
    ),
    # --- long-running jobs (kind: job)
    BadConfig(
        "job-unknown-queue-type",
        (set_key(JOB, "queue.type", "priority"),),
        (f"{JOB}: queue.type: must be standard or fifo; got 'priority'",),
    ),
    BadConfig(
        "job-no-parallel-jobs",
        (set_key(JOB, "max_parallel_jobs", 0),),
        (f"{JOB}: max_parallel_jobs: must be at least 1; got 0",),
    ),
    BadConfig(
        "job-too-many-attempts",
        (set_key(JOB, "max_attempts", 11),),
        (f"{JOB}: max_attempts: must be at most 10; got 11",),
    ),
    BadConfig(
        "job-timeout-over-a-week",
        (set_key(JOB, "timeout_seconds", 604801),),
        (f"{JOB}: timeout_seconds: must be at most 604800; got 604801",),
    ),
    BadConfig(
        "job-negative-retry-delay",
        (set_key(JOB, "retry_delay_seconds", -1),),
        (f"{JOB}: retry_delay_seconds: must be at least 0; got -1",),
    ),
    BadConfig(
        "job-retention-beyond-sqs",
        (set_key(JOB, "queue.message_retention_days", 15),),
        (f"{JOB}: queue.message_retention_days: must be at most 14; got 15",),
    ),
    BadConfig(
        "job-timeout-as-text",
        (set_key(JOB, "timeout_seconds", "1h"),),
        (f"{JOB}: timeout_seconds: must be a whole number; got '1h'",),
    ),
    BadConfig(
        "job-misspelt-key",
        (set_key(JOB, "max_parallel", 3),),
        (f"{JOB}: max_parallel: unknown key; did you mean max_parallel_jobs? allowed: {JOB_KEYS}",),
    ),
    BadConfig(
        "job-sets-the-job-id",
        (set_key(JOB, "containers.0.environment", {"JOB_ID": "fixed"}),),
        (
            f"{JOB}: containers.0.environment.JOB_ID: is set by the platform; choose another "
            f"name (reserved: {', '.join(PLATFORM_ENVIRONMENT)})",
        ),
    ),
    BadConfig(
        "job-too-big-for-fargate",
        (
            set_key(
                JOB,
                "containers",
                [
                    {"name": "worker", "cpu": 16384, "memory": 122880},
                    {"name": "sidecar", "cpu": 256, "memory": 512},
                ],
            ),
        ),
        (
            f"{JOB}: containers: no Fargate task size holds cpu=16640 and memory=123392 MiB; "
            "the largest is cpu=16384 with memory=122880 MiB (cpu and memory add up over the "
            "containers)",
        ),
    ),
]


# --- hostile files: each answered at once, with one bounded line ------------------------------

LONG_VALUE = "x" * 100_000
FILE_LIMIT = "a config file may hold at most 131072 bytes (128 KiB)"
ANCHORS = (
    "YAML anchors and aliases (&name, *name) are not allowed: no field needs them, and they can "
    "make a small file expand without bound; write the value out"
)
TAG_CHARACTERS = "letters, digits, spaces and _ . : / = + - @"

HOSTILE = [
    BadConfig(
        "yaml-alias-bomb",
        (write_text(CONSUMER, ALIAS_BOMB),),
        (f"{CONSUMER}: line 2, column 4: {ANCHORS}",),
    ),
    BadConfig(
        "yaml-anchor-and-alias",
        (
            write_text(
                PRODUCER,
                "kind: producer\nsends_to: consumer\n"
                "containers:\n  - &worker {name: worker}\n  - *worker\n",
            ),
        ),
        (f"{PRODUCER}: line 4, column 5: {ANCHORS}",),
    ),
    BadConfig(
        "yaml-merge-key",
        (replace_text(CONSUMER, "concurrency: 10\n", "<<: {concurrency: 10}\n"),),
        (
            f"{CONSUMER}: line 4, column 1: merge keys (<<) are not allowed: no field needs "
            "them; write the keys out",
        ),
    ),
    BadConfig(
        "yaml-nested-10000-deep",
        (write_text(CONSUMER, DEEP_LIST),),
        (
            f"{CONSUMER}: line 2, column 45: nested more than 32 levels deep; no field needs "
            "that many",
        ),
    ),
    BadConfig(
        "file-of-10-mb",
        (write_text(CONSUMER, TEN_MB_VALUE),),
        (f"{CONSUMER}: {len(TEN_MB_VALUE)} bytes; {FILE_LIMIT}",),
    ),
    BadConfig(
        "file-not-utf8",
        (write_bytes(PROJECT, b"project: workers\nregion: eu-west-1\n# caf\xe9\n"),),
        (
            "platform.yaml: line 3: not UTF-8 text (byte 0xe9 at offset 40); config files are "
            "read as UTF-8 only: save it as UTF-8",
        ),
    ),
    BadConfig(
        "long-bad-value-is-shortened",
        (set_key(CONSUMER, "concurrency", LONG_VALUE),),
        (
            f"{CONSUMER}: concurrency: must be a whole number; got '{'x' * 40}... "
            "(100000 characters)",
        ),
    ),
    BadConfig(
        "long-unknown-key-is-shortened",
        (set_key(CONSUMER, "k" * 5000, 1),),
        (f"{CONSUMER}: {'k' * 40}... (5000 characters): unknown key; allowed: {CONSUMER_KEYS}",),
    ),
    BadConfig(
        "empty-key",
        (set_key(CONSUMER, "", 1),),
        (f"{CONSUMER}: '': unknown key; allowed: {CONSUMER_KEYS}",),
    ),
    BadConfig(
        "integer-of-5000-digits",
        (replace_text(CONSUMER, "concurrency: 10", "concurrency: " + "9" * 5000),),
        (f"{CONSUMER}: line 4, column 14: a number of 5000 digits; numbers here have at most 100",),
    ),
    BadConfig(
        "infinite-number",
        (replace_text(CONSUMER, "processing_time_seconds: 60", "processing_time_seconds: .inf"),),
        (f"{CONSUMER}: scaling.processing_time_seconds: must be a finite number; got .inf",),
    ),
    BadConfig(
        "not-a-number",
        (replace_text(CONSUMER, "concurrency: 10", "concurrency: .nan"),),
        (f"{CONSUMER}: concurrency: must be a finite number; got .nan",),
    ),
    BadConfig(
        "number-that-overflows-to-infinity",
        (replace_text(INGEST, "rate_per_second: 50", "rate_per_second: -1.0e+999"),),
        (f"{INGEST}: throttle.rate_per_second: must be a finite number; got -.inf",),
    ),
    BadConfig(
        "infinite-number-in-a-request-schema",
        (replace_text(INGEST, "maxLength: 128", "maxLength: .inf"),),
        (f"{INGEST}: request_schema.properties.id.maxLength: must be a finite number; got .inf",),
    ),
    BadConfig(
        "key-that-is-a-list",
        (write_text(CONSUMER, "kind: consumer\n? [a, b]\n: 1\n"),),
        (
            f"{CONSUMER}: line 2, column 3: a key must be a plain value such as a name, not a "
            "list or mapping",
        ),
    ),
    BadConfig(
        "many-problems-are-capped",
        (set_key(PROJECT, "alert_emails", ["not-an-address"] * 1000),),
        (
            *(
                f"platform.yaml: alert_emails.{index}: must be an email address such as "
                "team@example.com; got 'not-an-address'"
                for index in range(20)
            ),
            "platform.yaml: 980 more problem(s) not shown; fix the ones above first",
        ),
    ),
    # --- which files are specs
    BadConfig(
        "spec-named-service-yml",
        (rename_file(PRODUCER, "service.yml"),),
        (
            "workers/producer/service.yml: looks like a service spec, but only files named "
            "service.yaml are read; rename it to service.yaml",
        ),
    ),
    BadConfig(
        "spec-named-Service-yaml",
        (rename_file(PRODUCER, "Service.yaml"),),
        (
            "workers/producer/Service.yaml: looks like a service spec, but only files named "
            "service.yaml are read; rename it to service.yaml",
        ),
    ),
    BadConfig(
        "spec-named-service-YAML-beside-the-real-one",
        (copy_file(CONSUMER, "workers/consumer/service.YAML"),),
        (
            "workers/consumer/service.YAML: looks like a service spec, but only files named "
            "service.yaml are read; rename it to service.yaml (or merge it into the "
            "service.yaml there)",
        ),
    ),
    BadConfig(
        "spec-outside-any-folder",
        (copy_file(PRODUCER, "workers/service.yaml"),),
        (
            "workers/service.yaml: a service spec belongs in its service's folder: "
            "workers/<name>/service.yaml",
        ),
    ),
    BadConfig(
        "spec-is-a-folder",
        (make_folder(PRODUCER),),
        ("workers/producer/service.yaml: must be a file; this is not a regular file",),
    ),
    BadConfig(
        "spec-links-out-of-the-repository",
        (link_outside(PRODUCER),),
        (
            "workers/producer/service.yaml: is a symbolic link to a file outside the "
            "repository; refused: a config file must be reviewed and versioned with the "
            "repository (copy it in instead)",
        ),
    ),
    BadConfig(
        "project-file-links-out-of-the-repository",
        (link_outside(PROJECT),),
        (
            "platform.yaml: is a symbolic link to a file outside the repository; refused: a "
            "config file must be reviewed and versioned with the repository (copy it in "
            "instead)",
        ),
    ),
    # --- AWS limits
    BadConfig(
        "tag-key-with-aws-prefix",
        (set_key(PROJECT, "tags.AWS:owner", "me"),),
        (
            "platform.yaml: tags.AWS:owner: a tag key may not start with 'aws:' in any case: "
            "AWS reserves it; got 'AWS:owner'",
        ),
    ),
    BadConfig(
        "tag-value-with-aws-prefix",
        (set_key(PROJECT, "tags.owner", "aws:me"),),
        (
            "platform.yaml: tags.owner: a tag value may not start with 'aws:' in any case: "
            "AWS reserves it; got 'aws:me'",
        ),
    ),
    BadConfig(
        "tag-value-over-256-characters",
        (set_key(PROJECT, "tags.owner", "v" * 257),),
        (
            "platform.yaml: tags.owner: a tag value may be at most 256 characters; got "
            f"'{'v' * 40}... (257 characters)",
        ),
    ),
    BadConfig(
        "tag-key-over-128-characters",
        (set_key(PROJECT, "tags", {"k" * 129: "v"}),),
        (
            f"platform.yaml: tags.{'k' * 40}... (129 characters): a tag key must be 1 to 128 "
            f"characters; got '{'k' * 40}... (129 characters)",
        ),
    ),
    BadConfig(
        "tag-key-with-a-character-aws-refuses",
        (set_key(PROJECT, "tags", {"cost#center": "42"}),),
        (
            f"platform.yaml: tags.cost#center: a tag key may hold only {TAG_CHARACTERS}; "
            "got 'cost#center'",
        ),
    ),
    BadConfig(
        "tag-the-platform-sets",
        (set_key(PROJECT, "tags.Service", "billing"),),
        (
            "platform.yaml: tags.Service: is set by the platform on every resource (Project, "
            "Service, ManagedBy); choose another key; got 'Service'",
        ),
    ),
    BadConfig(
        "more-tags-than-aws-allows",
        (set_key(PROJECT, "tags", {f"tag{index}": "v" for index in range(47)}),),
        (
            "platform.yaml: tags: AWS allows at most 50 tags on a resource, and the platform "
            "adds 4 (Project, Service, ManagedBy, Name): at most 46 here; got 47",
        ),
    ),
    BadConfig(
        "variable-name-with-a-newline",
        (set_key(PRODUCER, "containers.0.environment", {"MAX\n": "5"}),),
        (
            f"{PRODUCER}: containers.0.environment.MAX\\n: a variable name must be uppercase "
            "letters, digits and '_', not starting with a digit",
        ),
    ),
    BadConfig(
        "environment-beyond-the-task-definition-size",
        (
            set_key(
                PRODUCER,
                "containers.0.environment",
                {f"VALUE_{index}": "x" * 1000 for index in range(60)},
            ),
        ),
        (
            f"{PRODUCER}: containers: the task definition would take about 68042 bytes (61898 "
            "of them the containers' names, environment and command); ECS accepts at most "
            "65536 (64 KiB): keep large values in the image or a parameter store, not in the "
            "environment",
        ),
    ),
    BadConfig(
        "state-key-prefix-beyond-s3-key-length",
        (
            set_key(
                PROJECT, "state", {"backend": "s3", "bucket": "tf-state", "key_prefix": "p/" * 500}
            ),
        ),
        (
            "platform.yaml: state.key_prefix: state keys are "
            "<key_prefix><project>/<stack>.tfstate, up to 1036 bytes with this prefix; S3 allows "
            "at most 1024",
        ),
    ),
]
CORPUS += HOSTILE


@pytest.mark.parametrize("case", CORPUS, ids=[case.id for case in CORPUS])
def test_bad_config_is_rejected_with_its_message(
    case: BadConfig, repo_copy: Callable[[], Path]
) -> None:
    root = repo_copy()
    for edit in case.edits:
        edit(root)

    with pytest.raises(ConfigError) as raised:
        load_config(root)

    assert tuple(raised.value.problems) == case.expected


def test_corpus_ids_are_unique() -> None:
    ids = [case.id for case in CORPUS]

    assert len(set(ids)) == len(ids)


# --- main.py as users run it --------------------------------------------------------------------


def tree(folder: Path) -> dict[str, bytes]:
    """Every file and folder below `folder` (and beside it), with the files' bytes."""
    return {
        path.relative_to(folder.parent).as_posix(): path.read_bytes() if path.is_file() else b"/"
        for path in sorted(folder.parent.rglob("*"))
    }


@pytest.fixture
def broken_repo(repo_copy: Callable[[], Path]) -> Path:
    """A copy of the repository with one problem in the project file and one in a service."""
    root = repo_copy()
    set_key(PROJECT, "colour", "blue")(root)
    set_key(CONSUMER, "scaling.max_tasks", -1)(root)
    return root


@pytest.fixture
def previous_output(tmp_path: Path) -> Path:
    """An output folder from an earlier run, alone in its parent folder."""
    outdir = tmp_path / "output" / "cdktf.out"
    (outdir / "stacks" / "consumer").mkdir(parents=True)
    (outdir / "manifest.json").write_text('{"stacks": {}}\n')
    (outdir / "stacks" / "consumer" / "cdk.tf.json").write_text('{"resource": {}}\n')
    return outdir


def test_main_exits_2_and_prints_every_problem_and_no_traceback(
    broken_repo: Path, tmp_path: Path
) -> None:
    completed = run_main(broken_repo, tmp_path / "cdktf.out", MAIN_TIMEOUT_SECONDS)

    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.splitlines() == [
        f"error: platform.yaml: colour: unknown key; allowed: {PROJECT_KEYS}",
        f"error: {CONSUMER}: scaling.max_tasks: must be at least 1; got -1",
        "2 problem(s); nothing was written.",
    ]


def test_readme_bad_spec_example_is_what_main_prints(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    example = readme.split("\n$ make synth\n", 1)[1].split("```", 1)[0].splitlines()
    root = repo_copy()
    set_key(CONSUMER, "scaling.min_tasks", 5)(root)
    set_key(CONSUMER, "scaling.max_tasks", 2)(root)

    completed = run_main(root, tmp_path / "cdktf.out", MAIN_TIMEOUT_SECONDS)

    assert completed.returncode == 2
    assert completed.stderr.splitlines() == example


def test_main_with_a_bad_config_leaves_the_previous_output_untouched(
    broken_repo: Path, previous_output: Path
) -> None:
    before = tree(previous_output)

    completed = run_main(broken_repo, previous_output, MAIN_TIMEOUT_SECONDS)

    assert completed.returncode == 2
    assert tree(previous_output) == before


@pytest.mark.slow
def test_main_with_a_good_config_exits_0_and_writes_every_stack(
    repo_copy: Callable[[], Path], previous_output: Path
) -> None:
    root = repo_copy()

    completed = run_main(root, previous_output, SYNTH_TIMEOUT_SECONDS)

    assert completed.returncode == 0, completed.stderr
    config = load_config(root)
    written = sorted(path.parent.name for path in previous_output.glob("stacks/*/cdk.tf.json"))
    assert written == sorted(["cluster", "logs", *(service.name for service in config.services)])
