"""pytest fixtures of the end-to-end harness (loaded through `pytest_plugins` in tests/conftest.py).

- `bootstrap_binary` (session): path of the binary (`BOOTSTRAP_BINARY` or target/debug/bootstrap); fails the
  test, never skips, when it is missing.
- `runtime_api` (function): a fresh `RuntimeApi` stand-in.
- `provider` (function): one running binary against the `emulator` fixture and `runtime_api`.
- `cfn` (function): a `Cfn` driver bound to those: `cfn.create(props)`, `cfn.update(...)`, `cfn.delete(...)`,
  `cfn.send(event)`, each a full request answered with a `CfnResponse`, for a real stack on the emulator that is
  in progress as CloudFormation's is while it waits for the answer (`Cfn.hold`).
- `provider_factory` (function): `provider_factory(env_overrides=None)` starts another binary on its own
  runtime API stand-in and returns a `Deployment(runtime_api, provider, cfn)`; all are stopped at teardown.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import uuid

import pytest

from emulator.client import EmulatorError
from harness import events
from harness.provider import BinaryMissing, Provider, require_binary
from harness.runtime_api import Result, RuntimeApi

# CloudFormation's response bucket of the region (the provider PUTs to no other bucket on S3; on loopback, which
# the harness allows, any would do, but the name keeps the URLs real).
RESPONSE_BUCKET = "cloudformation-custom-resource-response-useast1"
DEFAULT_TIMEOUT_S = 60.0
# The stack's status, and the resource's own, while CloudFormation waits for the answer to each request type
# (docs/origin-statuses.md: the statuses CloudFormation shows while it waits for a custom resource).
WAITING_STATUS = {"Create": "CREATE_IN_PROGRESS", "Update": "UPDATE_IN_PROGRESS", "Delete": "DELETE_IN_PROGRESS"}
RESOURCE_WAITING_STATUS = WAITING_STATUS
STACK_ARN = re.compile(r"arn:aws:cloudformation:([a-z0-9-]+):(\d{12}):stack/[A-Za-z][A-Za-z0-9-]{0,127}/[^/\s]+")
LOGICAL_ID = re.compile(r"[A-Za-z0-9]{1,255}")
CUSTOM_TYPE = re.compile(r"Custom::[A-Za-z0-9_@-]{1,60}|AWS::CloudFormation::CustomResource")


@dataclasses.dataclass
class CfnResponse:
    """What CloudFormation would have received for one request."""

    raw: bytes | None  # the PUT body, None when nothing was PUT
    runtime_result: Result  # what the binary answered the Lambda runtime
    event: dict
    lambda_request_id: str
    response_key: str | None  # S3 key of the response URL (None for a URL not on the emulator)
    deadline: float  # time.time() of the invocation's deadline

    @property
    def body(self) -> dict | None:
        return None if self.raw is None else json.loads(self.raw)

    @property
    def status(self) -> str | None:
        return None if self.raw is None else self.body.get("Status")

    @property
    def reason(self) -> str | None:
        return None if self.raw is None else self.body.get("Reason")

    @property
    def physical_id(self) -> str | None:
        return None if self.raw is None else self.body.get("PhysicalResourceId")

    @property
    def data(self) -> dict | None:
        return None if self.raw is None else self.body.get("Data")

    def describe(self) -> str:
        body = self.raw.decode("utf-8", "replace") if self.raw is not None else "<nothing PUT>"
        return (
            f"{self.event.get('RequestType')} -> runtime {self.runtime_result.kind} "
            f"{self.runtime_result.body[:500]!r}; response {body[:1500]}"
        )


def _is_missing(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}"
    return any(s in text for s in ("NoSuchKey", "NoSuchBucket", "404", "Not Found", "NotFound", "KeyError"))


class Cfn:
    """Sends CloudFormation custom-resource requests to the binary and reads back what it PUT.

    Each request is for a real stack (`hold`): the binary checks with CloudFormation that the stack exists and
    is waiting for the answer, so the emulator holds one in progress, as CloudFormation holds a stack while it
    waits for a custom resource. `hold=False` (on `send` and the request methods) sends a request as it is, for
    tests that forge one or set the stack up themselves (`emulator.hold_stack`, `emulator.set_stack`)."""

    def __init__(
        self,
        emulator,
        runtime_api: RuntimeApi,
        provider: Provider | None = None,
        bucket: str = RESPONSE_BUCKET,
        timeout: float = DEFAULT_TIMEOUT_S,
    ):
        self.emulator = emulator
        self.runtime_api = runtime_api
        self.provider = provider
        self.bucket = bucket
        self.timeout = timeout
        self._bucket_ready = False
        self.stack_id = events.stack_id()
        self._held: set[tuple[str, str]] = set()
        self._hold_lock = threading.Lock()

    # -- the stack -------------------------------------------------------------------------------------------

    def hold(self, event: dict) -> str | None:
        """Make the event's stack what CloudFormation's is while it waits for this request's answer: a stack
        held on the emulator (in the StackId's account and region, under that StackId) holding the event's
        LogicalResourceId of its ResourceType, on first use of that (stack, logical id); then CREATE_IN_PROGRESS
        for a Create, and UPDATE_IN_PROGRESS or DELETE_IN_PROGRESS with the event's PhysicalResourceId as the
        resource's for an Update or a Delete, the resource itself in the same status, and the event's
        ResourceProperties as the resource's Properties in the stack's template (what CloudFormation sends is its
        template's, after an update the new one's). Answers the StackId, or None for an event no stack could have
        sent (no stack ARN, a logical id CloudFormation does not allow, no custom type): it is sent as it is.
        """
        stack_id, logical_id = event.get("StackId"), event.get("LogicalResourceId")
        kind, resource_type = event.get("RequestType"), event.get("ResourceType")
        if not (
            isinstance(stack_id, str)
            and isinstance(logical_id, str)
            and isinstance(resource_type, str)
            and kind in WAITING_STATUS
        ):
            return None
        arn = STACK_ARN.fullmatch(stack_id)
        if arn is None or not LOGICAL_ID.fullmatch(logical_id) or not CUSTOM_TYPE.fullmatch(resource_type):
            return None
        region, account = arn.groups()
        physical_id = event.get("PhysicalResourceId")
        physical_ids = {logical_id: physical_id} if kind != "Create" and isinstance(physical_id, str) else {}
        properties = event.get("ResourceProperties")
        shown = {
            "physical_ids": physical_ids,
            "resource_statuses": {logical_id: RESOURCE_WAITING_STATUS[kind]},
            "properties": {logical_id: properties} if isinstance(properties, dict) else {},
        }
        with self._hold_lock:
            if (stack_id, logical_id) in self._held:
                try:
                    self.emulator.stage_stack(stack_id, WAITING_STATUS[kind], **shown)
                    return stack_id
                except EmulatorError as error:  # the emulator was reset since: hold it again
                    if " 404 " not in str(error):
                        raise
            self.emulator.hold_stack(account, region, logical_id, resource_type, stack_id=stack_id)
            self._held.add((stack_id, logical_id))
            self.emulator.stage_stack(stack_id, WAITING_STATUS[kind], **shown)
        return stack_id

    # -- the response URL ------------------------------------------------------------------------------------

    def ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        try:
            self.emulator.create_bucket(self.bucket)
        except Exception as exc:  # already there is fine
            if "BucketAlready" not in f"{type(exc).__name__} {exc}":
                raise
        self._bucket_ready = True

    def response_url(self, key: str | None = None) -> tuple[str, str]:
        """A fresh presigned S3 PUT URL on the emulator, as CloudFormation's are. Returns (url, key)."""
        self.ensure_bucket()
        key = key or f"responses/{uuid.uuid4()}"
        return self.emulator.presigned_put_url(self.bucket, key), key

    def read_response(self, key: str) -> bytes | None:
        """The body PUT to `key`, or None when nothing was PUT."""
        try:
            data = self.emulator.read_object(self.bucket, key)
        except Exception as exc:
            if _is_missing(exc):
                return None
            raise
        if data is None:
            return None
        return data if isinstance(data, bytes) else str(data).encode()

    # -- requests --------------------------------------------------------------------------------------------

    def event(self, request_type: str, props: dict | None = None, **kw) -> tuple[dict, str | None]:
        """Build an event with a fresh response URL (unless `response_url=` is given). Returns (event, key)."""
        key = None
        if kw.get("response_url") is None:
            kw["response_url"], key = self.response_url()
        kw.setdefault("stack", self.stack_id)
        url = kw.pop("response_url")
        return events.request(request_type, props, url, **kw), key

    def send(
        self,
        event: dict | str | bytes,
        *,
        key: str | None = None,
        deadline_s: float = 900,
        timeout: float | None = None,
        sns: bool | str = False,
        hold: bool = True,
    ) -> CfnResponse:
        """Invoke the binary with `event` (wrapped in SNS when `sns`: True for the provider's topic, or the ARN
        of the topic it came through), wait for its runtime answer (bounded) and read back the response body PUT
        to `key` (derived from the event's ResponseURL when not given). `hold`: first make the event's stack real
        and waiting for it (`hold`)."""
        if hold and isinstance(event, dict):
            self.hold(event)
        if key is None and isinstance(event, dict):
            key = self._key_of(event.get("ResponseURL", ""))
        payload = (events.sns_wrap(event, sns) if isinstance(sns, str) else events.sns_wrap(event)) if sns else event
        rid = self.runtime_api.invoke(payload, deadline_s=deadline_s)
        result = self.runtime_api.wait_result(rid, timeout if timeout is not None else self.timeout)
        raw = self.read_response(key) if key else None
        return CfnResponse(
            raw=raw,
            runtime_result=result,
            event=event if isinstance(event, dict) else {},
            lambda_request_id=rid,
            response_key=key,
            deadline=self.runtime_api.invocation(rid).deadline,
        )

    def request(
        self,
        request_type: str,
        props: dict | None = None,
        *,
        deadline_s: float = 900,
        timeout: float | None = None,
        sns: bool | str = False,
        hold: bool = True,
        **kw,
    ) -> CfnResponse:
        event, key = self.event(request_type, props, **kw)
        return self.send(event, key=key, deadline_s=deadline_s, timeout=timeout, sns=sns, hold=hold)

    __call__ = request

    def create(self, props: dict | None, **kw) -> CfnResponse:
        return self.request("Create", props, **kw)

    def update(self, props: dict | None, old_props: dict, physical_id: str, **kw) -> CfnResponse:
        return self.request("Update", props, old_props=old_props, physical_id=physical_id, **kw)

    def delete(self, props: dict | None, physical_id: str, **kw) -> CfnResponse:
        return self.request("Delete", props, physical_id=physical_id, **kw)

    def assert_still_serving(self, admin: str = "123456789012") -> CfnResponse:
        """The same process answers a harmless request: a Delete whose physical id is not an account id (the
        rollback of a refused or failed Create, which the provider answers without any check or AWS call; the
        test's stack is left as it is)."""
        pid = self.provider.pid if self.provider else None
        if self.provider is not None:
            assert self.provider.alive(), f"provider exited ({self.provider.returncode}):\n{self.provider.tail()}"
        resp = self.delete(
            {"AdministratorAccountId": admin, "AccountId": "111111111111"},
            physical_id=f"not-an-account-{uuid.uuid4().hex[:8]}",
            timeout=30,
            hold=False,
        )
        assert resp.status == "SUCCESS", resp.describe()
        assert resp.runtime_result.kind == "response", resp.describe()
        if self.provider is not None:
            assert self.provider.alive() and self.provider.pid == pid, "provider process was replaced or exited"
        return resp

    def _key_of(self, url: str) -> str | None:
        """The S3 key of a presigned URL on the emulator's bucket (path style, as `response_url` makes them);
        None for a URL anywhere else."""
        from urllib.parse import unquote, urlsplit

        parts, emulator = urlsplit(url), urlsplit(self.emulator.url)
        if (parts.hostname, parts.port) != (emulator.hostname, emulator.port):
            return None
        path = unquote(parts.path)
        prefix = f"/{self.bucket}/"
        return path[len(prefix) :] if path.startswith(prefix) else None


@dataclasses.dataclass
class Deployment:
    runtime_api: RuntimeApi
    provider: Provider
    cfn: Cfn


def send_at_once(requests: list[tuple[Deployment, dict, str]], deadline_s: float, wait_s: float) -> list[CfnResponse]:
    """Invokes each (deployment, event, response key) at once, each binary with its own event, then waits (each
    wait bounded by `wait_s`) for every runtime answer and reads back its response, in the order given."""
    invoked = [
        (deployment, event, key, deployment.runtime_api.invoke(event, deadline_s=deadline_s))
        for deployment, event, key in requests
    ]
    responses = []
    for deployment, event, key, rid in invoked:
        result = deployment.runtime_api.wait_result(rid, wait_s)
        responses.append(
            CfnResponse(
                raw=deployment.cfn.read_response(key),
                runtime_result=result,
                event=event,
                lambda_request_id=rid,
                response_key=key,
                deadline=deployment.runtime_api.invocation(rid).deadline,
            )
        )
    return responses


# -- fixtures --------------------------------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"harness_rep_{rep.when}", rep)


def _failed(request) -> bool:
    return any(getattr(getattr(request.node, f"harness_rep_{w}", None), "failed", False) for w in ("setup", "call"))


def _emulator_url(emulator) -> str:
    url = getattr(emulator, "url", None) or getattr(emulator, "endpoint_url", None)
    if not url:
        raise RuntimeError("emulator fixture has no .url")
    return url


@pytest.fixture(scope="session")
def bootstrap_binary():
    try:
        return require_binary()
    except BinaryMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def runtime_api():
    with RuntimeApi() as api:
        yield api


@pytest.fixture
def provider(bootstrap_binary, emulator, runtime_api, tmp_path, request):
    prov = Provider(bootstrap_binary, runtime_api, _emulator_url(emulator), log_path=tmp_path / "bootstrap.log")
    try:
        yield prov
    finally:
        prov.stop()
        if _failed(request):
            print(f"--- bootstrap log (last lines, exit {prov.returncode}) ---\n{prov.tail(60)}")


@pytest.fixture
def cfn(emulator, runtime_api, provider):
    return Cfn(emulator, runtime_api, provider)


@pytest.fixture
def provider_factory(bootstrap_binary, emulator, tmp_path, request):
    started: list[Deployment] = []

    def make(env_overrides: dict[str, str | None] | None = None) -> Deployment:
        api = RuntimeApi()
        try:
            prov = Provider(
                bootstrap_binary,
                api,
                _emulator_url(emulator),
                env_overrides=env_overrides,
                log_path=tmp_path / f"bootstrap-{len(started) + 1}.log",
            )
        except Exception:
            api.close()
            raise
        dep = Deployment(api, prov, Cfn(emulator, api, prov))
        started.append(dep)
        return dep

    try:
        yield make
    finally:
        for dep in started:
            dep.provider.stop()
            dep.runtime_api.close()
            if _failed(request):
                print(
                    f"--- bootstrap log {dep.provider.log_path.name} (exit {dep.provider.returncode}) ---\n"
                    f"{dep.provider.tail(60)}"
                )
