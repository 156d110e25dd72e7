"""The body rules of an ingest API, enforced by AWS WAF in front of its stage.

API Gateway has no setting for the largest request body it accepts (only its fixed 10 MB
limit), and its request validation lets an empty body through to the integration. A web ACL on
the stage refuses both before API Gateway routes the request, with the contract's own JSON
replies (modules/ingest_contract.py):

1. a POST without a body: 400 BODY_REQUIRED;
2. a body larger than `max_body_bytes`: 413 BODY_TOO_LARGE.

WAF sees at most the first 16 KiB of a body by default, 64 KiB when the web ACL raises its limit
(at extra cost per request above 16 KiB). The ACL raises it to the smallest step that covers
`max_body_bytes`, and treats a body beyond it as matching rule 2 ("oversize handling"), so the
limit is exact for every allowed value. Custom responses of a WAF block take precedence over the
protected resource's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.ingest_contract import BODY_REQUIRED, ErrorReply, body_too_large

acl = aws.wafv2_web_acl
# The steps WAF can inspect of a regional resource's body, in KiB (AssociationConfig).
INSPECTION_LIMITS_KIB = (16, 32, 48, 64)
KIB = 1024


@dataclass(frozen=True)
class BodyLimitsProps:
    """What the body rules of one API stage need.

    name: the web ACL's name and its metrics' prefix.
    max_body_bytes: the largest body accepted (the spec's `max_body_bytes`).
    stage_arn: the API Gateway stage the ACL protects.
    """

    name: str
    max_body_bytes: int
    stage_arn: str


def inspection_limit(max_body_bytes: int) -> str:
    """The smallest WAF body inspection limit that holds `max_body_bytes`, e.g. `KB_16`."""
    kib = max(INSPECTION_LIMITS_KIB[0], math.ceil(max_body_bytes / KIB))
    step = next(limit for limit in INSPECTION_LIMITS_KIB if limit >= kib)
    return f"KB_{step}"


class BodyLimits(Construct):
    """A regional web ACL with the two body rules, associated with one stage.

    Public fields: `web_acl`, `association`.
    """

    def __init__(self, scope: Construct, construct_id: str, props: BodyLimitsProps) -> None:
        super().__init__(scope, construct_id)
        too_large = body_too_large(props.max_body_bytes)
        rules = (
            ("body-required", BODY_REQUIRED, _post_without_body()),
            ("body-too-large", too_large, _body_larger_than(props.max_body_bytes)),
        )
        self.web_acl = acl.Wafv2WebAcl(
            self,
            "web_acl",
            name=props.name,
            description="Ingest API body rules: a POST has a body, no body exceeds the limit.",
            scope="REGIONAL",
            default_action=acl.Wafv2WebAclDefaultAction(allow=acl.Wafv2WebAclDefaultActionAllow()),
            association_config=acl.Wafv2WebAclAssociationConfig(
                request_body=[
                    acl.Wafv2WebAclAssociationConfigRequestBody(
                        api_gateway=acl.Wafv2WebAclAssociationConfigRequestBodyApiGateway(
                            default_size_inspection_limit=inspection_limit(props.max_body_bytes)
                        )
                    )
                ]
            ),
            custom_response_body=[
                acl.Wafv2WebAclCustomResponseBody(
                    key=_key(reply), content=reply.body, content_type="APPLICATION_JSON"
                )
                for _, reply, _ in rules
            ],
            rule=[
                _blocking_rule(priority, rule_name, reply, statement, props.name)
                for priority, (rule_name, reply, statement) in enumerate(rules)
            ],
            visibility_config=acl.Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True,
                metric_name=props.name,
                sampled_requests_enabled=True,
            ),
        )
        self.association = aws.wafv2_web_acl_association.Wafv2WebAclAssociation(
            self, "association", resource_arn=props.stage_arn, web_acl_arn=self.web_acl.arn
        )


def _key(reply: ErrorReply) -> str:
    return reply.error.lower()


def _blocking_rule(
    priority: int, name: str, reply: ErrorReply, statement: dict[str, Any], acl_name: str
) -> acl.Wafv2WebAclRule:
    """A rule that blocks what `statement` matches with `reply`, counted in its own metric."""
    return acl.Wafv2WebAclRule(
        name=name,
        priority=priority,
        action=acl.Wafv2WebAclRuleAction(
            block=acl.Wafv2WebAclRuleActionBlock(
                custom_response=acl.Wafv2WebAclRuleActionBlockCustomResponse(
                    response_code=reply.status, custom_response_body_key=_key(reply)
                )
            )
        ),
        statement=statement,
        visibility_config=acl.Wafv2WebAclRuleVisibilityConfig(
            cloudwatch_metrics_enabled=True,
            metric_name=f"{acl_name}-{name}",
            sampled_requests_enabled=True,
        ),
    )


# The provider types a rule's statement loosely (it nests too deeply for the binding): these
# are the Terraform JSON blocks themselves.
_AS_IS = [{"priority": 0, "type": "NONE"}]


def _body_size(comparison: str, size: int, oversize_handling: str) -> dict[str, Any]:
    return {
        "size_constraint_statement": {
            "comparison_operator": comparison,
            "size": size,
            "field_to_match": {"body": {"oversize_handling": oversize_handling}},
            "text_transformation": _AS_IS,
        }
    }


def _post_without_body() -> dict[str, Any]:
    return {
        "and_statement": {
            "statement": [
                _body_size("EQ", 0, "CONTINUE"),
                {
                    "byte_match_statement": {
                        "positional_constraint": "EXACTLY",
                        "search_string": "POST",
                        "field_to_match": {"method": {}},
                        "text_transformation": _AS_IS,
                    }
                },
            ]
        }
    }


def _body_larger_than(max_body_bytes: int) -> dict[str, Any]:
    # A body beyond the inspection limit is larger than max_body_bytes too: it matches.
    return _body_size("GT", max_body_bytes, "MATCH")
