"""Stacks of this project's real templates on the emulator's own CloudFormation engine (moto's), whose
custom-resource Create the real binary answers.

    engine = Engine(emulator, runtime_api)     # the emulator's Lambda invocations go to the stand-in
    engine.deploy_provider(organization_id)    # cloudformation/provider.yaml, exporting its ServiceToken
    member = engine.deploy(EXISTING_ACCOUNT, "member", {"AdministratorAccountId": ..., "AccountId": ...})
    member.status, member.outputs, member.create_event()
    cfn.update(new_props, member.properties(), **member.resource())   # moto's engine sends only Create

moto's engine sends no Update or Delete: the harness's `Cfn` sends them with the stack's real identifiers
(`Stack.resource`), and first sets the stack as CloudFormation has it while it waits for them (`Cfn.hold`:
UPDATE_IN_PROGRESS or DELETE_IN_PROGRESS, the resource's physical id the request's), so that the provider's
origin check reads the real stack.

moto's YAML reader fails on a short-form tag holding a mapping (`!ImportValue` over `Fn::Sub`): templates go to
it as JSON, read with cfn-lint's YAML loader. Every wait is bounded.
"""

from __future__ import annotations

import io
import json
import pathlib
import zipfile
from typing import Any

from cfnlint.decode import cfn_yaml

from harness.wait import wait_until

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATES = REPO_ROOT / "cloudformation"
PROVIDER_TEMPLATE = TEMPLATES / "provider.yaml"
EXISTING_ACCOUNT = TEMPLATES / "examples" / "existing-account.yaml"
NEW_ACCOUNT = TEMPLATES / "examples" / "new-account.yaml"
STACKSET_MEMBER = TEMPLATES / "stackset-member.yaml"

PROVIDER_STACK = "securityhub-member-account-provider"  # the examples' ProviderStackName default
CODE_BUCKET = "securityhub-member-account-code"
CODE_KEY = "bootstrap.zip"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
DEPLOY_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.2


def template_body(template: pathlib.Path | dict) -> str:
    """The template as JSON text (a path to YAML or JSON, or the template itself)."""
    return json.dumps(template if isinstance(template, dict) else cfn_yaml.load(str(template)))


def placeholder_code() -> bytes:
    """A Lambda deployment package that only has to exist: moto never runs it, since the emulator hands every
    invocation to the Runtime API stand-in, which the real binary (started by the harness) serves."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\n# placeholder: the harness runs the real binary\n")
    return buffer.getvalue()


def unwrap_sns(payload: dict) -> dict:
    """The CloudFormation request inside an SNS notification, or the payload itself."""
    records = payload.get("Records") if isinstance(payload, dict) else None
    if records and isinstance(records[0], dict) and "Sns" in records[0]:
        return json.loads(records[0]["Sns"]["Message"])
    return payload


class Stack:
    """One stack on the engine, in one account and region."""

    def __init__(self, engine: Engine, stack_id: str, account: str, region: str):
        self.engine = engine
        self.stack_id = stack_id
        self.account = account
        self.region = region

    @property
    def client(self) -> Any:
        return self.engine.emulator.client("cloudformation", self.account, self.region)

    def describe(self) -> dict:
        return self.client.describe_stacks(StackName=self.stack_id)["Stacks"][0]

    @property
    def status(self) -> str:
        return self.describe()["StackStatus"]

    @property
    def outputs(self) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self.describe().get("Outputs") or []}

    def wait(self, timeout_s: float = DEPLOY_TIMEOUT_S) -> Stack:
        """Wait (bounded) until the stack is no longer in progress."""
        wait_until(
            lambda: not self.status.endswith(("_IN_PROGRESS", "_PENDING")),
            timeout_s,
            POLL_INTERVAL_S,
            lambda: (
                f"stack {self.stack_id} done (still {self.status}; "
                f"invocations: {len(self.engine.runtime_api.invocations)})"
            ),
        )
        return self

    def physical_id(self, logical_id: str = "Member") -> str:
        detail = self.client.describe_stack_resource(StackName=self.stack_id, LogicalResourceId=logical_id)
        return detail["StackResourceDetail"]["PhysicalResourceId"]

    def create_invocation(self, logical_id: str = "Member") -> Any:
        """The invocation (harness.runtime_api.Invocation) that carried the Create of `logical_id`."""
        for invocation in self.engine.runtime_api.invocations:
            event = unwrap_sns(json.loads(invocation.payload))
            if (event.get("StackId"), event.get("LogicalResourceId"), event.get("RequestType")) == (
                self.stack_id,
                logical_id,
                "Create",
            ):
                return invocation
        raise AssertionError(f"the binary received no Create for {logical_id} of {self.stack_id}")

    def create_event(self, logical_id: str = "Member") -> dict:
        """The Create request the binary received for `logical_id` (unwrapped from SNS)."""
        return unwrap_sns(json.loads(self.create_invocation(logical_id).payload))

    def properties(self, logical_id: str = "Member") -> dict:
        """The resource's properties as CloudFormation sends them, less the ServiceToken the harness adds."""
        properties = dict(self.create_event(logical_id)["ResourceProperties"])
        properties.pop("ServiceToken", None)
        return properties

    def resource(self, logical_id: str = "Member") -> dict[str, str]:
        """The identifiers CloudFormation's later requests for this resource carry, as keyword arguments of
        the harness's `cfn.update` / `cfn.delete` (which set this stack's status for them, `Cfn.hold`)."""
        return {
            "stack": self.stack_id,
            "logical_id": logical_id,
            "physical_id": self.physical_id(logical_id),
            "service_token": self.create_event(logical_id)["ServiceToken"],
        }


class Engine:
    """The emulator's CloudFormation, with its Lambda invocations sent to `runtime_api` (from now on)."""

    def __init__(self, emulator: Any, runtime_api: Any):
        self.emulator = emulator
        self.runtime_api = runtime_api
        emulator.configure(lambda_endpoint=runtime_api.invoke_url)

    def upload(
        self, bucket: str, key: str, body: bytes, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
    ) -> None:
        s3 = self.emulator.client("s3", account, region)
        if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
            s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=key, Body=body)

    def deploy(
        self,
        template: pathlib.Path | dict,
        name: str,
        parameters: dict[str, str] | None = None,
        *,
        account: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
        timeout_s: float = DEPLOY_TIMEOUT_S,
    ) -> Stack:
        """CreateStack, then wait (bounded) until it is no longer in progress."""
        client = self.emulator.client("cloudformation", account, region)
        stack_id = client.create_stack(
            StackName=name,
            TemplateBody=template_body(template),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
        )["StackId"]
        return Stack(self, stack_id, account, region).wait(timeout_s)

    def deploy_provider(
        self, organization_id: str, name: str = PROVIDER_STACK, administrator_account_ids: str = DEFAULT_ACCOUNT
    ) -> Stack:
        """cloudformation/provider.yaml, its code uploaded to the emulator's S3 first. `administrator_account_ids`
        (comma-separated) is its required AdministratorAccountIds: by default the provider's own account."""
        self.upload(CODE_BUCKET, CODE_KEY, placeholder_code())
        return self.deploy(
            PROVIDER_TEMPLATE,
            name,
            {
                "CodeS3Bucket": CODE_BUCKET,
                "CodeS3Key": CODE_KEY,
                "OrganizationId": organization_id,
                "AdministratorAccountIds": administrator_account_ids,
            },
        )
