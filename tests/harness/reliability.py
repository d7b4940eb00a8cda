"""Support for the reliability, hostile-input and secrets suites (tests/test_reliability.py, test_hostile.py,
test_secrets.py; also used by others that need the proxy or figures): several binaries on one Runtime API
stand-in, a stand-in for "the internet" behind an HTTP proxy, and assertions shared by the three suites. The
local HTTP listeners that prove who was (not) contacted are `harness.listener`'s.

Everything listens on 127.0.0.1 only, and every wait is bounded.

- `Pool`: N `bootstrap` processes polling ONE RuntimeApi stand-in (as N warm Lambda instances of one function);
  `provider_factory` starts one stand-in per binary, so the pool builds on `harness.provider.Provider` directly.
- `Internet`: an HTTP(S) proxy (a `harness.listener.Server`) given to the binaries through HTTPS_PROXY/HTTP_PROXY
  (reqwest honours them), with NO_PROXY=127.0.0.1 so that the emulator and loopback response URLs are reached
  directly. Any contact with another host lands here instead of leaving the machine. CONNECTs to
  `*.amazonaws.com` are terminated with TLS (a throw-away CA handed to the binary through SSL_CERT_FILE), so a
  response PUT to CloudFormation's response bucket (`https://cloudformation-custom-resource-response-useast1
  .s3.amazonaws.com/...`, the only kind of S3 URL the provider answers at) is received and recorded locally, as
  if S3 had it.
- `record_figure`: figures for the README, appended as JSON lines to the file named by RELIABILITY_FIGURES.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import ssl
import urllib.request
import uuid
from collections.abc import Iterable
from typing import Any

from harness.fixtures import Cfn, CfnResponse
from harness.listener import OK, Seen, Server, parse_head, read_body, read_head, read_request
from harness.provider import Provider
from harness.runtime_api import RuntimeApi

# The 17 commercial regions that need no opt-in (the emulator answers these and 3 more).
REGIONS_17 = sorted(
    [
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "sa-east-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-north-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
    ]
)

# CloudFormation's response bucket in us-east-1, virtual-hosted on the global endpoint (as its ResponseURLs are).
AWS_RESPONSE_HOST = "cloudformation-custom-resource-response-useast1.s3.amazonaws.com"


# -- figures ---------------------------------------------------------------------------------------------------


def record_figure(name: str, value: Any, **details: Any) -> None:
    """Print a figure and, when RELIABILITY_FIGURES names a file, append it there as a JSON line."""
    line = json.dumps({"figure": name, "value": value, **details}, sort_keys=True)
    print(f"FIGURE {line}")
    target = os.environ.get("RELIABILITY_FIGURES")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(line + "\n")


# -- assertions ------------------------------------------------------------------------------------------------


def list_members(emulator, admin: str, region: str) -> list[str]:
    """Every member account id in the administrator's member list (all statuses), duplicates kept."""
    hub = emulator.client("securityhub", admin, region)
    ids, token = [], None
    for _ in range(100):  # bounded pagination
        kwargs = {"OnlyAssociated": False, "MaxResults": 50}
        if token:
            kwargs["NextToken"] = token
        page = hub.list_members(**kwargs)
        ids += [m["AccountId"] for m in page.get("Members", [])]
        token = page.get("NextToken")
        if not token:
            return ids
    raise AssertionError("ListMembers did not finish within 100 pages")


def leftovers(emulator, admin: str, member: str, regions: Iterable[str]) -> dict[str, Any]:
    """What is left of a membership in `regions`, from either side; empty when nothing is."""
    state = emulator.state()
    left = {}
    for region in regions:
        status = state.get(admin, {}).get(region, {}).get("members", {}).get(member)
        administrator = state.get(member, {}).get(region, {}).get("administrator")
        if status is not None or administrator == admin:
            left[region] = {"admin sees": status, "member's administrator": administrator}
    return left


def moto_assumed_roles(emulator_url: str) -> list[dict]:
    """Every AssumeRole credential moto issued (access key id, secret, session token), from moto's state dump."""
    with urllib.request.urlopen(emulator_url.rstrip("/") + "/moto-api/data.json", timeout=30) as answer:
        data = json.loads(answer.read())
    return list(data.get("sts", {}).get("AssumedRole", []))


# -- several binaries on one Runtime API -----------------------------------------------------------------------


class Pool:
    """`size` binaries polling one RuntimeApi stand-in: each queued event goes to whichever is free."""

    def __init__(
        self, binary, emulator, size: int, log_dir: pathlib.Path, env_overrides: dict[str, str | None] | None = None
    ):
        self.api = RuntimeApi()
        self.providers: list[Provider] = []
        try:
            for i in range(size):
                self.providers.append(
                    Provider(
                        binary,
                        self.api,
                        emulator.url,
                        env_overrides=env_overrides,
                        log_path=pathlib.Path(log_dir) / f"pool-{i + 1}.log",
                    )
                )
            self.api.wait_polling(size, timeout=20)
        except Exception:
            self.close()
            raise
        self.cfn = Cfn(emulator, self.api, None)

    def submit(self, event: dict, key: str | None, deadline_s: float = 900) -> tuple[str, dict, str | None]:
        """Queue `event` (its stack held in progress first, as `Cfn.send` does)."""
        self.cfn.hold(event)
        return self.api.invoke(event, deadline_s=deadline_s), event, key

    def collect(self, ticket: tuple[str, dict, str | None], timeout: float) -> CfnResponse:
        rid, event, key = ticket
        result = self.api.wait_result(rid, timeout)
        return CfnResponse(
            raw=self.cfn.read_response(key) if key else None,
            runtime_result=result,
            event=event,
            lambda_request_id=rid,
            response_key=key,
            deadline=self.api.invocation(rid).deadline,
        )

    def logs(self) -> str:
        return "\n".join(p.logs() for p in self.providers)

    def close(self) -> None:
        for p in self.providers:
            p.stop()
        self.api.close()


# -- the internet ------------------------------------------------------------------------------------------------


class Internet(Server):
    """An HTTP proxy standing in for everything beyond 127.0.0.1. Records every request; answers CONNECT to
    `*.amazonaws.com:443` with a TLS endpoint (certificate from its own CA) that accepts PUTs with 200, and
    everything else 403."""

    TLS_SUFFIXES = (".amazonaws.com",)

    def __init__(self, workdir: pathlib.Path, hostnames: Iterable[str] = ()):
        """`hostnames`: more names for the TLS certificate, beside the default few (a wildcard covers one label
        only, so that e.g. `s3.eu-west-1.amazonaws.com` or `<bucket>.s3.eu-central-1.amazonaws.com` must be
        named)."""
        self.seen: list[Seen] = []
        workdir = pathlib.Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.ca_file, cert_file, key_file = _make_certificates(workdir, hostnames)
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(cert_file, key_file)
        super().__init__()

    def env(self) -> dict[str, str]:
        """Environment for a binary whose every non-loopback contact must land here."""
        proxy = self.url
        return {
            "HTTPS_PROXY": proxy,
            "HTTP_PROXY": proxy,
            "ALL_PROXY": proxy,
            "https_proxy": proxy,
            "http_proxy": proxy,
            "all_proxy": proxy,
            "NO_PROXY": "127.0.0.1",
            "no_proxy": "127.0.0.1",
            "SSL_CERT_FILE": str(self.ca_file),
        }

    def received(self, path_prefix: str) -> list[Seen]:
        """TLS-terminated requests (as S3 would get them) whose path starts with `path_prefix`."""
        with self.lock:
            return [s for s in self.seen if s.via == "tls" and s.target.startswith(path_prefix)]

    def received_key(self, key: str) -> list[Seen]:
        """TLS-terminated requests for the object `key`: virtual-hosted (`/KEY`) or path-style (`/BUCKET/KEY`)."""
        with self.lock:
            return [s for s in self.seen if s.via == "tls" and _object_key(s.target) == key]

    def serve(self, conn):
        parsed = read_head(conn)
        if parsed is None:
            return
        line, headers = parse_head(parsed[0])
        method, _, rest = line.partition(" ")
        target = rest.split(" ")[0]
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            with self.lock:
                self.seen.append(Seen(line, headers, b"", host=host, via="connect"))
            if port == "443" and host.rstrip(".").endswith(self.TLS_SUFFIXES):
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                tls = self.tls.wrap_socket(conn, server_side=True)
                inner = read_request(tls)
                if inner is None:
                    return
                with self.lock:
                    self.seen.append(Seen(*inner, host=host, via="tls"))
                tls.sendall(OK)
                return
        else:
            body = read_body(conn, headers, parsed[1])
            with self.lock:
                self.seen.append(Seen(line, headers, body, host=headers.get("host", ""), via="proxy"))
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def aws_url(self, key: str) -> str:
        """A CloudFormation-like presigned response URL on the stand-in S3 host (the signature is made up)."""
        credential = "AKIAFAKEPRESIGN00001%2F20261123%2Fus-east-1%2Fs3%2Faws4_request"
        signature = uuid.uuid4().hex + uuid.uuid4().hex
        return (
            f"https://{AWS_RESPONSE_HOST}/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Credential={credential}&X-Amz-Date=20261123T160000Z&X-Amz-Expires=7200"
            f"&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}"
        )


def _object_key(target: str) -> str:
    """The object key of a request target: `/KEY?...` (virtual-hosted) or `/BUCKET/KEY?...` (path-style, its
    bucket a response bucket)."""
    path = target.split("?", 1)[0].lstrip("/")
    bucket, _, rest = path.partition("/")
    return rest if bucket.startswith("cloudformation-custom-resource-response-") and rest else path


def _make_certificates(
    workdir: pathlib.Path, hostnames: Iterable[str] = ()
) -> tuple[pathlib.Path, pathlib.Path, pathlib.Path]:
    """A throw-away CA and a certificate for *.s3.amazonaws.com (and a few more AWS-shaped names, and
    `hostnames`) signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reliability-test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = ["*.s3.amazonaws.com", "s3.amazonaws.com", "*.amazonaws.com", "*.s3.us-east-1.amazonaws.com"]
    names += [name for name in dict.fromkeys(hostnames) if name not in names]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = workdir / "ca.pem", workdir / "server.pem", workdir / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem))
    key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return ca_file, cert_file, key_file
