"""moto_server with the AWS behaviour our Terraform stacks need and moto 5.2.5 lacks.

`python -m devtools.moto_patches -H 127.0.0.1 -p PORT` runs moto's own server
(`moto.server.main`) after patching moto in this process. Each patch adds one AWS behaviour
that `terraform apply` (provider hashicorp/aws 5.100.0) or a second `terraform plan` needs:

- `application_auto_scaling_tags`: TagResource, UntagResource and ListTagsForResource for
  scalable targets, and `Tags` on RegisterScalableTarget.
- `sqs_redrive_allow_policy`: SQS keeps and returns the `RedriveAllowPolicy` attribute.
- `sqs_keeps_unset_attributes`: SetQueueAttributes leaves `Policy` alone when not given.
- `sqs_compact_redrive_json`: `RedrivePolicy` and `RedriveAllowPolicy` come back as compact
  JSON, as SQS writes them.
- `ec2_referencing_rule_descriptions`: security-group rules that reference a group or a
  prefix list keep their description (DescribeSecurityGroupRules, DescribeSecurityGroups).
- `ecs_service_settings`: CreateService keeps `capacityProviderStrategy`,
  `enableECSManagedTags` and `deploymentConfiguration`; UpdateService updates them.
- `lambda_logging_config`: functions keep `LoggingConfig`.
- `lambda_dead_letter_config`: functions keep `DeadLetterConfig`.

They exist only because moto 5.2.5 lacks these behaviours. Each one should be reported
upstream and dropped once moto has it: tests/e2e/test_moto_patches.py runs a probe per patch
against stock moto too, and fails with "drop the patch <name>" when stock moto passes it.
The patches change moto's behaviour and nothing else; they never touch this repository's code.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

PATCHES: dict[str, Callable[[], None]] = {}
_applied: set[str] = set()


def _patch(add_behaviour: Callable[[], None]) -> Callable[[], None]:
    """Register a patch under its name; applying it a second time does nothing."""
    name = add_behaviour.__name__

    @functools.wraps(add_behaviour)
    def apply_once() -> None:
        if name not in _applied:
            add_behaviour()
            _applied.add(name)

    PATCHES[name] = apply_once
    return apply_once


def apply_all() -> None:
    """Apply every patch; safe to call again."""
    for apply in PATCHES.values():
        apply()


def _argument(function: Callable[..., Any], name: str, *args: Any, **kwargs: Any) -> Any:
    """The value `name` gets in a call of `function`, however the caller passed it.

    inspect.signature follows functools.wraps, so a wrapper shows moto's own signature.
    """
    bound = inspect.signature(function).bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.arguments[name]


# --- Application Auto Scaling ------------------------------------------------------------


@_patch
def application_auto_scaling_tags() -> None:
    """moto/applicationautoscaling/responses.py has no tag operations (500 on each)."""
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse as Response

    register = Response.register_scalable_target

    def register_scalable_target(self: Response) -> str:
        backend = self.applicationautoscaling_backend
        # AWS applies Tags only when the target is created; TagResource changes them later.
        is_new = not backend._scalable_target_exists(
            self._get_param("ResourceId"), self._get_param("ScalableDimension")
        )
        body = register(self)
        if is_new:
            arn = json.loads(body)["ScalableTargetARN"]
            _target_tags(backend, arn).update(self._get_param("Tags") or {})
        return body

    def tag_resource(self: Response) -> str:
        tags = _target_tags(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
        tags.update(self._get_param("Tags"))
        return "{}"

    def untag_resource(self: Response) -> str:
        tags = _target_tags(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
        for key in self._get_param("TagKeys"):
            tags.pop(key, None)
        return "{}"

    def list_tags_for_resource(self: Response) -> str:
        tags = _target_tags(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
        return json.dumps({"Tags": tags})

    Response.register_scalable_target = register_scalable_target  # type: ignore[method-assign]
    Response.tag_resource = tag_resource  # type: ignore[attr-defined]
    Response.untag_resource = untag_resource  # type: ignore[attr-defined]
    Response.list_tags_for_resource = list_tags_for_resource  # type: ignore[attr-defined]


def _target_tags(backend: Any, arn: str) -> dict[str, str]:
    """The tags of the scalable target with this ARN, kept on the target itself."""
    from moto.core.exceptions import JsonRESTError

    for by_resource in backend.targets.values():
        for target in by_resource.values():
            if target.arn == arn:
                # Stored on the target, so they go when it is deregistered, as in AWS.
                return target.__dict__.setdefault("tags", {})
    raise JsonRESTError("ResourceNotFoundException", f"No scalable target found for {arn}")


# --- SQS -----------------------------------------------------------------------------------


@_patch
def sqs_redrive_allow_policy() -> None:
    """moto/sqs/models.py stores RedriveAllowPolicy but never returns it (nor accepts its name)."""
    from moto.sqs.models import Queue

    def get(queue: Queue) -> str | None:
        # An empty string removes the policy in SQS: the attribute is then absent.
        return queue.__dict__.get("_redrive_allow_policy") or None

    def set_(queue: Queue, value: str | None) -> None:
        queue.__dict__["_redrive_allow_policy"] = value

    # Queue._set_attributes sets every attribute given with setattr(snake_case name).
    Queue.redrive_allow_policy = property(get, set_)  # type: ignore[attr-defined]
    Queue.BASE_ATTRIBUTES = [*Queue.BASE_ATTRIBUTES, "RedriveAllowPolicy"]


@_patch
def sqs_keeps_unset_attributes() -> None:
    """moto/sqs/models.py Queue._set_attributes resets Policy whenever it is not given."""
    from moto.sqs.models import Queue

    set_attributes = Queue._set_attributes

    def _set_attributes(queue: Queue, attributes: dict[str, Any], now: float | None = None) -> None:
        # No `_policy_json` yet means the queue is being created: moto sets its default then.
        kept = None if "Policy" in attributes else queue.__dict__.get("_policy_json")
        set_attributes(queue, attributes, now)
        if kept is not None:
            queue._policy_json = kept

    Queue._set_attributes = _set_attributes  # type: ignore[method-assign]


@_patch
def sqs_compact_redrive_json() -> None:
    """moto/sqs/models.py Queue.attributes writes RedrivePolicy with json.dumps' spaces."""
    from moto.sqs.models import Queue

    attributes = Queue.attributes.fget  # type: ignore[attr-defined]

    def compact_attributes(queue: Queue) -> dict[str, Any]:
        result = attributes(queue)
        for name in ("RedrivePolicy", "RedriveAllowPolicy"):
            if result.get(name):
                result[name] = _compact_json(result[name])
        return result

    Queue.attributes = property(compact_attributes)  # type: ignore[method-assign,assignment]


def _compact_json(text: str) -> str:
    try:
        return json.dumps(json.loads(text), separators=(",", ":"))
    except ValueError:
        return text  # not JSON: SQS would have refused it, moto kept it; leave it as it is


# --- EC2 -----------------------------------------------------------------------------------


@_patch
def ec2_referencing_rule_descriptions() -> None:
    """moto/ec2/models/security_groups.py reads a rule's description from its CIDR only, and
    drops a prefix list's description when it makes the rule."""
    from moto.ec2.models.security_groups import SecurityGroup, SecurityGroupRule

    make_rule = SecurityGroupRule.__init__
    flattened_rules = SecurityGroup._flattened_rules

    @functools.wraps(make_rule)
    def __init__(rule: SecurityGroupRule, *args: Any, **kwargs: Any) -> None:
        make_rule(rule, *args, **kwargs)
        prefix_list = _argument(make_rule, "prefix_list_id", rule, *args, **kwargs)
        rule.prefix_list_description = (prefix_list or {}).get("Description")  # type: ignore[attr-defined]

    def description(rule: SecurityGroupRule) -> str | None:
        # A rule has one target: a CIDR, a referenced group or a prefix list. A CIDR comes
        # first because ModifySecurityGroupRules writes a new description there for all three.
        return (
            rule.ip_range.get("Description")
            or rule.source_group.get("Description")
            or rule.__dict__.get("prefix_list_description")
        )

    def _flattened_rules(group: SecurityGroup, rules: list[SecurityGroupRule]) -> list[Any]:
        views = flattened_rules(group, rules)
        described = {
            (rule.from_port, rule.to_port, rule.ip_protocol, rule.prefix_list_id): text
            for rule in rules
            if rule.prefix_list_id and (text := rule.__dict__.get("prefix_list_description"))
        }
        for view in views:
            for entry in view.prefix_list_ids:
                key = (view.from_port, view.to_port, view.ip_protocol, entry["PrefixListId"])
                if key in described:
                    entry["Description"] = described[key]
        return views

    SecurityGroupRule.__init__ = __init__  # type: ignore[method-assign]
    SecurityGroupRule.description = property(description)  # type: ignore[method-assign,assignment]
    SecurityGroup._flattened_rules = _flattened_rules  # type: ignore[method-assign]


# --- ECS -----------------------------------------------------------------------------------

# What DescribeServices shows for a setting CreateService was not given.
_DEPLOYMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "REPLICA": {"maximumPercent": 200, "minimumHealthyPercent": 100},
    "DAEMON": {"maximumPercent": 100, "minimumHealthyPercent": 0},
}
_NO_CIRCUIT_BREAKER = {"deploymentCircuitBreaker": {"enable": False, "rollback": False}}


@_patch
def ecs_service_settings() -> None:
    """moto/ecs/responses.py CreateService never passes these four settings to the backend
    (the fourth, availabilityZoneRebalancing, is not even a field of moto's service); moto/ecs/
    models.py UpdateService would set the first three but replaces the deployment configuration."""
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend as Backend
    from moto.ecs.responses import EC2ContainerServiceResponse as Response

    create = Response.create_service
    update = Backend.update_service

    def create_service(self: Response) -> Any:
        strategy = self._get_param("capacityProviderStrategy")
        if strategy and self._get_param("launchType"):
            raise InvalidParameterException(
                "Specifying both a launch type and capacity provider strategy is not supported."
            )
        result = create(self)
        service = self.ecs_backend._get_service(
            self._get_param("cluster", "default"), self._get_param("serviceName")
        )
        defaults = _DEPLOYMENT_DEFAULTS.get(service.scheduling_strategy, {})
        service.enable_ecs_managed_tags = bool(self._get_param("enableECSManagedTags"))
        # ECS enables rebalancing when a create request does not say (CreateService reference).
        service.availability_zone_rebalancing = (
            self._get_param("availabilityZoneRebalancing") or "ENABLED"
        )
        _set_service_settings(
            service,
            strategy,
            {
                **_NO_CIRCUIT_BREAKER,
                **defaults,
                **(self._get_param("deploymentConfiguration") or {}),
            },
        )
        return result

    def update_service(backend: Backend, service_properties: dict[str, Any]) -> Any:
        # Settings that are not given stay as they are, within the deployment configuration too.
        strategy = service_properties.get("capacity_provider_strategy")
        deployment = service_properties.pop("deployment_configuration", None)
        rebalancing = service_properties.pop("availability_zone_rebalancing", None)
        service = update(backend, service_properties)
        if rebalancing is not None:
            service.availability_zone_rebalancing = rebalancing
        if deployment is not None:
            deployment = {
                **(getattr(service, "deployment_configuration", None) or {}),
                **deployment,
            }
        _set_service_settings(service, strategy, deployment)
        return service

    Response.create_service = create_service  # type: ignore[method-assign]
    Backend.update_service = update_service  # type: ignore[method-assign]


def _set_service_settings(
    service: Any, strategy: list[dict[str, Any]] | None, deployment: dict[str, Any] | None
) -> None:
    if strategy:
        service.capacity_provider_strategy = strategy
        # A service placed by capacity providers has no launch type in ECS (moto says EC2).
        service.launch_type = None
        for deployment_entry in service.deployments:
            deployment_entry["launchType"] = None
            deployment_entry["capacityProviderStrategy"] = strategy
    if deployment is not None:
        service.deployment_configuration = deployment


# --- Lambda --------------------------------------------------------------------------------


@_patch
def lambda_logging_config() -> None:
    """moto/awslambda/models.py LambdaFunction ignores LoggingConfig."""
    from moto.awslambda.models import LambdaFunction

    def keep(function: LambdaFunction, given: dict[str, Any] | None) -> None:
        current = function.__dict__.get("logging_config") or {
            # What Lambda reports for a function created without LoggingConfig.
            "LogFormat": "Text",
            "LogGroup": f"/aws/lambda/{function.function_name}",
        }
        config = {**current, **(given or {})}
        if config["LogFormat"] == "JSON":
            # Lambda's levels for JSON logs when none are given.
            config = {"ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO", **config}
        function.logging_config = config  # type: ignore[attr-defined]

    def report(function: LambdaFunction, configuration: dict[str, Any]) -> None:
        configuration["LoggingConfig"] = function.__dict__.get("logging_config")

    _keep_function_setting(LambdaFunction, "LoggingConfig", keep, report)


@_patch
def lambda_dead_letter_config() -> None:
    """moto/awslambda/models.py LambdaFunction ignores DeadLetterConfig."""
    from moto.awslambda.models import LambdaFunction

    def keep(function: LambdaFunction, given: dict[str, Any] | None) -> None:
        function.dead_letter_config = given  # type: ignore[attr-defined]

    def report(function: LambdaFunction, configuration: dict[str, Any]) -> None:
        # An empty TargetArn removes the dead-letter queue: Lambda then reports none.
        given = function.__dict__.get("dead_letter_config") or {}
        if given.get("TargetArn"):
            configuration["DeadLetterConfig"] = {"TargetArn": given["TargetArn"]}

    _keep_function_setting(LambdaFunction, "DeadLetterConfig", keep, report)


def _keep_function_setting(
    function_class: Any,
    setting: str,
    keep: Callable[[Any, dict[str, Any] | None], None],
    report: Callable[[Any, dict[str, Any]], None],
) -> None:
    """Keep `setting` from CreateFunction and UpdateFunctionConfiguration, and report it in
    every configuration moto returns (GetFunction, GetFunctionConfiguration, the updates)."""
    create = function_class.__init__
    update = function_class.update_configuration
    configuration = function_class.get_configuration

    @functools.wraps(create)  # keeps moto's signature for the next patch's _argument
    def __init__(function: Any, *args: Any, **kwargs: Any) -> None:
        create(function, *args, **kwargs)
        keep(function, _argument(create, "spec", function, *args, **kwargs).get(setting))

    def update_configuration(function: Any, config_updates: dict[str, Any]) -> Any:
        if setting in config_updates:
            keep(function, config_updates[setting])  # before: moto returns the new configuration
        return update(function, config_updates)

    def get_configuration(function: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        result = configuration(function, *args, **kwargs)
        report(function, result)
        return result

    function_class.__init__ = __init__
    function_class.update_configuration = update_configuration
    function_class.get_configuration = get_configuration


def main(argv: list[str] | None = None) -> None:
    """Run moto_server (same arguments) with every patch applied."""
    from moto.server import main as moto_server_main

    apply_all()
    moto_server_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
