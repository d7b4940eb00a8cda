"""Python side of the AWS emulator: start the server, drive its control API, act as AWS accounts.

    server = start_emulator()              # a subprocess on 127.0.0.1, a free port
    aws = Emulator(server.url)
    aws.reset()
    aws.configure(latency_ms=50, throttle_fraction=0.1, seed=7)
    hub = aws.client("securityhub", "111111111111", "eu-west-1")
    server.stop()

Accounts: 123456789012 is moto's default account, used with plain test credentials (it is also the
organization's management account after `create_organization()`). Any other account is entered with
sts.assume_role on arn:aws:iam::<id>:role/OrganizationAccountAccessRole; moto maps those credentials to
that account, whether or not the role exists.

Regions: EC2 DescribeRegions answers the commercial regions moto treats as enabled by default (the usual
17 plus af-south-1, eu-south-1 and ap-southeast-3, which are opt-in in AWS), minus `disabled_regions` of
the calling account; with AllRegions=true, also the opt-in ones as `not-opted-in`. GovCloud and China
regions never appear.

S3: presigned URLs are SigV4 (`s3v4`) and path-style, like CloudFormation's ResponseURL; moto does not
check their signatures, and a presigned PUT is stored under moto's default account.

CloudFormation: `hold_stack` makes a real stack on moto's CloudFormation that stays CREATE_IN_PROGRESS, its
custom resource's Create held, as CloudFormation holds a stack while it waits for the provider; `set_stack` gives
it the status (and the resource the physical id) CloudFormation shows while it sends an Update or a Delete, or
when nothing is in progress (emulator/stacks.py).
"""

import json
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from harness.wait import stop_process, wait_until

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
ROLE_NAME = "OrganizationAccountAccessRole"
TEST_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
SERVER = ("-m", "emulator.server")
START_TIMEOUT_S = 20.0
HTTP_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.1


class EmulatorError(RuntimeError):
    """The emulator's control API refused a request, or an account creation failed."""


@dataclass
class EmulatorProcess:
    """A running server.py subprocess."""

    url: str
    port: int
    process: subprocess.Popen
    log_path: Path

    def stop(self, timeout_s: float = 10.0) -> None:
        """Terminate, then kill if it does not exit within `timeout_s`."""
        stop_process(self.process, timeout_s)


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_emulator(
    log_dir: Path | None = None,
    timeout_s: float = START_TIMEOUT_S,
    *,
    launcher: Sequence[str] = SERVER,
    temp_prefix: str = "aws-emulator-",
) -> EmulatorProcess:
    """Start `python -m emulator.server` (or `python *launcher`, a launcher taking the same options) with this
    interpreter (the venv's) on a free loopback port and wait for it.

    Its stdout and stderr go to `log_dir`/emulator.log (when not given, a new temporary directory whose name
    starts with `temp_prefix`); if it does not come up within `timeout_s`, it is killed and the log's tail is in
    the AssertionError.
    """
    log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix=temp_prefix))
    log_dir.mkdir(parents=True, exist_ok=True)
    port_file, log_path = log_dir / "emulator.port", log_dir / "emulator.log"
    port_file.unlink(missing_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, *launcher, "--host", "127.0.0.1", "--port", "0", "--port-file", str(port_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def port() -> int | None:
        if port_file.exists():
            return int(port_file.read_text().strip())
        if process.poll() is not None:
            raise AssertionError(f"the emulator exited with code {process.returncode}")
        return None

    try:
        port_number = wait_until(port, timeout_s, POLL_INTERVAL_S, "the emulator listening")
    except AssertionError as error:
        process.kill()
        process.wait(timeout=10)
        raise AssertionError(f"{error}; log tail:\n{_log_tail(log_path)}") from None
    return EmulatorProcess(f"http://127.0.0.1:{port_number}", port_number, process, log_path)


class EndpointSession(boto3.Session):
    """A boto3 Session whose clients talk to the emulator (and S3 path-style with SigV4, as on AWS)."""

    def __init__(self, endpoint_url: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.endpoint_url = endpoint_url

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        if service_name == "s3":
            s3_config = BotoConfig(signature_version="s3v4", s3={"addressing_style": "path"})
            kwargs["config"] = s3_config.merge(kwargs["config"]) if kwargs.get("config") else s3_config
        return super().client(service_name, *args, **kwargs)


class Emulator:
    """Client of a running emulator: control API, and boto3 sessions acting as any account."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self._sessions: dict[str, EndpointSession] = {}

    # --- control API ------------------------------------------------------------------------------

    def _control(self, method: str, name: str, body: dict | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/_emulator/{name}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise EmulatorError(f"{method} /_emulator/{name}: {error.code} {error.read().decode()}") from None

    def reset(self) -> None:
        """moto's state and the emulator's, faults off, call log, token buckets and call counts cleared (and cached
        credentials dropped)."""
        self._control("POST", "reset")
        self._sessions.clear()

    def configure(self, **settings: Any) -> dict:
        """Merge settings; answers the whole configuration. Keys (all off by default):

        latency_ms               sleep before every AWS request (S3 included)
        throttle_fraction        fraction of Security Hub requests answered 429 LimitExceededException and
                                 of Organizations requests answered 400 TooManyRequestsException
        error_fraction           fraction of Security Hub/Organizations/STS/EC2 requests answered 500 in the
                                 service's own error format
        reset_fraction           fraction of those whose connection is closed without any response
        fail_regions             {region: [account, ...]}: every Security Hub request of those accounts in
                                 that region answers 500 InternalException
        response_put_failures    the next N S3 object PUTs answer 500 InternalError, storing nothing
        seed                     seed of the random fault draws (reproducible runs)
        auto_enable_org_members  [administrator, ...]: their CreateMembers enables members of their
                                 organization at once (delegated administrator with auto-enable)
        central_configuration    [administrator, ...]: their organization uses central configuration: every
                                 other account of it is refused its own EnableSecurityHub and
                                 DisableSecurityHub with AccessDeniedException (emulator/securityhub.py)
        create_account_delay_s   CreateAccount stays IN_PROGRESS (account hidden) for this long
        create_account_failure   FailureReason for the next CreateAccount (e.g. "EMAIL_ALREADY_EXISTS")
        create_account_concurrency
                                 CreateAccount requests of one management account that may be in progress
                                 at once (default 5; null: no limit); one more is refused with 400
                                 TooManyRequestsException and creates nothing (emulator/organizations.py)
        close_account_delay_s    CloseAccount leaves the account PENDING_CLOSURE for this long, then it is
                                 SUSPENDED (0: SUSPENDED at once); CloseAccount of a closing account answers
                                 ConflictException, of a closed one AccountAlreadyClosedException
        close_account_quota      how many accounts one organization may close (null: no limit); one more
                                 answers 400 ConstraintViolationException, Reason CLOSE_ACCOUNT_QUOTA_EXCEEDED
        assume_role_denied_for_s AssumeRole into an account made by CreateAccount is AccessDenied for this
                                 long after the CreateAccount call
        new_account_not_ready_s  every Security Hub and Account (ListRegions) call made by an account that
                                 CreateAccount made answers 400 SubscriptionRequiredException until this long
                                 after its creation SUCCEEDED (emulator/faults.py)
        unassumable_accounts     [account, ...]: AssumeRole into them is always AccessDenied (closed
                                 accounts are refused anyway)
        role_propagating         {account: seconds}: AssumeRole into that (existing) account is AccessDenied
                                 for this long after this setting, as while a just-made role propagates
                                 through IAM; setting it again starts every account's time again
        account_roles            {account: [role name, ...]}: the only roles that exist in that account
                                 (AssumeRole of any other is AccessDenied, as IAM answers for a role that
                                 does not exist or does not trust the caller); e.g. a Control Tower account
                                 with AWSControlTowerExecution and no OrganizationAccountAccessRole
        disabled_regions         {account: [region, ...]}: DescribeRegions with that account's credentials
                                 omits those regions
        denied_regions           {account: [region, ...]}: a region-deny SCP: every Security Hub call of
                                 that account in those regions is 403 AccessDeniedException ("... with an
                                 explicit deny in a service control policy"), while ListRegions and
                                 DescribeRegions still list them
        access_denied_accounts   [account, ...]: every Security Hub call of those accounts is 403
                                 AccessDeniedException as IAM answers when no policy allows it ("... because
                                 no identity-based policy allows the securityhub:<Operation> action")
        token_buckets            [service, ...] among "securityhub", "organizations", "sts": those services
                                 throttle as AWS does, with a token bucket per calling account and region
                                 (emulator/throttle.py, where the defaults are sourced); an empty bucket
                                 answers Security Hub 429 LimitExceededException, Organizations 400
                                 TooManyRequestsException, STS 400 Throttling
        securityhub_rate_per_s   its bucket's refill rate (requests per second; default 10) and burst (its
        securityhub_burst        size; default 30); a change starts new, full buckets
        organizations_rate_per_s default 5, burst 10 (Organizations documents no rate)
        organizations_burst
        sts_rate_per_s           default 600, burst 600
        sts_burst
        lambda_endpoint          "http://127.0.0.1:PORT": every invocation of a moto Lambda function (by
                                 CloudFormation's engine, SNS or the Invoke API) goes to the Lambda
                                 Invoke API there (the harness's RuntimeApi.invoke_url)
        """
        return self._control("POST", "config", settings)

    def config(self) -> dict:
        return self._control("GET", "config")

    def state(self) -> dict:
        """Security Hub state: {account: {region: {enabled, enable_default_standards, tags: {key: value},
        members: {id: status}, administrator, invitations: [{administrator, invitation_id}]}}}."""
        return self._control("GET", "securityhub")

    def calls(self, since: int = 0) -> list[dict]:
        """The call log after sequence number `since` (`last_seq()` before what is to be watched): seq, service,
        operation, account, region, method, path, start, end, status, fault."""
        return [call for call in self._control("GET", "calls") if call["seq"] > since]

    def aws_calls(self, since: int = 0, service: str | None = None, operation: str | None = None) -> list[dict]:
        """`calls(since)` without S3 (the response PUTs and the harness reading them back), of one service or
        operation when given."""
        return [
            call
            for call in self.calls(since)
            if call["service"] != "s3" and service in (None, call["service"]) and operation in (None, call["operation"])
        ]

    def call_counts(
        self,
        service: str | None = None,
        account: str | None = None,
        region: str | None = None,
        operation: str | None = None,
    ) -> list[dict]:
        """Security Hub, Organizations and STS calls counted at the token buckets (emulator/throttle.py), one row
        per (service, account, region, operation) with `served` (took a token, or no bucket is on) and
        `throttled` (answered the throttling error: the bucket was empty, or the service itself refused it, as
        CreateAccount over `create_account_concurrency`), of one service, account, region or operation when
        given. Calls dropped or answered by a random fault first are not counted (the call log has them). Since
        the last reset; rows are sorted."""
        wanted = {"service": service, "account": account, "region": region, "operation": operation}
        return [
            row
            for row in self._control("GET", "call_counts")
            if all(value is None or row[key] == value for key, value in wanted.items())
        ]

    def call_totals(
        self,
        service: str | None = None,
        account: str | None = None,
        region: str | None = None,
        operation: str | None = None,
    ) -> dict[str, int]:
        """`call_counts` summed: {"served": n, "throttled": m}."""
        rows = self.call_counts(service, account, region, operation)
        return {"served": sum(r["served"] for r in rows), "throttled": sum(r["throttled"] for r in rows)}

    def last_seq(self) -> int:
        """The call log's last sequence number (0 when empty): calls after it belong to what follows."""
        calls = self.calls()
        return calls[-1]["seq"] if calls else 0

    def enable_hub(self, account: str, region: str, enable_default_standards: bool = True) -> None:
        """Enable a hub directly, without an AWS call (test setup)."""
        self._control(
            "POST",
            "seed/hub",
            {"account": account, "region": region, "enable_default_standards": enable_default_standards},
        )

    def set_member_status(self, admin: str, member: str, region: str, status: str) -> None:
        """The administrator's record of `member` shows `status` (test setup: Deleted and AccountSuspended, which no
        call leads to; emulator/securityhub.py)."""
        self._control(
            "POST", "seed/member-status", {"administrator": admin, "member": member, "region": region, "status": status}
        )

    # --- CloudFormation stacks held in progress (emulator/stacks.py) ------------------------------

    def hold_stack(
        self,
        account: str,
        region: str,
        logical_id: str = "Member",
        resource_type: str = "Custom::SecurityHubMemberAccount",
        stack_id: str | None = None,
        service_token: str | None = None,
    ) -> str:
        """A real stack on moto's CloudFormation in `account` and `region`, CREATE_IN_PROGRESS because the
        Create of its custom resource `logical_id` is held (neither forwarded nor answered), as CloudFormation
        holds a stack while it waits for the provider; answers its StackId.

        `stack_id`: that id instead of a fresh one (it must name `account` and `region`); a stack held before
        under that id gets `logical_id` added. `resource_type`: a `Custom::` type or
        `AWS::CloudFormation::CustomResource`; any other type (e.g. `AWS::SNS::Topic`) is created under
        `logical_id` beside a held custom resource that keeps the stack in progress."""
        body = {
            "account": account,
            "region": region,
            "logical_id": logical_id,
            "resource_type": resource_type,
            "stack_id": stack_id,
        }
        if service_token is not None:
            body["service_token"] = service_token
        return self._control("POST", "stacks/hold", body)["stack_id"]

    def set_stack(
        self, stack_id: str, status: str | None = None, physical_ids: dict[str, str | None] | None = None
    ) -> dict:
        """Set a held stack's status (a StackStatus: UPDATE_IN_PROGRESS while CloudFormation sends an Update,
        DELETE_IN_PROGRESS for a Delete, UPDATE_COMPLETE_CLEANUP_IN_PROGRESS for the Delete of a replaced id,
        CREATE_COMPLETE when no operation is in progress, ...) and custom resources' physical ids
        ({logical id: id}); answers `held_stack(stack_id)`."""
        return self._control(
            "POST", "stacks/set", {"stack_id": stack_id, "status": status, "physical_ids": physical_ids or {}}
        )

    def held_stack(self, stack_id: str) -> dict:
        """{stack_id, status, resources: {logical id: {type, physical_id}}, requests: {logical id: the Create
        moto's engine sent and the emulator held}}."""
        return self._control("POST", "stacks/describe", {"stack_id": stack_id})

    # --- acting as accounts -----------------------------------------------------------------------

    def session(self, account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> EndpointSession:
        """A boto3 Session acting as `account_id` (assumed-role credentials for any non-default account)."""
        key = f"{account_id}/{region}"
        if key not in self._sessions:
            self._sessions[key] = EndpointSession(self.url, region_name=region, **self._credentials(account_id))
        return self._sessions[key]

    def _credentials(self, account_id: str) -> dict[str, str]:
        if account_id == DEFAULT_ACCOUNT:
            return dict(TEST_CREDENTIALS)
        sts = self.client("sts")
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE_NAME}", RoleSessionName="emulator-test"
        )["Credentials"]
        return {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }

    def client(
        self, service: str, account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION, **kwargs: Any
    ) -> Any:
        return self.session(account_id, region).client(service, **kwargs)

    # --- S3 (CloudFormation response URLs) --------------------------------------------------------

    def create_bucket(self, name: str) -> None:
        self.client("s3").create_bucket(Bucket=name)

    def presigned_put_url(self, bucket: str, key: str, expires_in: int = 3600) -> str:
        return self.client("s3").generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
        )

    def read_object(self, bucket: str, key: str) -> bytes | None:
        try:
            return self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise

    # --- Organizations ----------------------------------------------------------------------------

    def create_organization(self) -> dict:
        """An organization (all features) managed by the default account."""
        return self.client("organizations").create_organization(FeatureSet="ALL")["Organization"]

    def create_account(self, name: str, email: str, tags: dict[str, str] | None = None, timeout_s: float = 10.0) -> str:
        """CreateAccount, then wait (bounded) for SUCCEEDED; answers the account id."""
        organizations = self.client("organizations")
        request_id = organizations.create_account(
            AccountName=name, Email=email, Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()]
        )["CreateAccountStatus"]["Id"]

        def created() -> str | None:
            status = organizations.describe_create_account_status(CreateAccountRequestId=request_id)[
                "CreateAccountStatus"
            ]
            if status["State"] == "FAILED":
                raise EmulatorError(f"CreateAccount {name} failed: {status.get('FailureReason')}")
            return status["AccountId"] if status["State"] == "SUCCEEDED" else None

        return wait_until(created, timeout_s, POLL_INTERVAL_S, f"CreateAccount {name} succeeding")

    def org_accounts(self) -> list[dict]:
        """Every account of the organization (ListAccounts, all pages)."""
        pages = self.client("organizations").get_paginator("list_accounts").paginate()
        return [account for page in pages for account in page["Accounts"]]

    def accounts_with_email(self, email: str) -> list[dict]:
        """The organization's accounts with this email address (compared case-insensitively)."""
        return [account for account in self.org_accounts() if account["Email"].lower() == email.lower()]

    # --- Security Hub state -----------------------------------------------------------------------

    def join_by_invitation(self, admin: str, member: str, region: str) -> None:
        """`member` becomes an Enabled member of `admin` in `region` the way a person would, without the provider:
        both hubs enabled, CreateMembers and InviteMembers by the administrator, the member accepting the
        invitation from `admin` (not merely the first one)."""
        self.enable_hub(admin, region)
        self.enable_hub(member, region)
        admin_hub = self.client("securityhub", admin, region)
        admin_hub.create_members(AccountDetails=[{"AccountId": member}])
        admin_hub.invite_members(AccountIds=[member])
        member_hub = self.client("securityhub", member, region)
        invitation = next(i for i in member_hub.list_invitations()["Invitations"] if i["AccountId"] == admin)
        member_hub.accept_administrator_invitation(AdministratorId=admin, InvitationId=invitation["InvitationId"])
        if self.member_status(admin, member, region) != "Enabled":
            raise EmulatorError(f"{member} did not become an Enabled member of {admin} in {region}")

    def member_status(self, admin: str, member: str, region: str) -> str | None:
        """The member's status as its administrator sees it, or None when it is not a member."""
        return self._hub_view(admin, region).get("members", {}).get(member)

    def administrator_of(self, member: str, region: str) -> str | None:
        """The administrator the member is an Enabled member of in `region`, or None."""
        return self._hub_view(member, region).get("administrator")

    def _hub_view(self, account: str, region: str) -> dict:
        return self.state().get(account, {}).get(region, {})

    # --- CloudFormation stacks: what CloudFormation shows besides the status (emulator/stacks.py) --------------

    def stage_stack(
        self,
        stack_id: str,
        status: str | None = None,
        *,
        physical_ids: dict[str, str | None] | None = None,
        resource_statuses: dict[str, str] | None = None,
        deleting: dict[str, str] | None = None,
        properties: dict[str, dict] | None = None,
        parameters: dict[str, str] | None = None,
        template_body: str | None = None,
    ) -> dict:
        """`set_stack`, and what CloudFormation shows with the status: each custom resource's own status (by
        default the one CloudFormation shows for it in that stack status; `resource_statuses` {logical id:
        ResourceStatus} for others), the DELETE_IN_PROGRESS event of a physical id a replacement left behind
        (`deleting` {logical id: old id}, during a cleanup), resources' Properties in the stack's template
        (`properties` {logical id: {...}}), the stack's parameter values (`parameters`), or the template's whole
        text (`template_body`, e.g. YAML); answers `held_stack(stack_id)`, with `resource_statuses`."""
        body = {
            "stack_id": stack_id,
            "status": status,
            "physical_ids": physical_ids or {},
            "resource_statuses": resource_statuses or {},
            "deleting": deleting or {},
            "properties": properties or {},
            "parameters": parameters or {},
        }
        if template_body is not None:
            body["template_body"] = template_body
        return self._control("POST", "stacks/set", body)

    def stack_events(self, stack_id: str) -> list[dict]:
        """DescribeStackEvents of the stack, newest first, read with its own account's credentials."""
        region, account = stack_id.split(":")[3], stack_id.split(":")[4]
        return self.client("cloudformation", account, region).describe_stack_events(StackName=stack_id)["StackEvents"]
