"""The CDK example app (cdk-example/app/, beside the construct library in cdk-example/) on the emulator's
CloudFormation engine, the way the CDK CLI deploys it.

    assembly = synth("NewAccountStack", {"administratorAccountId": ...}, tmp_path)
    stack = deploy(engine, assembly, "NewAccountStack")

`cdk bootstrap` deploys the CLI's own bootstrap template (stack CDKToolkit): among others the file-asset
bucket and the SSM parameter /cdk-bootstrap/<qualifier>/version, which the synthesized template's
BootstrapVersion parameter (type AWS::SSM::Parameter::Value<String>) reads; moto resolves such parameters from
its SSM (moto cloudformation/parsing.py). `cdk deploy` then publishes the file assets listed in
<stack>.assets.json to their destinations and creates the stack. moto does not evaluate the template's Rules
(CheckBootstrapVersion); the version it would check comes from the real bootstrap template anyway.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import subprocess
import zipfile
from typing import Any

from harness.stacks import DEFAULT_ACCOUNT, DEFAULT_REGION, REPO_ROOT, Engine, Stack

CDK_PACKAGE = REPO_ROOT / "cdk-example"
CDK_APP = CDK_PACKAGE / "app"
BOOTSTRAP_TEMPLATE = CDK_PACKAGE / "node_modules" / "aws-cdk" / "lib" / "api" / "bootstrap" / "bootstrap-template.yaml"
BOOTSTRAP_STACK = "CDKToolkit"
NPM_CI_TIMEOUT_S = 300
SYNTH_TIMEOUT_S = 180


def _run(command: list[str], timeout_s: float, env: dict[str, str] | None = None, cwd: pathlib.Path = CDK_APP) -> None:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )


def ensure_installed() -> None:
    """`npm ci` in cdk-example when its packages are not installed (as `make cdk-test` does)."""
    if not (CDK_PACKAGE / "node_modules" / ".package-lock.json").exists():
        _run(["npm", "ci", "--no-audit", "--no-fund"], NPM_CI_TIMEOUT_S, cwd=CDK_PACKAGE)


def synth(stack: str, context: dict[str, str], outdir: pathlib.Path, region: str = DEFAULT_REGION) -> pathlib.Path:
    """`cdk synth` of one stack of the example app into `outdir` (the cloud assembly); offline, no credentials."""
    ensure_installed()
    env = {
        **os.environ,
        "TS_NODE_TRANSPILE_ONLY": "true",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    options = [item for key, value in context.items() for item in ("-c", f"{key}={value}")]
    _run(["npx", "cdk", "synth", stack, *options, "--quiet", "-o", str(outdir)], SYNTH_TIMEOUT_S, env)
    return outdir


def _substitute(text: str, account: str, region: str) -> str:
    """The asset manifest's placeholders, as the CLI fills them in."""
    for name, value in (("AWS::AccountId", account), ("AWS::Region", region), ("AWS::Partition", "aws")):
        text = text.replace("${" + name + "}", value)
    return text


def _packaged(source: pathlib.Path, packaging: str) -> bytes:
    """A file asset as the CLI uploads it: a file as is, a directory (packaging "zip") zipped."""
    if packaging != "zip" or source.is_file():
        return source.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(source))
    return buffer.getvalue()


def publish_assets(engine: Engine, assembly: pathlib.Path, stack: str, account: str, region: str) -> None:
    manifest: dict[str, Any] = json.loads((assembly / f"{stack}.assets.json").read_text())
    for asset in manifest.get("files", {}).values():
        body = _packaged(assembly / asset["source"]["path"], asset["source"].get("packaging", "file"))
        for destination in asset["destinations"].values():
            engine.upload(
                _substitute(destination["bucketName"], account, region),
                _substitute(destination["objectKey"], account, region),
                body,
                account,
                region,
            )


def bootstrap(engine: Engine, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> Stack:
    """`cdk bootstrap`: the CLI's bootstrap template as stack CDKToolkit."""
    return engine.deploy(BOOTSTRAP_TEMPLATE, BOOTSTRAP_STACK, account=account, region=region)


def deploy(
    engine: Engine, assembly: pathlib.Path, stack: str, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> Stack:
    """`cdk bootstrap` then `cdk deploy` of `stack` from the synthesized `assembly`."""
    toolkit = bootstrap(engine, account, region)
    assert toolkit.status == "CREATE_COMPLETE", toolkit.describe()
    publish_assets(engine, assembly, stack, account, region)
    template = json.loads((assembly / f"{stack}.template.json").read_text())
    return engine.deploy(template, stack, account=account, region=region)
