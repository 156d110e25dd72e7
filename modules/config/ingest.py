"""Ingest APIs (`kind: ingest`): an HTTPS API in front of a consumer's queue, with who may call
it, how much, and what a body must look like."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from modules.config.base import (
    COGNITO_CLIENT_ID_PATTERN,
    COGNITO_ISSUER_PATTERN,
    NAME_PATTERN,
    FieldError,
    Strict,
    _repeated,
    elide,
    quote,
)
from modules.config.services import LogsSpec, SpecBase
from modules.ingest_contract import (
    DEFAULT_REQUEST_SCHEMA,
    JSON_SCHEMA_DRAFT_4,
    Route,
    check_request_schema,
)

# How much of a schema problem a message shows.
SCHEMA_PROBLEM_CHARS = 240


def _unique_items(value: list[str]) -> list[str]:
    """A list's validator: no item twice."""
    repeated = _repeated(value)
    if repeated:
        raise ValueError(f"must be unique; listed more than once: {repeated}")
    return value


class IamAuth(Strict):
    """Callers sign each request with AWS Signature Version 4; their IAM policies must allow
    `execute-api:Invoke` on the API (the stack's `execution_arn` output)."""

    type: Literal["iam"] = Field("iam", description="IAM principals (SigV4-signed requests).")


class JwtAuth(Strict):
    """Callers send an ID token of an Amazon Cognito user pool in the Authorization header.
    API Gateway checks its signature, expiry and issuer, and that its `aud` is one of
    `audiences`. The pool is in this account. Why Cognito only: docs/http-ingest.md."""

    type: Literal["jwt"] = Field(description="JSON Web Tokens of a Cognito user pool.")
    issuer: str = Field(
        pattern=COGNITO_ISSUER_PATTERN, description="The token issuer, as in its `iss` claim."
    )
    audiences: Annotated[
        list[Annotated[str, Field(pattern=COGNITO_CLIENT_ID_PATTERN)]],
        AfterValidator(_unique_items),
    ] = Field(min_length=1, max_length=50, description="App client ids a token's `aud` may name.")

    @property
    def user_pool_id(self) -> str:
        return self.issuer.rsplit("/", 1)[1]

    @property
    def user_pool_region(self) -> str:
        return self.user_pool_id.split("_", 1)[0]


# Periods a usage plan's quota counts over.
QUOTA_PERIODS = ("DAY", "WEEK", "MONTH")


class QuotaSpec(Strict):
    """How many requests one API key may make per period (API Gateway usage plan quota)."""

    limit: int = Field(100_000, ge=1, description="Requests per period and key. Default: 100000.")
    period: str = Field("DAY", description="DAY, WEEK or MONTH. Default: DAY.")

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        if value not in QUOTA_PERIODS:
            raise ValueError(f"must be one of {', '.join(QUOTA_PERIODS)}")
        return value


class ApiKeyAuth(Strict):
    """Callers send an API key in the `x-api-key` header. Each client gets its own key, all in
    one usage plan that throttles each key like the API and caps it with a quota."""

    type: Literal["api-key"] = Field(description="API keys in a usage plan.")
    clients: Annotated[
        list[Annotated[str, Field(pattern=NAME_PATTERN)]], AfterValidator(_unique_items)
    ] = Field(
        default_factory=lambda: ["default"],
        min_length=1,
        max_length=50,
        description='One API key per client, named <project>-<api>-<client>. Default: ["default"].',
    )
    quota: QuotaSpec = Field(default_factory=QuotaSpec, description="Requests per key and period.")


class ThrottleSpec(Strict):
    """What the API accepts from all callers together (API Gateway's token bucket); more: 429."""

    rate_per_second: float = Field(
        50, gt=0, le=10_000, description="Requests per second, sustained. Default: 50."
    )
    burst: int = Field(
        100, gt=0, le=5_000, description="Requests at once above the rate. Default: 100."
    )


# The most WAF inspects of a REST API's body (64 KiB; 16 KiB without extra charge).
MAX_INSPECTED_BODY_BYTES = 65_536


class IngestSpec(SpecBase):
    """An HTTPS API that writes each request straight into a consumer's queue: API Gateway calls
    SQS SendMessage itself, no code in between. It runs no containers; its `logs` group receives
    the API's access logs. Reference and curls: docs/http-ingest.md."""

    kind: Literal["ingest"] = Field(description="An HTTPS API in front of a consumer's queue.")
    feeds: str = Field(
        pattern=NAME_PATTERN, description="Name of the consumer whose queue receives the messages."
    )
    routes: list[str] = Field(
        default_factory=lambda: [Route.MESSAGES.value],
        min_length=1,
        max_length=len(Route),
        description=(
            "'POST /messages' (a JSON body; answers its message id) and/or 'GET /queue' (the "
            'reference design\'s route: ?message=<text>; answers {"done": true}). '
            'Default: ["POST /messages"].'
        ),
    )
    auth: IamAuth | JwtAuth | ApiKeyAuth = Field(
        default_factory=IamAuth,
        discriminator="type",
        description="Who may call it: `iam`, `jwt` or `api-key`.",
    )
    throttle: ThrottleSpec = Field(
        default_factory=ThrottleSpec, description="Requests it accepts from all callers together."
    )
    max_body_bytes: int = Field(
        16_384,
        ge=1,
        le=MAX_INSPECTED_BODY_BYTES,
        description=(
            "Largest body POST /messages accepts; a larger one gets 413 (AWS WAF enforces it). "
            "Default: 16384."
        ),
    )
    request_schema: dict[str, Any] | None = Field(
        None,
        description=(
            "JSON Schema (draft 4) each POST /messages body must match; one that does not gets "
            "400. Default: any JSON object."
        ),
    )
    logs: LogsSpec = Field(default_factory=LogsSpec, description="The API's access log group.")

    @field_validator("routes")
    @classmethod
    def _known_routes(cls, value: list[str]) -> list[str]:
        allowed = [route.value for route in Route]
        for index, route in enumerate(value):
            if route not in allowed:
                raise FieldError(
                    str(index),
                    f"must be one of {', '.join(map(repr, allowed))}; got {quote(route)}",
                )
        return _unique_items(value)

    @field_validator("request_schema")
    @classmethod
    def _draft_4(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                check_request_schema(value)
            except ValueError as error:
                # jsonschema's message repeats the offending part of the schema, however large.
                raise ValueError(elide(str(error), SCHEMA_PROBLEM_CHARS)) from None
        return value

    @model_validator(mode="after")
    def _schema_needs_its_route(self) -> IngestSpec:
        if self.request_schema is not None and Route.MESSAGES not in self.routes:
            raise FieldError(
                "request_schema",
                f"applies to {Route.MESSAGES.value}, which routes does not list",
            )
        return self

    @property
    def body_schema(self) -> dict[str, Any]:
        """The schema POST /messages bodies are validated against (draft 4, with its $schema)."""
        schema = DEFAULT_REQUEST_SCHEMA if self.request_schema is None else self.request_schema
        return {"$schema": JSON_SCHEMA_DRAFT_4, **schema}
