"""The ingest stack: REST API, integration mapping, role, throttling per auth mode, WAF body
rules, stage and access logs, and what the logs stack adds for it.

Most tests read the repository's own API (workers/ingest: iam auth, both routes, a schema); the
jwt and api-key variants synthesize a modified copy.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from devtools.terraform_offline import OfflineValidator, Toolchain, ToolchainMissing
from modules.cdk import aws
from modules.config import IngestSpec, load_config
from modules.constructs.body_limits import inspection_limit
from modules.constructs.ingest_api import ACCESS_LOG_FIELDS, ROUTE_CONSTRUCT_IDS, SEND_TEMPLATES
from modules.ingest_contract import (
    BODY_REQUIRED,
    IDEMPOTENCY_ATTRIBUTE,
    INVALID_BODY,
    METHOD_NOT_ALLOWED,
    MISSING_MESSAGE,
    NOT_FOUND,
    QUEUE_REJECTED,
    QUEUE_UNAVAILABLE,
    UNSUPPORTED_MEDIA_TYPE,
    Route,
    body_too_large,
)
from modules.stacks import ingest
from tests.infra.stack_json import (
    ACCOUNT,
    PARTITION,
    ROLE,
    ROLE_POLICY,
    data_sources,
    only_resource,
    policy_statements,
    reference,
    remote_output,
    resources,
    synth_stacks,
)
from workers.runtime.message import IDEMPOTENCY_KEY_ATTRIBUTE

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from modules.config import PlatformConfig
    from tests.infra.stack_json import Stack

REST_API = aws.api_gateway_rest_api.ApiGatewayRestApi.TF_RESOURCE_TYPE
RESOURCE = aws.api_gateway_resource.ApiGatewayResource.TF_RESOURCE_TYPE
METHOD = aws.api_gateway_method.ApiGatewayMethod.TF_RESOURCE_TYPE
INTEGRATION = aws.api_gateway_integration.ApiGatewayIntegration.TF_RESOURCE_TYPE
INTEGRATION_RESPONSE = (
    aws.api_gateway_integration_response.ApiGatewayIntegrationResponse.TF_RESOURCE_TYPE
)
METHOD_RESPONSE = aws.api_gateway_method_response.ApiGatewayMethodResponse.TF_RESOURCE_TYPE
GATEWAY_RESPONSE = aws.api_gateway_gateway_response.ApiGatewayGatewayResponse.TF_RESOURCE_TYPE
MODEL = aws.api_gateway_model.ApiGatewayModel.TF_RESOURCE_TYPE
VALIDATOR = aws.api_gateway_request_validator.ApiGatewayRequestValidator.TF_RESOURCE_TYPE
DEPLOYMENT = aws.api_gateway_deployment.ApiGatewayDeployment.TF_RESOURCE_TYPE
STAGE = aws.api_gateway_stage.ApiGatewayStage.TF_RESOURCE_TYPE
METHOD_SETTINGS = aws.api_gateway_method_settings.ApiGatewayMethodSettings.TF_RESOURCE_TYPE
AUTHORIZER = aws.api_gateway_authorizer.ApiGatewayAuthorizer.TF_RESOURCE_TYPE
USAGE_PLAN = aws.api_gateway_usage_plan.ApiGatewayUsagePlan.TF_RESOURCE_TYPE
USAGE_PLAN_KEY = aws.api_gateway_usage_plan_key.ApiGatewayUsagePlanKey.TF_RESOURCE_TYPE
API_KEY = aws.api_gateway_api_key.ApiGatewayApiKey.TF_RESOURCE_TYPE
ACCOUNT_SETTINGS = aws.api_gateway_account.ApiGatewayAccount.TF_RESOURCE_TYPE
WEB_ACL = aws.wafv2_web_acl.Wafv2WebAcl.TF_RESOURCE_TYPE
WEB_ACL_ASSOCIATION = aws.wafv2_web_acl_association.Wafv2WebAclAssociation.TF_RESOURCE_TYPE
LOG_GROUP = aws.cloudwatch_log_group.CloudwatchLogGroup.TF_RESOURCE_TYPE

QUEUE_ARN = remote_output("consumer", "queue_arn")
COGNITO_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
JSON = "application/json"


def body(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource without cdktf's metadata."""
    return {key: value for key, value in resource.items() if key != "//"}


def ref(stack: Stack, resource_type: str, construct_id: str, attribute: str) -> str:
    """The reference to the attribute of the resource whose construct id ends in `construct_id`."""
    return reference(resource_type, logical_id(stack, resource_type, construct_id), attribute)


def logical_id(stack: Stack, resource_type: str, construct_id: str) -> str:
    (found,) = [
        id_
        for id_, resource in resources(stack, resource_type).items()
        if resource["//"]["metadata"]["path"].endswith(f"/{construct_id}")
    ]
    return found


def by_construct(stack: Stack, resource_type: str) -> dict[str, dict[str, Any]]:
    """A type's resources by the last part of their construct path (`messages_method`)."""
    return {
        resource["//"]["metadata"]["path"].rsplit("/", 1)[1]: body(resource)
        for resource in resources(stack, resource_type).values()
    }


def with_api(make_copy: Callable[[], Path], tmp_path: Path, **fields: Any) -> dict[str, Stack]:
    """Every stack of a repository copy whose ingest API has `fields` changed."""
    return synth_with(make_copy(), tmp_path, **fields)


def synth_with(root: Path, outdir: Path, **fields: Any) -> dict[str, Stack]:
    """Every stack of the copy at `root`, its ingest API's `fields` changed, synthesized below
    `outdir`."""
    spec_path = root / "workers" / "ingest" / "service.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec_path.write_text(yaml.safe_dump({**spec, **fields}))
    return synth_stacks(load_config(root), outdir / "cdktf.out")


@pytest.fixture
def jwt_stack(repo_copy: Callable[[], Path], tmp_path: Path) -> Stack:
    auth = {"type": "jwt", "issuer": COGNITO_ISSUER, "audiences": ["web1client", "partner+2"]}
    return with_api(repo_copy, tmp_path, auth=auth)["ingest"]


@pytest.fixture
def api_key_stack(repo_copy: Callable[[], Path], tmp_path: Path) -> Stack:
    auth = {
        "type": "api-key",
        "clients": ["acme", "globex"],
        "quota": {"limit": 500, "period": "WEEK"},
    }
    return with_api(repo_copy, tmp_path, auth=auth)["ingest"]


# --- the API and its routes ---------------------------------------------------------------------


def test_a_regional_rest_api_with_the_routes_and_a_catch_all(stacks: dict[str, Stack]) -> None:
    # Given the repository's API: POST /messages and GET /queue
    stack = stacks["ingest"]

    # When synthesized
    api = body(only_resource(stack, REST_API))
    paths = sorted(resource["path_part"] for resource in by_construct(stack, RESOURCE).values())

    # Then one regional REST API with /messages, /queue and {proxy+} below its root
    assert api["name"] == "workers-ingest"
    assert api["endpoint_configuration"] == {"types": ["REGIONAL"]}
    assert api["lifecycle"] == {"create_before_destroy": True}
    assert paths == ["messages", "queue", "{proxy+}"]


def test_post_messages_is_validated_against_the_specs_schema(
    stacks: dict[str, Stack], default_config: PlatformConfig
) -> None:
    # Given the API's request_schema (an object with a string id)
    stack = stacks["ingest"]
    api = default_config.service("ingest")
    assert isinstance(api, IngestSpec)

    # When reading POST /messages, its validator and its model
    method = by_construct(stack, METHOD)["messages_method"]
    validator = by_construct(stack, VALIDATOR)["body_validator"]
    model = by_construct(stack, MODEL)["body_model"]

    # Then the body is validated against the schema (draft 4) for JSON requests
    assert method["http_method"] == "POST"
    assert method["request_validator_id"] == ref(stack, VALIDATOR, "body_validator", "id")
    assert method["request_models"] == {JSON: ref(stack, MODEL, "body_model", "name")}
    assert (validator["validate_request_body"], validator["validate_request_parameters"]) == (
        True,
        False,
    )
    assert model["content_type"] == JSON
    assert api.request_schema is not None
    assert json.loads(model["schema"]) == {
        "$schema": "http://json-schema.org/draft-04/schema#",
        **api.request_schema,
    }


def test_get_queue_requires_the_message_parameter(stacks: dict[str, Stack]) -> None:
    stack = stacks["ingest"]

    method = by_construct(stack, METHOD)["seed_method"]

    assert method["http_method"] == "GET"
    assert method["request_parameters"] == {"method.request.querystring.message": True}
    assert method["request_validator_id"] == ref(stack, VALIDATOR, "parameters_validator", "id")


@pytest.mark.parametrize("route", list(Route))
def test_each_route_sends_to_the_consumers_queue_with_the_integration_role(
    stacks: dict[str, Stack], route: Route
) -> None:
    # Given a route of the repository's API
    stack = stacks["ingest"]
    name = ROUTE_CONSTRUCT_IDS[route]

    # When reading its integration
    integration = by_construct(stack, INTEGRATION)[f"{name}_integration"]

    # Then SQS's query API is called on the queue of the consumer's state, as the role, with the
    # form-encoded SendMessage of the route's template; any other media type is refused
    arn_part = 'element(split(":", data.terraform_remote_state.consumer_outputs.outputs.queue_arn)'
    assert integration == {
        "rest_api_id": ref(stack, REST_API, "rest_api", "id"),
        "resource_id": ref(stack, RESOURCE, f"{name}_resource", "id"),
        "http_method": ref(stack, METHOD, f"{name}_method", "http_method"),
        "type": "AWS",
        "integration_http_method": "POST",
        "uri": f"arn:{PARTITION}:apigateway:eu-west-1:sqs:path/${{{arn_part}, 4)}}/"
        f"${{{arn_part}, 5)}}",
        "credentials": ref(stack, ROLE, "integration_role", "arn"),
        "request_parameters": {
            "integration.request.header.Accept": "'application/json'",
            "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",
        },
        "request_templates": {JSON: SEND_TEMPLATES[route]},
        "passthrough_behavior": "NEVER",
    }


def test_the_templates_send_the_body_or_parameter_and_the_idempotency_key() -> None:
    # The message attribute is the one the consumer's runtime reads
    assert IDEMPOTENCY_ATTRIBUTE == IDEMPOTENCY_KEY_ATTRIBUTE
    for route, expression in (
        (Route.MESSAGES, "$input.body"),
        (Route.QUEUE, "$input.params('message')"),
    ):
        template = SEND_TEMPLATES[route]
        assert f"Action=SendMessage&MessageBody=$util.urlEncode({expression})" in template
        assert (
            "&MessageAttribute.1.Name=idempotency_key&MessageAttribute.1.Value.DataType=String"
            "&MessageAttribute.1.Value.StringValue=$util.urlEncode($key)"
        ) in template
        assert "header.get('Idempotency-Key')" in template
        assert "header.get('idempotency-key')" in template


def test_post_messages_answers_the_message_id_or_a_json_error(stacks: dict[str, Stack]) -> None:
    # Given POST /messages' integration responses
    responses = by_construct(stacks["ingest"], INTEGRATION_RESPONSE)

    # Then SQS's 200 becomes {"message_id": ...}, its 400 a rejected message, anything else a 502
    assert responses["messages_200_mapping"]["response_templates"] == {
        JSON: '{"message_id": "$input.path(\'$.SendMessageResponse.SendMessageResult.MessageId\')"}'
    }
    assert "selection_pattern" not in responses["messages_200_mapping"]
    assert responses["messages_400_mapping"]["selection_pattern"] == "400"
    assert responses["messages_400_mapping"]["response_templates"] == {JSON: QUEUE_REJECTED.body}
    assert responses["messages_502_mapping"]["selection_pattern"] == (
        "(40[1-9]|4[1-9][0-9]|5[0-9][0-9])"
    )
    assert responses["messages_502_mapping"]["response_templates"] == {JSON: QUEUE_UNAVAILABLE.body}
    assert responses["seed_200_mapping"]["response_templates"] == {JSON: '{"done": true}'}


@pytest.mark.parametrize(
    ("construct", "reply", "allow"),
    [
        ("messages_other_methods", METHOD_NOT_ALLOWED, "POST"),
        ("seed_other_methods", METHOD_NOT_ALLOWED, "GET"),
        ("unknown_route", NOT_FOUND, None),
        ("root", NOT_FOUND, None),
    ],
)
def test_other_methods_and_routes_get_405_or_404_from_a_mock(
    stacks: dict[str, Stack], construct: str, reply: Any, allow: str | None
) -> None:
    stack = stacks["ingest"]
    status = str(reply.status)

    method = by_construct(stack, METHOD)[f"{construct}_method"]
    integration = by_construct(stack, INTEGRATION)[f"{construct}_integration"]
    response = by_construct(stack, INTEGRATION_RESPONSE)[f"{construct}_{status}_mapping"]

    assert (method["http_method"], method["authorization"]) == ("ANY", "AWS_IAM")
    assert integration["type"] == "MOCK"
    assert response["response_templates"] == {JSON: reply.body}
    assert response.get("response_parameters") == (
        {"method.response.header.Allow": f"'{allow}'"} if allow else None
    )


def test_api_gateways_own_refusals_answer_the_contracts_json(stacks: dict[str, Stack]) -> None:
    responses = {
        response["response_type"]: response
        for response in by_construct(stacks["ingest"], GATEWAY_RESPONSE).values()
    }

    for response_type, reply in (
        ("BAD_REQUEST_BODY", INVALID_BODY),
        ("BAD_REQUEST_PARAMETERS", MISSING_MESSAGE),
        ("UNSUPPORTED_MEDIA_TYPE", UNSUPPORTED_MEDIA_TYPE),
    ):
        assert responses[response_type]["status_code"] == str(reply.status)
        assert responses[response_type]["response_templates"] == {JSON: reply.body}
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert "status_code" not in responses[response_type]
        assert responses[response_type]["response_templates"] == {
            JSON: '{"error": "$context.error.responseType", '
            '"message": $context.error.messageString}'
        }


# --- role ---------------------------------------------------------------------------------------


def test_the_integration_role_may_only_send_to_that_queue(stacks: dict[str, Stack]) -> None:
    # Given the ingest stack's only role
    stack = stacks["ingest"]
    role = body(only_resource(stack, ROLE))
    permissions = body(only_resource(stack, ROLE_POLICY))

    # Then API Gateway assumes it, and it allows sqs:SendMessage on the consumer's queue only
    assert role["name"] == "workers-ingest-sqs-send"
    trust = policy_statements(stack, role["assume_role_policy"])
    assert trust["AssumedByApigateway"]["principals"] == [
        {"type": "Service", "identifiers": ["apigateway.amazonaws.com"]}
    ]
    assert policy_statements(stack, permissions["policy"]) == {
        "SendToQueue": {
            "sid": "SendToQueue",
            "effect": "Allow",
            "actions": ["sqs:SendMessage"],
            "resources": [QUEUE_ARN],
        }
    }


def test_reads_only_its_consumers_outputs(stacks: dict[str, Stack]) -> None:
    remote = data_sources(stacks["ingest"], "terraform_remote_state")

    assert {name: source["config"] for name, source in remote.items()} == {
        "consumer_outputs": {"path": "../../../terraform-state/consumer.tfstate"}
    }


# --- stage, throttling, logs --------------------------------------------------------------------


def test_the_stage_logs_each_request_as_json_to_the_logs_stacks_group(
    stacks: dict[str, Stack],
) -> None:
    stage = body(only_resource(stacks["ingest"], STAGE))

    assert stage["stage_name"] == "v1"
    assert stage["xray_tracing_enabled"] is True
    settings = stage["access_log_settings"]
    assert settings["destination_arn"] == (
        f"arn:{PARTITION}:logs:eu-west-1:{ACCOUNT}:log-group:/workers/ingest"
    )
    assert json.loads(settings["format"]) == ACCESS_LOG_FIELDS
    groups = resources(stacks["logs"], LOG_GROUP).values()
    assert {"name": "/workers/ingest", "retention_in_days": 30} in [
        {key: group[key] for key in ("name", "retention_in_days")} for group in groups
    ]


def test_every_method_is_throttled_and_measured(stacks: dict[str, Stack]) -> None:
    settings = body(only_resource(stacks["ingest"], METHOD_SETTINGS))

    assert settings["method_path"] == "*/*"
    assert settings["settings"] == {
        "metrics_enabled": True,
        "logging_level": "OFF",
        "throttling_rate_limit": 50,
        "throttling_burst_limit": 100,
    }


def test_a_changed_spec_redeploys_the_stage(repo_copy: Callable[[], Path], tmp_path: Path) -> None:
    # Given the API synthesized as it is, and with another schema
    root = repo_copy()
    before = synth_with(root, tmp_path / "a")["ingest"]
    after = synth_with(root, tmp_path / "b", request_schema={"type": "object"})["ingest"]

    # Then the deployment's trigger differs (a new snapshot), made before the old one goes
    deployment = body(only_resource(before, DEPLOYMENT))
    assert deployment["lifecycle"] == {"create_before_destroy": True}
    assert deployment["triggers"] != body(only_resource(after, DEPLOYMENT))["triggers"]


def test_the_logs_stack_sets_the_accounts_api_gateway_logging_role(
    stacks: dict[str, Stack],
) -> None:
    stack = stacks["logs"]

    account = body(only_resource(stack, ACCOUNT_SETTINGS))
    (role_id,) = [
        id_
        for id_, role in resources(stack, ROLE).items()
        if role["name"] == "workers-api-gateway-logs"
    ]
    (policy,) = [p for p in resources(stack, ROLE_POLICY).values() if role_id in p["role"]]

    assert account == {"cloudwatch_role_arn": reference(ROLE, role_id, "arn")}
    logs = f"arn:{PARTITION}:logs:eu-west-1:{ACCOUNT}:log-group:"
    assert policy_statements(stack, policy["policy"])["WriteAccessLogs"]["resources"] == [
        f"{logs}*",
        f"{logs}*:log-stream:*",
    ]


def test_without_an_ingest_api_the_logs_stack_sets_no_account_role(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    root = repo_copy()
    (root / "workers" / "ingest" / "service.yaml").unlink()

    stacks = synth_stacks(load_config(root), tmp_path / "cdktf.out")

    assert "ingest" not in stacks
    assert resources(stacks["logs"], ACCOUNT_SETTINGS) == {}


# --- WAF: the body rules ------------------------------------------------------------------------


def test_waf_refuses_posts_without_a_body_and_bodies_over_the_limit(
    stacks: dict[str, Stack],
) -> None:
    stack = stacks["ingest"]
    acl = body(only_resource(stack, WEB_ACL))
    association = body(only_resource(stack, WEB_ACL_ASSOCIATION))
    too_large = body_too_large(16384)

    assert association == {
        "resource_arn": ref(stack, STAGE, "stage", "arn"),
        "web_acl_arn": ref(stack, WEB_ACL, "web_acl", "arn"),
    }
    assert acl["scope"] == "REGIONAL"
    assert acl["default_action"] == {"allow": {}}
    assert acl["association_config"] == {
        "request_body": [{"api_gateway": {"default_size_inspection_limit": "KB_16"}}]
    }
    assert acl["custom_response_body"] == [
        {"key": "body_required", "content": BODY_REQUIRED.body, "content_type": "APPLICATION_JSON"},
        {"key": "body_too_large", "content": too_large.body, "content_type": "APPLICATION_JSON"},
    ]
    required, large = acl["rule"]
    assert required["action"] == {
        "block": {
            "custom_response": {"response_code": 400, "custom_response_body_key": "body_required"}
        }
    }
    assert large["action"] == {
        "block": {
            "custom_response": {"response_code": 413, "custom_response_body_key": "body_too_large"}
        }
    }
    size = large["statement"]["size_constraint_statement"]
    assert (size["comparison_operator"], size["size"], size["field_to_match"]) == (
        "GT",
        16384,
        {"body": {"oversize_handling": "MATCH"}},
    )
    empty, post = required["statement"]["and_statement"]["statement"]
    assert empty["size_constraint_statement"]["comparison_operator"] == "EQ"
    assert empty["size_constraint_statement"]["size"] == 0
    assert post["byte_match_statement"]["search_string"] == "POST"
    assert post["byte_match_statement"]["field_to_match"] == {"method": {}}


@pytest.mark.parametrize(
    ("max_body_bytes", "limit"),
    [(1, "KB_16"), (16384, "KB_16"), (16385, "KB_32"), (40000, "KB_48"), (65536, "KB_64")],
)
def test_waf_inspects_enough_of_the_body_for_the_limit(max_body_bytes: int, limit: str) -> None:
    assert inspection_limit(max_body_bytes) == limit


# --- auth modes ---------------------------------------------------------------------------------


def methods_auth(stack: Stack) -> set[tuple[str, str | None, bool | None]]:
    return {
        (method["authorization"], method.get("authorizer_id"), method.get("api_key_required"))
        for method in by_construct(stack, METHOD).values()
    }


def test_iam_auth_signs_every_method_and_adds_no_authorizer_or_key(
    stacks: dict[str, Stack],
) -> None:
    stack = stacks["ingest"]

    assert methods_auth(stack) == {("AWS_IAM", None, None)}
    assert resources(stack, AUTHORIZER) == resources(stack, USAGE_PLAN) == {}
    assert stack["output"][ingest.EXECUTION_ARN]["value"] == ref(
        stack, STAGE, "stage", "execution_arn"
    )


def test_jwt_auth_checks_cognito_tokens_and_their_audience(jwt_stack: Stack) -> None:
    authorizer = body(only_resource(jwt_stack, AUTHORIZER))

    assert methods_auth(jwt_stack) == {
        ("COGNITO_USER_POOLS", ref(jwt_stack, AUTHORIZER, "authorizer", "id"), None)
    }
    assert authorizer == {
        "name": "workers-ingest-cognito",
        "rest_api_id": ref(jwt_stack, REST_API, "rest_api", "id"),
        "type": "COGNITO_USER_POOLS",
        "provider_arns": [
            f"arn:{PARTITION}:cognito-idp:eu-west-1:{ACCOUNT}:userpool/eu-west-1_AbCdEf123"
        ],
        "identity_source": "method.request.header.Authorization",
        "identity_validation_expression": r"^(web1client|partner\+2)$",
    }
    assert resources(jwt_stack, USAGE_PLAN) == {}


def test_api_key_auth_gives_each_client_a_key_in_a_throttled_usage_plan_with_a_quota(
    api_key_stack: Stack,
) -> None:
    stack = api_key_stack
    plan = body(only_resource(stack, USAGE_PLAN))
    keys = {key["name"]: key for key in by_construct(stack, API_KEY).values()}

    assert methods_auth(stack) == {("NONE", None, True)}
    assert plan["api_stages"] == [
        {
            "api_id": ref(stack, REST_API, "rest_api", "id"),
            "stage": ref(stack, STAGE, "stage", "stage_name"),
        }
    ]
    assert plan["throttle_settings"] == {"rate_limit": 50, "burst_limit": 100}
    assert plan["quota_settings"] == {"limit": 500, "period": "WEEK"}
    assert sorted(keys) == ["workers-ingest-acme", "workers-ingest-globex"]
    assert all(key["enabled"] is True and "value" not in key for key in keys.values())
    plan_keys = by_construct(stack, USAGE_PLAN_KEY)
    assert {key["key_id"] for key in plan_keys.values()} == {
        ref(stack, API_KEY, f"{client}_api_key", "id") for client in ("acme", "globex")
    }
    assert {key["usage_plan_id"] for key in plan_keys.values()} == {
        ref(stack, USAGE_PLAN, "usage_plan", "id")
    }
    assert set(stack["output"][ingest.API_KEY_IDS]["value"]) == {"acme", "globex"}
    assert resources(stack, AUTHORIZER) == {}


@pytest.mark.parametrize("throttle", [{"rate_per_second": 5, "burst": 10}])
def test_throttling_follows_the_spec(
    repo_copy: Callable[[], Path], tmp_path: Path, throttle: dict[str, int]
) -> None:
    stack = with_api(repo_copy, tmp_path, throttle=throttle)["ingest"]

    settings = body(only_resource(stack, METHOD_SETTINGS))["settings"]

    assert (settings["throttling_rate_limit"], settings["throttling_burst_limit"]) == (5, 10)


# --- terraform validate -------------------------------------------------------------------------


@pytest.mark.slow
def test_the_jwt_and_api_key_variants_pass_terraform_validate(
    repo_copy: Callable[[], Path], tmp_path: Path
) -> None:
    try:
        toolchain = Toolchain.locate()
    except ToolchainMissing as error:
        pytest.skip(f"cannot run terraform validate offline: {error.reason}")
    validator = OfflineValidator(toolchain, tmp_path / "validate")
    variants = {
        "jwt": {"type": "jwt", "issuer": COGNITO_ISSUER, "audiences": ["web1client"]},
        "api-key": {"type": "api-key", "clients": ["acme"]},
    }

    root = repo_copy()
    for name, auth in variants.items():
        synth_with(root, tmp_path / name, auth=auth, max_body_bytes=65536)
        result = validator.validate(tmp_path / name / "cdktf.out" / "stacks" / "ingest")

        assert result.valid, f"{name}:\n{result.report()}"
