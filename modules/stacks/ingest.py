"""The stack of one HTTP ingest API (`kind: ingest`): an HTTPS API that writes into a consumer's
queue, with no code in between (docs/http-ingest.md).

Its REST API, stage and integration role, and the AWS WAF rules on its bodies. Reads its
consumer's queue ARN from that stack's state, so the consumer is applied first; its access log
group is the logs stack's, found by name like every service's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.constructs.body_limits import BodyLimits, BodyLimitsProps
from modules.constructs.ingest_api import IngestApi, IngestApiProps
from modules.naming import log_group_name, resource_name
from modules.stacks.base import PlatformStack
from modules.stacks.consumer import QUEUE_ARN

if TYPE_CHECKING:
    from modules.cdk import Construct
    from modules.config import IngestSpec, PlatformConfig

# Outputs: what a client or an operator needs.
INVOKE_URL = "invoke_url"
EXECUTION_ARN = "execution_arn"
API_KEY_IDS = "api_key_ids"


class IngestStack(PlatformStack):
    def __init__(
        self, scope: Construct, name: str, config: PlatformConfig, api: IngestSpec
    ) -> None:
        super().__init__(scope, name, config)
        self.api_spec = api
        project = self.project.project
        api_name = resource_name(project, api.name)

        self.api = IngestApi(
            self,
            "api",
            IngestApiProps(
                name=api_name,
                spec=api,
                queue_arn=self.remote_state(api.feeds).get_string(QUEUE_ARN),
                log_group_arn=self.aws_context.arn(
                    "logs", f"log-group:{log_group_name(project, api.name)}"
                ),
                aws=self.aws_context,
            ),
        )
        self.body_limits = BodyLimits(
            self,
            "body_limits",
            BodyLimitsProps(
                name=api_name, max_body_bytes=api.max_body_bytes, stage_arn=self.api.stage.arn
            ),
        )

        self.output(
            INVOKE_URL,
            self.api.stage.invoke_url,
            "Base URL of the API's stage (HTTPS only); routes are below it, e.g. /messages.",
        )
        self.output(
            EXECUTION_ARN,
            self.api.stage.execution_arn,
            "ARN to allow execute-api:Invoke on (auth iam): <this>/POST/messages.",
        )
        if self.api.api_keys:
            self.output(
                API_KEY_IDS,
                {client: key.id for client, key in self.api.api_keys.items()},
                "API key id per client; its value: aws apigateway get-api-key --include-value.",
            )
