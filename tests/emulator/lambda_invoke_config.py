"""`AWS::Lambda::EventInvokeConfig` for moto's CloudFormation engine, which lacks the type.

A template's EventInvokeConfig sets its function's asynchronous invocation options: retries, event age and the
on-success / on-failure destinations (CloudFormation User Guide, resource reference
"AWS::Lambda::EventInvokeConfig"; Lambda API Reference, "PutFunctionEventInvokeConfig"). moto's engine skips a
type it has no model for, and then answers DescribeStackResource on that stack with a 500; with this model the
configuration is put through moto's own Lambda backend, as PutFunctionEventInvokeConfig would put it.
"""

from typing import Any

from moto.awslambda.models import lambda_backends
from moto.core.common_models import CloudFormationModel

CONFIG_KEYS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")


class EventInvokeConfigResource(CloudFormationModel):
    """One function's (and qualifier's) asynchronous invocation configuration. Registered with moto's engine by
    being a CloudFormationModel subclass (moto cloudformation/parsing.py `get_model_map`)."""

    def __init__(self, function_name: str, qualifier: str):
        self.function_name = function_name
        self.qualifier = qualifier

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::EventInvokeConfig"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> "EventInvokeConfigResource":
        properties = cloudformation_json["Properties"]
        config = {key: properties[key] for key in CONFIG_KEYS if key in properties}
        backend = lambda_backends[account_id][region_name]
        backend.put_function_event_invoke_config(properties["FunctionName"], config)
        return cls(properties["FunctionName"], properties["Qualifier"])

    @property
    def physical_resource_id(self) -> str:
        # CloudFormation's Ref of an EventInvokeConfig is a generated id; the function and qualifier name it here.
        return f"{self.function_name}:{self.qualifier}"


def install() -> None:
    """Nothing to patch: importing this module registers the model (see the class)."""
