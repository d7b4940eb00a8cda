#!/usr/bin/env python3
"""Writes cdk-example/lib/provider-statements.json: the IAM statements of the provider's role in
cloudformation/provider.yaml, from which the CDK provider (cdk-example/lib/provider.ts) builds its own.

    scripts/cdk-provider-statements.py           write the file
    scripts/cdk-provider-statements.py --check   exit 1 if the file differs from what it would write

Run it with the Python that has tests/requirements.txt installed (cfn-lint reads the template). The file is
committed, so that the construct library needs no YAML parser and no template at run time; cdk-example's tests
run `--check`, so a statement changed in the template and not regenerated fails them.

Every identity-based statement of the template (the role's inline policies and the AWS::IAM::Policy and
AWS::IAM::RolePolicy resources attached to it), in the template's order, keyed by its Sid, or by the logical id
of its policy resource when it has none. Action and Resource are always lists. Intrinsics become Fn::Sub text:
`!Sub` keeps its text, `!Ref Name` becomes "${Name}", `!GetAtt Resource.Attribute` becomes
"${Resource.Attribute}"; provider.ts substitutes the CDK's values for them. Anything else (another intrinsic, a
Principal, NotAction, a Deny) is refused, so that a template change the CDK cannot follow fails here first.
"""

import argparse
import json
import sys
from pathlib import Path

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "cloudformation" / "provider.yaml"
OUTPUT = ROOT / "cdk-example" / "lib" / "provider-statements.json"
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::RolePolicy")
STATEMENT_KEYS = {"Sid", "Effect", "Action", "Resource", "Condition"}


def as_list(value):
    return value if isinstance(value, list) else [value]


def sub_text(value, where: str):
    """A value with its intrinsics as Fn::Sub text; plain values as they are, lists and maps element-wise."""
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Sub" and isinstance(argument, str):
            return str(argument)
        if function == "Ref" and isinstance(argument, str):
            return "${" + argument + "}"
        if function == "Fn::GetAtt":
            resource, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return "${" + resource + "." + attribute + "}"
        if function.startswith("Fn::") or function == "Ref":
            sys.exit(f"{where}: {function} has no Fn::Sub text: extend {Path(__file__).name} and provider.ts")
    if isinstance(value, dict):
        return {str(k): sub_text(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [sub_text(v, where) for v in value]
    if isinstance(value, bool) or value is None:
        sys.exit(f"{where}: unexpected {value!r}")
    return str(value) if isinstance(value, str) else value


def role_documents(template) -> list[tuple[str, dict]]:
    """(key for statements without a Sid, policy document) of the role's policies, in the template's order."""
    roles = [name for name, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    if len(roles) != 1:
        sys.exit(f"{TEMPLATE.name}: expected one AWS::IAM::Role, found {roles}")
    (role,) = roles
    documents = []
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if name == role:
            documents += [(f"{role}.{p['PolicyName']}", p["PolicyDocument"]) for p in props.get("Policies", [])]
        elif resource["Type"] in POLICY_TYPES:
            attached = props.get("RoleName") if resource["Type"] == "AWS::IAM::RolePolicy" else props.get("Roles")
            if as_list(attached) != [{"Ref": role}]:
                sys.exit(f"{name}: attached to {attached!r}, not only to {role}")
            documents.append((name, props["PolicyDocument"]))
    return documents


def statements(template) -> dict:
    out = {}
    for policy, document in role_documents(template):
        for index, statement in enumerate(as_list(document["Statement"])):
            where = f"{TEMPLATE.name}: {policy} statement {index}"
            unknown = set(statement) - STATEMENT_KEYS
            if unknown or statement.get("Effect") != "Allow":
                sys.exit(f"{where}: only Allow statements with {sorted(STATEMENT_KEYS)}, found {sorted(statement)}")
            key = str(statement.get("Sid", policy))
            if key in out:
                sys.exit(f"{where}: {key} twice (give each statement its own Sid)")
            entry = {"Sid": key} if "Sid" in statement else {}
            entry["Action"] = sub_text(as_list(statement["Action"]), where)
            entry["Resource"] = sub_text(as_list(statement["Resource"]), where)
            if "Condition" in statement:
                entry["Condition"] = sub_text(statement["Condition"], where)
            out[key] = entry
    return out


def render() -> str:
    document = {
        "//": f"Generated from cloudformation/provider.yaml by scripts/{Path(__file__).name}: do not edit.",
        "statements": statements(cfn_yaml.load(str(TEMPLATE))),
    }
    return json.dumps(document, indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is not what would be written")
    args = parser.parse_args()
    text = render()
    relative = OUTPUT.relative_to(ROOT)
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(
                f"{relative} is not generated from {TEMPLATE.relative_to(ROOT)}: run scripts/{Path(__file__).name}",
                file=sys.stderr,
            )
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
