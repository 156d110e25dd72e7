"""An ingest API: an API Gateway REST API whose routes write straight into one SQS queue.

Why a REST API and not an HTTP API with the `SQS-SendMessage` integration subtype, although the
latter is cheaper and simpler: the contract needs what only REST APIs have.
- Request validation against a JSON Schema model, so a body that fails it gets a 400 and never
  reaches SQS; HTTP APIs forward any body.
- API keys with usage plans (per-key throttling and quotas): HTTP APIs have none.
- Mapping templates on the response, so POST /messages answers `{"message_id": ...}` and every
  error is the same small JSON; an HTTP API passes SQS's own response through.
- AWS WAF, which enforces the body size limit and the "a POST has a body" rule at the edge
  (modules/constructs/body_limits.py): WAF attaches to REST API stages, not to HTTP APIs.
What REST APIs lack is a JWT authorizer for any OIDC issuer in Terraform's AWS provider; `jwt`
uses the Cognito user pool authorizer, which checks the token and matches its `aud` against
the configured app clients (docs/http-ingest.md).

Requests that AWS WAF, routing, authentication, throttling or validation refuse never reach the
integration. API Gateway serves HTTPS only: there is no plain-HTTP listener to turn off.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from modules.cdk import Construct, Fn, aws
from modules.config import ApiKeyAuth, IamAuth, JwtAuth
from modules.iam import Statement, role_with_policy
from modules.ingest_contract import (
    IDEMPOTENCY_ATTRIBUTE,
    IDEMPOTENCY_HEADER,
    INVALID_BODY,
    JSON,
    METHOD_NOT_ALLOWED,
    MISSING_MESSAGE,
    NOT_FOUND,
    QUEUE_REJECTED,
    QUEUE_ROUTE_PARAMETER,
    QUEUE_ROUTE_REPLY,
    QUEUE_UNAVAILABLE,
    STAGE,
    UNSUPPORTED_MEDIA_TYPE,
    ErrorReply,
    Route,
    message_id_reply,
)
from modules.naming import resource_name

if TYPE_CHECKING:
    from collections.abc import Callable

    from modules.aws_context import AwsContext
    from modules.config import IngestSpec

# The only action the integration needs; SendMessageBatch would be authorized by it too, and the
# templates never call it.
SEND_ACTIONS = ("sqs:SendMessage",)
API_GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
FORM = "application/x-www-form-urlencoded"

# SQS's query API takes a form-encoded body; `$util.urlEncode` makes any JSON text safe in it.
# The client's Idempotency-Key header becomes the message attribute the consumer's runtime reads
# (HTTP/2 clients send header names in lower case, hence both spellings). `#{end}` rather than
# `#end`, because text follows it directly.
_IDEMPOTENCY_KEY = (
    f"#set($key = $input.params().header.get('{IDEMPOTENCY_HEADER}'))"
    f'#if("$!key" == "")#set($key = $input.params().header.get('
    f"'{IDEMPOTENCY_HEADER.lower()}'))#{{end}}"
)
_IDEMPOTENCY_ATTRIBUTE = (
    f'#if("$!key" != "")&MessageAttribute.1.Name={IDEMPOTENCY_ATTRIBUTE}'
    "&MessageAttribute.1.Value.DataType=String"
    "&MessageAttribute.1.Value.StringValue=$util.urlEncode($key)#{end}"
)


def send_message_template(body: str) -> str:
    """The integration request: SendMessage with `body` (a VTL expression) as the message."""
    return (
        f"{_IDEMPOTENCY_KEY}Action=SendMessage&MessageBody=$util.urlEncode({body})"
        f"{_IDEMPOTENCY_ATTRIBUTE}"
    )


# What each route sends and answers. SQS answers JSON when asked (Accept below).
SEND_TEMPLATES = {
    Route.MESSAGES: send_message_template("$input.body"),
    Route.QUEUE: send_message_template(f"$input.params('{QUEUE_ROUTE_PARAMETER}')"),
}
SUCCESS_TEMPLATES = {
    Route.MESSAGES: message_id_reply(
        "$input.path('$.SendMessageResponse.SendMessageResult.MessageId')"
    ),
    Route.QUEUE: QUEUE_ROUTE_REPLY,
}
# The prefix of each route's construct ids, fixed here rather than derived from the member's name:
# construct ids are part of Terraform addresses in applied states, and a changed one would
# replace the route's resources.
ROUTE_CONSTRUCT_IDS = {Route.MESSAGES: "messages", Route.QUEUE: "seed"}
# SQS's 400s are about the message (e.g. characters SQS does not allow); any other failure
# (access denied, throttled, unavailable) is the platform's, for the client to retry.
QUEUE_REJECTED_PATTERN = "400"
QUEUE_UNAVAILABLE_PATTERN = "(40[1-9]|4[1-9][0-9]|5[0-9][0-9])"

# Everything API Gateway refuses by itself (authentication, throttling, quotas, ...) answers
# the same JSON shape, with API Gateway's response type as the code.
GENERIC_ERROR_TEMPLATE = (
    '{"error": "$context.error.responseType", "message": $context.error.messageString}'
)

# One JSON line per request in the access log. No free-text error variables: they may hold
# quotes, which would break the line's JSON.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "apiKeyId": "$context.identity.apiKeyId",
    "subject": "$context.authorizer.claims.sub",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "errorType": "$context.error.responseType",
    "wafResponseCode": "$context.wafResponseCode",
    "integrationStatus": "$context.integration.status",
    "integrationLatency": "$context.integration.latency",
    "xrayTraceId": "$context.xrayTraceId",
}
ACCESS_LOG_FORMAT = json.dumps(ACCESS_LOG_FIELDS, sort_keys=True)


@dataclass(frozen=True)
class IngestApiProps:
    """What an ingest API needs.

    name: prefix of its resource names (`<project>-<api>`).
    spec: the API's spec: routes, auth, throttle, request schema.
    queue_arn: the queue it sends to (the consumer's remote-state output).
    log_group_arn: the access log group (the logs stack creates it).
    aws: where it runs: the Region and partition of the SQS integration, and the account
        whose Cognito user pool a `jwt` authorizer names.
    """

    name: str
    spec: IngestSpec
    queue_arn: str
    log_group_arn: str
    aws: AwsContext


@dataclass(frozen=True)
class MethodAuth:
    """How every method of the API authenticates its callers."""

    authorization: str
    authorizer_id: str | None = None
    api_key_required: bool = False


@dataclass(frozen=True)
class Answer:
    """One integration response and the method response it maps to."""

    status: int
    template: str
    selection_pattern: str | None = None  # None: the default answer
    headers: tuple[tuple[str, str], ...] = ()  # (header, static value)


class IngestApi(Construct):
    """A regional REST API with one stage, sending each accepted request to one SQS queue.

    Public fields: `integration_role`, `rest_api`, `validators` (by what they validate: `body`,
    `parameters`), `deployment`, `stage`, `method_settings`;
    with `jwt` auth `authorizer`, with `api-key` auth `usage_plan` and `api_keys` (by client);
    None otherwise.
    """

    def __init__(self, scope: Construct, construct_id: str, props: IngestApiProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        spec = props.spec
        # The spec and the static text of every route, template and response: whatever changes
        # in what the deployment snapshots changes this, and so redeploys the stage.
        self._definition: list[Any] = [spec.model_dump(mode="json")]
        self._deployed: list[Any] = []  # resources the deployment must wait for

        self.integration_role = self._integration_role()
        self.rest_api = aws.api_gateway_rest_api.ApiGatewayRestApi(
            self,
            "rest_api",
            name=props.name,
            description=spec.description or f"Writes requests into the queue of {spec.feeds}.",
            endpoint_configuration=aws.api_gateway_rest_api.ApiGatewayRestApiEndpointConfiguration(
                types=["REGIONAL"]
            ),
            api_key_source="HEADER",
            # A rename replaces the API: the new one first, so the stage never points nowhere.
            lifecycle={"create_before_destroy": True},
        )
        # Read once: every read of a resource attribute is a round trip to the jsii kernel.
        self.rest_api_id: str = self.rest_api.id
        self._root_resource_id: str = self.rest_api.root_resource_id
        self.authorizer: aws.api_gateway_authorizer.ApiGatewayAuthorizer | None = None
        self.usage_plan: aws.api_gateway_usage_plan.ApiGatewayUsagePlan | None = None
        self.api_keys: dict[str, aws.api_gateway_api_key.ApiGatewayApiKey] = {}
        self.auth = _METHOD_AUTH[type(spec.auth)](self)

        self._gateway_responses()
        self.validators = self._request_validators()
        self._validator_ids = {kind: validator.id for kind, validator in self.validators.items()}
        self._routes()
        self.deployment, self.stage, self.method_settings = self._stage()
        if isinstance(spec.auth, ApiKeyAuth):
            self._usage_plan(spec.auth)

    def _integration_role(self) -> aws.iam_role.IamRole:
        """The role the integration sends with: SendMessage on this queue only."""
        return role_with_policy(
            self,
            "integration_role",
            name=resource_name(self.props.name, "sqs-send"),
            service=API_GATEWAY_PRINCIPAL,
            # Only this queue; no KMS statement: the queues use SSE-SQS, not a customer key.
            # No aws:SourceArn condition: API Gateway documents none for integration roles,
            # and a condition on a key the service does not supply fails closed. Attaching the
            # role to an integration needs iam:PassRole on it, in this account.
            statements=(
                Statement(
                    sid="SendToQueue", actions=SEND_ACTIONS, resources=(self.props.queue_arn,)
                ),
            ),
        )

    def _request_validators(
        self,
    ) -> dict[str, aws.api_gateway_request_validator.ApiGatewayRequestValidator]:
        """One validator of bodies, one of parameters, by what they validate."""
        return {
            kind: aws.api_gateway_request_validator.ApiGatewayRequestValidator(
                self,
                f"{kind}_validator",
                name=resource_name(self.props.name, kind),
                rest_api_id=self.rest_api_id,
                validate_request_body=kind == "body",
                validate_request_parameters=kind == "parameters",
            )
            for kind in ("body", "parameters")
        }

    # --- authentication -----------------------------------------------------------------------

    def _iam(self) -> MethodAuth:
        return MethodAuth("AWS_IAM")

    def _jwt(self) -> MethodAuth:
        props = self.props
        auth = props.spec.auth
        assert isinstance(auth, JwtAuth)
        self.authorizer = aws.api_gateway_authorizer.ApiGatewayAuthorizer(
            self,
            "authorizer",
            name=resource_name(props.name, "cognito"),
            rest_api_id=self.rest_api_id,
            type="COGNITO_USER_POOLS",
            provider_arns=[
                props.aws.arn(
                    "cognito-idp", f"userpool/{auth.user_pool_id}", region=auth.user_pool_region
                )
            ],
            identity_source="method.request.header.Authorization",
            # For a Cognito authorizer API Gateway matches this against the token's `aud`.
            identity_validation_expression=(
                "^(" + "|".join(re.escape(audience) for audience in auth.audiences) + ")$"
            ),
        )
        return MethodAuth("COGNITO_USER_POOLS", authorizer_id=self.authorizer.id)

    def _api_key(self) -> MethodAuth:
        return MethodAuth("NONE", api_key_required=True)

    def _usage_plan(self, auth: ApiKeyAuth) -> None:
        props = self.props
        throttle = props.spec.throttle
        plan = aws.api_gateway_usage_plan
        self.usage_plan = plan.ApiGatewayUsagePlan(
            self,
            "usage_plan",
            name=resource_name(props.name, "clients"),
            description="Each client's key: throttled like the API, capped by the quota.",
            api_stages=[
                plan.ApiGatewayUsagePlanApiStages(
                    api_id=self.rest_api_id, stage=self.stage.stage_name
                )
            ],
            throttle_settings=plan.ApiGatewayUsagePlanThrottleSettings(
                rate_limit=throttle.rate_per_second, burst_limit=throttle.burst
            ),
            quota_settings=plan.ApiGatewayUsagePlanQuotaSettings(
                limit=auth.quota.limit, period=auth.quota.period
            ),
        )
        usage_plan_id = self.usage_plan.id
        for client in auth.clients:
            construct_id = client.replace("-", "_")
            # API Gateway generates the value; it stays in Terraform state, never in outputs.
            key = aws.api_gateway_api_key.ApiGatewayApiKey(
                self,
                f"{construct_id}_api_key",
                name=resource_name(props.name, client),
                description=f"The API key of client {client}.",
                enabled=True,
            )
            aws.api_gateway_usage_plan_key.ApiGatewayUsagePlanKey(
                self,
                f"{construct_id}_usage_plan_key",
                key_id=key.id,
                key_type="API_KEY",
                usage_plan_id=usage_plan_id,
            )
            self.api_keys[client] = key

    # --- routes -------------------------------------------------------------------------------

    def _routes(self) -> None:
        """The spec's routes, 405 on their other methods, 404 everywhere else."""
        for route in (Route(route) for route in self.props.spec.routes):
            resource = aws.api_gateway_resource.ApiGatewayResource(
                self,
                f"{ROUTE_CONSTRUCT_IDS[route]}_resource",
                rest_api_id=self.rest_api_id,
                parent_id=self._root_resource_id,
                path_part=route.path.lstrip("/"),
            )
            resource_id = resource.id
            self._send_route(route, resource_id)
            self._refusal(
                f"{ROUTE_CONSTRUCT_IDS[route]}_other_methods",
                resource_id,
                METHOD_NOT_ALLOWED,
                headers=(("Allow", route.method),),
            )
        anywhere = aws.api_gateway_resource.ApiGatewayResource(
            self,
            "unknown_resource",
            rest_api_id=self.rest_api_id,
            parent_id=self._root_resource_id,
            path_part="{proxy+}",
        )
        self._refusal("unknown_route", anywhere.id, NOT_FOUND)
        self._refusal("root", self._root_resource_id, NOT_FOUND)

    def _send_route(self, route: Route, resource_id: str) -> None:
        """The route's method: validated, then SendMessage on the queue (integration role)."""
        props = self.props
        request: dict[str, Any]
        if route is Route.MESSAGES:
            model = aws.api_gateway_model.ApiGatewayModel(
                self,
                "body_model",
                name="MessageBody",
                rest_api_id=self.rest_api_id,
                content_type=JSON,
                description="The JSON Schema (draft 4) every POST /messages body must match.",
                schema=json.dumps(props.spec.body_schema, sort_keys=True),
            )
            self._definition.append(props.spec.body_schema)
            request = {
                "request_validator_id": self._validator_ids["body"],
                "request_models": {JSON: model.name},
            }
        else:
            request = {
                "request_validator_id": self._validator_ids["parameters"],
                "request_parameters": {f"method.request.querystring.{QUEUE_ROUTE_PARAMETER}": True},
            }
        # SQS's path-style URI names the queue by account and name: both from the ARN the role
        # is scoped to (arn:<partition>:sqs:<region>:<account>:<name>), one source for the two.
        account, queue_name = (
            Fn.element(Fn.split(":", props.queue_arn), index) for index in (4, 5)
        )
        self._method(
            ROUTE_CONSTRUCT_IDS[route],
            resource_id,
            route.method,
            request=request,
            integration={
                "type": "AWS",
                "integration_http_method": "POST",
                # An integration URI has the integrated service where an ARN has the account.
                "uri": props.aws.arn("apigateway", f"path/{account}/{queue_name}", account="sqs"),
                "credentials": self.integration_role.arn,
                "request_parameters": {
                    "integration.request.header.Content-Type": f"'{FORM}'",
                    "integration.request.header.Accept": f"'{JSON}'",
                },
                "request_templates": {JSON: SEND_TEMPLATES[route]},
                # A body in any other media type gets 415 and is not sent.
                "passthrough_behavior": "NEVER",
            },
            answers=(
                Answer(200, SUCCESS_TEMPLATES[route]),
                Answer(QUEUE_REJECTED.status, QUEUE_REJECTED.body, QUEUE_REJECTED_PATTERN),
                Answer(QUEUE_UNAVAILABLE.status, QUEUE_UNAVAILABLE.body, QUEUE_UNAVAILABLE_PATTERN),
            ),
        )

    def _refusal(
        self,
        construct_id: str,
        resource_id: str,
        reply: ErrorReply,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """ANY method answering `reply` from a mock integration (no backend), after auth."""
        self._method(
            construct_id,
            resource_id,
            "ANY",
            # Nothing to validate before a refusal; the validator keeps every method validated,
            # so checkov's rule still catches a real method added without one.
            request={"request_validator_id": self._validator_ids["parameters"]},
            integration={
                "type": "MOCK",
                "request_templates": {JSON: json.dumps({"statusCode": reply.status})},
            },
            # The default answer: whatever the mock returns, the client gets `reply`.
            answers=(Answer(reply.status, reply.body, None, headers),),
        )

    def _method(
        self,
        construct_id: str,
        resource_id: str,
        http_method: str,
        *,
        request: dict[str, Any],
        integration: dict[str, Any],
        answers: tuple[Answer, ...],
    ) -> None:
        """A method with its integration and the answers it maps the integration's to."""
        auth = self.auth
        method = aws.api_gateway_method.ApiGatewayMethod(
            self,
            f"{construct_id}_method",
            rest_api_id=self.rest_api_id,
            resource_id=resource_id,
            http_method=http_method,
            authorization=auth.authorization,
            authorizer_id=auth.authorizer_id,
            api_key_required=auth.api_key_required or None,
            **request,
        )
        method_name = method.http_method  # a reference: each answer waits for the method
        wired = aws.api_gateway_integration.ApiGatewayIntegration(
            self,
            f"{construct_id}_integration",
            rest_api_id=self.rest_api_id,
            resource_id=resource_id,
            http_method=method_name,
            **integration,
        )
        static = {
            key: value for key, value in integration.items() if key not in ("uri", "credentials")
        }
        self._definition.append(
            [construct_id, http_method, request.get("request_parameters"), static]
        )
        for answer in answers:
            self._answer(construct_id, resource_id, method_name, answer, wired)
        self._deployed.append(wired)

    def _answer(
        self,
        construct_id: str,
        resource_id: str,
        method_name: str,
        answer: Answer,
        integration: aws.api_gateway_integration.ApiGatewayIntegration,
    ) -> None:
        """One method response and the integration response that maps to it."""
        status = str(answer.status)
        method_response = aws.api_gateway_method_response.ApiGatewayMethodResponse(
            self,
            f"{construct_id}_{status}",
            rest_api_id=self.rest_api_id,
            resource_id=resource_id,
            http_method=method_name,
            status_code=status,
            response_parameters={
                f"method.response.header.{header}": True for header, _ in answer.headers
            }
            or None,
        )
        response = aws.api_gateway_integration_response.ApiGatewayIntegrationResponse(
            self,
            f"{construct_id}_{status}_mapping",
            rest_api_id=self.rest_api_id,
            resource_id=resource_id,
            http_method=method_name,
            status_code=method_response.status_code,
            selection_pattern=answer.selection_pattern,
            response_templates={JSON: answer.template},
            response_parameters={
                f"method.response.header.{header}": f"'{value}'" for header, value in answer.headers
            }
            or None,
            depends_on=[integration],
        )
        self._definition.append([construct_id, asdict(answer)])
        self._deployed.append(response)

    def _gateway_responses(self) -> None:
        """JSON for what API Gateway refuses itself; the contract's replies where it has one."""
        replies: dict[str, ErrorReply | None] = {
            "DEFAULT_4XX": None,
            "DEFAULT_5XX": None,
            "BAD_REQUEST_BODY": INVALID_BODY,
            "BAD_REQUEST_PARAMETERS": MISSING_MESSAGE,
            "UNSUPPORTED_MEDIA_TYPE": UNSUPPORTED_MEDIA_TYPE,
        }
        for response_type, reply in replies.items():
            template = GENERIC_ERROR_TEMPLATE if reply is None else reply.body
            response = aws.api_gateway_gateway_response.ApiGatewayGatewayResponse(
                self,
                f"{response_type.lower()}_response",
                rest_api_id=self.rest_api_id,
                response_type=response_type,
                status_code=None if reply is None else str(reply.status),
                response_templates={JSON: template},
            )
            self._definition.append([response_type, template])
            self._deployed.append(response)

    # --- stage --------------------------------------------------------------------------------

    def _stage(
        self,
    ) -> tuple[
        aws.api_gateway_deployment.ApiGatewayDeployment,
        aws.api_gateway_stage.ApiGatewayStage,
        aws.api_gateway_method_settings.ApiGatewayMethodSettings,
    ]:
        props = self.props
        throttle = props.spec.throttle
        digest = hashlib.sha256(json.dumps(self._definition, sort_keys=True).encode()).hexdigest()
        deployment = aws.api_gateway_deployment.ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=self.rest_api_id,
            description="The routes, templates and responses of this revision.",
            # A deployment is a snapshot: any change to what it covers needs a new one, made
            # before the stage moves to it and the old one goes.
            triggers={"definition": digest},
            lifecycle={"create_before_destroy": True},
            depends_on=self._deployed,
        )
        stage = aws.api_gateway_stage.ApiGatewayStage(
            self,
            "stage",
            rest_api_id=self.rest_api_id,
            deployment_id=deployment.id,
            stage_name=STAGE,
            description="Access logs to the API's log group in the logs stack; metrics; tracing.",
            xray_tracing_enabled=True,
            access_log_settings=aws.api_gateway_stage.ApiGatewayStageAccessLogSettings(
                destination_arn=props.log_group_arn, format=ACCESS_LOG_FORMAT
            ),
        )
        settings = aws.api_gateway_method_settings.ApiGatewayMethodSettings(
            self,
            "method_settings",
            rest_api_id=self.rest_api_id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings=aws.api_gateway_method_settings.ApiGatewayMethodSettingsSettings(
                metrics_enabled=True,
                # No execution logs: the access log holds each request's outcome, including the
                # integration's status, without API Gateway creating unmanaged log groups.
                logging_level="OFF",
                throttling_rate_limit=throttle.rate_per_second,
                throttling_burst_limit=throttle.burst,
            ),
        )
        return deployment, stage, settings


# How each kind of `auth` makes the methods authenticate (a lookup table, not an if/elif chain).
_METHOD_AUTH: dict[type, Callable[[IngestApi], MethodAuth]] = {
    IamAuth: IngestApi._iam,
    JwtAuth: IngestApi._jwt,
    ApiKeyAuth: IngestApi._api_key,
}
