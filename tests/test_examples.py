"""The landing-zone examples: examples/cfct/manifest.yaml (Customizations for AWS Control Tower) and
examples/lza/customizations-config.yaml (Landing Zone Accelerator on AWS).

Each is YAML of the shape its tool documents (a schema written from the tool's documentation, below, with its
source), names templates that exist, and passes parameters that the template it names accepts: every parameter
passed is declared, every required one (no Default) is passed, and every value matches the parameter's
AllowedPattern, AllowedValues and length limits, as CloudFormation checks them (CloudFormation User Guide,
"CloudFormation template Parameters syntax": on a CommaDelimitedList, AllowedPattern applies to each value). The
role's stack set comes before the member's, the member's role names are the role's, and the member stacks are in
the topic's region."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent
CFCT_MANIFEST = ROOT / "examples" / "cfct" / "manifest.yaml"
LZA_CONFIG = ROOT / "examples" / "lza" / "customizations-config.yaml"
ENROLLMENT_ROLE = "cloudformation/enrollment-role.yaml"
STACKSET_MEMBER = "cloudformation/stackset-member.yaml"

REGION = {"type": "string", "pattern": r"^[a-z]{2}(-[a-z]+)+-\d$"}
STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}

# The CfCT manifest, schema version 2021-03-15: CfCT's own schema (pykwalify), source/src/cfct/validation/
# manifest-v2.schema.yaml in aws-solutions/aws-control-tower-customizations, and the AWS Control Tower User Guide,
# "The CfCT manifest file" (region, version) and "The resources section of the CfCT manifest file" (name: a-z, A-Z,
# 0-9 and hyphens, starting with a letter; resource_file; deployment_targets accounts / organizational_units;
# deploy_method scp | stack_set | rcp; parameters parameter_key / parameter_value; regions). `version` is a YAML
# date in CfCT's schema (type: date); it is compared as text here, and its YAML type checked apart.
CFCT_SCHEMA = {
    "type": "object",
    "required": ["region", "version", "resources"],
    "additionalProperties": False,
    "properties": {
        "region": REGION,
        "version": {"const": "2021-03-15"},
        "enable_stack_set_deletion": {"type": "boolean"},
        "resources": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "resource_file", "deployment_targets", "deploy_method"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9-]*$"},
                    "description": {"type": "string"},
                    "resource_file": {"type": "string", "minLength": 1},
                    "deployment_targets": {
                        "type": "object",
                        "minProperties": 1,
                        "additionalProperties": False,
                        "properties": {
                            # 12-digit ids or account names
                            "accounts": {"type": "array", "items": {"type": ["string", "integer"]}},
                            # nested OUs as Parent:Child (AWS Control Tower User Guide, "Nested OU")
                            "organizational_units": STRINGS,
                        },
                    },
                    "parameter_file": {"type": "string"},
                    "parameters": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["parameter_key", "parameter_value"],
                            "additionalProperties": False,
                            "properties": {"parameter_key": {"type": "string"}, "parameter_value": {}},
                        },
                    },
                    "deploy_method": {"enum": ["scp", "stack_set", "rcp"]},
                    "regions": {"type": "array", "items": REGION, "uniqueItems": True},
                    "export_outputs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "value"],
                            "additionalProperties": False,
                            "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
                        },
                    },
                },
            },
        },
    },
}

# LZA's customizations-config.yaml, customizations.cloudFormationStackSets: LZA typedocs, "CustomizationsConfig /
# CustomizationConfig / CloudFormationStackSetConfig" (ICloudFormationStackSet: administrationRoleArn,
# capabilities, dependsOn, deploymentTargets, description, executionRoleName, name (no spaces), operationPreferences,
# parameters, regions, template), and LZA source, source/packages/@aws-accelerator/config/lib/common/types.ts
# (IDeploymentTargets: organizationalUnits, accounts, excludedRegions, excludedAccounts; ICfnParameter: name, value;
# IOperationPreferences) in awslabs/landing-zone-accelerator-on-aws.
LZA_STACKSET = {
    "type": "object",
    "required": ["name", "template", "deploymentTargets", "regions"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": r"^\S+$"},
        "description": {"type": "string"},
        "template": {"type": "string", "minLength": 1},
        "capabilities": {
            "type": "array",
            "items": {"enum": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]},
        },
        "deploymentTargets": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "organizationalUnits": STRINGS,
                "accounts": STRINGS,
                "excludedRegions": STRINGS,
                "excludedAccounts": STRINGS,
            },
        },
        "regions": {"type": "array", "minItems": 1, "items": REGION},
        "parameters": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "value"],
                "additionalProperties": False,
                "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
            },
        },
        "operationPreferences": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "failureToleranceCount": {"type": "integer", "minimum": 0},
                "failureTolerancePercentage": {"type": "integer", "minimum": 0, "maximum": 100},
                "maxConcurrentCount": {"type": "integer", "minimum": 1},
                "maxConcurrentPercentage": {"type": "integer", "minimum": 1, "maximum": 100},
                "regionConcurrencyType": {"enum": ["SEQUENTIAL", "PARALLEL"]},
                "regionOrder": {"type": "array", "items": REGION},
            },
        },
        "dependsOn": STRINGS,
        "administrationRoleArn": {"type": "string"},
        "executionRoleName": {"type": "string"},
    },
}
LZA_SCHEMA = {
    "type": "object",
    "required": ["customizations"],
    "properties": {
        "customizations": {
            "type": "object",
            "required": ["cloudFormationStackSets"],
            "properties": {"cloudFormationStackSets": {"type": "array", "minItems": 1, "items": LZA_STACKSET}},
        },
    },
}


def textual(value):
    """The YAML document with dates as ISO text (JSON Schema knows no dates)."""
    if isinstance(value, dict):
        return {k: textual(v) for k, v in value.items()}
    if isinstance(value, list):
        return [textual(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def cfct() -> dict:
    return yaml.safe_load(CFCT_MANIFEST.read_text())


def lza() -> dict:
    return yaml.safe_load(LZA_CONFIG.read_text())


def template(relative: str) -> dict:
    return cfn_yaml.load(str(ROOT / relative))


def cfct_stack_sets() -> list[tuple[str, dict[str, str], list[str], dict]]:
    """(template path, parameters, regions, entry) of the manifest's stack sets, in order."""
    return [
        (
            r["resource_file"],
            {p["parameter_key"]: p["parameter_value"] for p in r.get("parameters", [])},
            r.get("regions") or [cfct()["region"]],
            r,
        )
        for r in cfct()["resources"]
        if r["deploy_method"] == "stack_set"
    ]


def lza_stack_sets() -> list[tuple[str, dict[str, str], list[str], dict]]:
    return [
        (s["template"], {p["name"]: p["value"] for p in s.get("parameters", [])}, s["regions"], s)
        for s in lza()["customizations"]["cloudFormationStackSets"]
    ]


EXAMPLES = {"cfct": cfct_stack_sets, "lza": lza_stack_sets}


def by_template(stack_sets) -> dict[str, tuple[dict[str, str], list[str], dict]]:
    return {path: (parameters, regions, entry) for path, parameters, regions, entry in stack_sets}


# --- shape ---------------------------------------------------------------------------------------------------


def test_cfct_manifest_has_the_documented_shape():
    document = cfct()
    jsonschema.validate(textual(document), CFCT_SCHEMA)
    # CfCT's schema types the version as a YAML date: a quoted "2021-03-15" would be refused.
    assert isinstance(document["version"], datetime.date), "version: 2021-03-15, unquoted (a YAML date)"
    names = [r["name"] for r in document["resources"]]
    assert len(names) == len(set(names)), names


def test_lza_config_has_the_documented_shape():
    document = lza()
    jsonschema.validate(document, LZA_SCHEMA)
    names = [s["name"] for s in document["customizations"]["cloudFormationStackSets"]]
    assert len(names) == len(set(names)), names
    for stack_set in document["customizations"]["cloudFormationStackSets"]:
        for dependency in stack_set.get("dependsOn", []):
            assert dependency in names, f"{stack_set['name']} depends on an unknown StackSet {dependency}"


@pytest.mark.parametrize(
    "schema, document",
    [
        (
            CFCT_SCHEMA,
            {
                "region": "eu-west-1",
                "version": "2021-03-15",
                "resources": [
                    {
                        "name": "x",
                        "resource_file": "t.yaml",
                        "deploy_method": "stack_sets",
                        "deployment_targets": {"accounts": []},
                    }
                ],
            },
        ),
        (
            LZA_SCHEMA,
            {
                "customizations": {
                    "cloudFormationStackSets": [
                        {
                            "name": "x",
                            "template": "t.yaml",
                            "regions": ["us-east-1"],
                            "deploymentTargets": {"organizationalUnits": ["A"]},
                            "parameters": [{"ParameterKey": "A", "ParameterValue": "b"}],
                        }
                    ]
                }
            },
        ),
    ],
    ids=["cfct", "lza"],
)
def test_the_schemas_refuse_what_the_tools_refuse(schema, document):
    """The schemas are not vacuous: a misspelt deploy_method, CloudFormation's own parameter keys in LZA."""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


# --- templates and their parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES)
def test_templates_exist_and_are_the_enrollment_role_then_the_member(example):
    """Paths are relative to the tool's configuration package, laid out as this repository (cloudformation/)."""
    stack_sets = EXAMPLES[example]()
    for path, _, _, _ in stack_sets:
        assert (ROOT / path).is_file(), f"{example}: {path} does not exist"
        assert path.startswith("cloudformation/") and path.endswith(".yaml"), path
    assert [path for path, _, _, _ in stack_sets] == [ENROLLMENT_ROLE, STACKSET_MEMBER]


def check_parameters(relative: str, passed: dict[str, str]) -> None:
    declared = template(relative)["Parameters"]
    unknown = set(passed) - set(declared)
    assert not unknown, f"{relative}: passes parameters the template does not declare: {sorted(unknown)}"
    missing = {name for name, spec in declared.items() if "Default" not in spec} - set(passed)
    assert not missing, f"{relative}: required parameters not passed: {sorted(missing)}"
    for name, value in passed.items():
        spec = declared[name]
        # The tools hand CloudFormation strings: a YAML number or boolean would not be one (CfCT calls
        # value.startswith on it; LZA's ICfnParameter.value is a string).
        assert isinstance(value, str), f"{relative} {name}: {value!r} is not a string (quote it)"
        values = value.split(",") if spec["Type"] == "CommaDelimitedList" else [value]
        for item in values:
            if "AllowedPattern" in spec:
                assert re.fullmatch(spec["AllowedPattern"], item), (
                    f"{relative} {name}: {item!r} does not match AllowedPattern {spec['AllowedPattern']}"
                )
            if "AllowedValues" in spec:
                assert item in [str(v) for v in spec["AllowedValues"]], (
                    f"{relative} {name}: {item!r} is not one of {spec['AllowedValues']}"
                )
            if "MinLength" in spec:
                assert len(item) >= int(spec["MinLength"]), f"{relative} {name}: shorter than MinLength"
            if "MaxLength" in spec:
                assert len(item) <= int(spec["MaxLength"]), f"{relative} {name}: longer than MaxLength"


@pytest.mark.parametrize("example", EXAMPLES)
def test_parameters_are_accepted_by_the_templates(example):
    for path, parameters, _, _ in EXAMPLES[example]():
        check_parameters(path, parameters)


def test_the_parameter_check_refuses_bad_parameters():
    with pytest.raises(AssertionError, match="does not declare"):
        check_parameters(
            STACKSET_MEMBER,
            {
                "TopicServiceToken": "arn:aws:sns:eu-west-1:111111111111:t",
                "AdministratorAccountId": "999988887777",
                "Bogus": "x",
            },
        )
    with pytest.raises(AssertionError, match="required parameters"):
        check_parameters(STACKSET_MEMBER, {"AdministratorAccountId": "999988887777"})
    with pytest.raises(AssertionError, match="AllowedPattern"):
        check_parameters(
            ENROLLMENT_ROLE,
            {"ProviderRoleArn": "arn:aws:iam::111111111111:role/r", "AdministratorAccountIds": "999988887777,12345"},
        )
    with pytest.raises(AssertionError, match="one of"):
        check_parameters(
            STACKSET_MEMBER,
            {
                "TopicServiceToken": "arn:aws:sns:eu-west-1:111111111111:t",
                "AdministratorAccountId": "999988887777",
                "OnDelete": "Delete",
            },
        )
    with pytest.raises(AssertionError, match="not a string"):
        check_parameters(
            STACKSET_MEMBER,
            {"TopicServiceToken": "arn:aws:sns:eu-west-1:111111111111:t", "AdministratorAccountId": 999988887777},
        )


def effective(relative: str, passed: dict[str, str], name: str) -> str:
    """The value the stack gets: the one passed, else the template's Default."""
    return passed.get(name, str(template(relative)["Parameters"][name].get("Default", "")))


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_member_uses_the_role_the_first_stack_set_makes(example):
    stack_sets = by_template(EXAMPLES[example]())
    role_parameters, _, _ = stack_sets[ENROLLMENT_ROLE]
    member_parameters, _, _ = stack_sets[STACKSET_MEMBER]
    role_name = effective(ENROLLMENT_ROLE, role_parameters, "RoleName")
    # Not OrganizationAccountAccessRole: accounts vended by Control Tower's Account Factory do not have it.
    for name in ("MemberRoleName", "AdministratorRoleName"):
        assert effective(STACKSET_MEMBER, member_parameters, name) == role_name, name
    administrators = effective(ENROLLMENT_ROLE, role_parameters, "AdministratorAccountIds").split(",")
    assert member_parameters["AdministratorAccountId"] in administrators, (
        "the role has the administrator's side only in its AdministratorAccountIds"
    )


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_role_reaches_every_account_the_member_does(example):
    stack_sets = by_template(EXAMPLES[example]())
    _, _, role = stack_sets[ENROLLMENT_ROLE]
    _, _, member = stack_sets[STACKSET_MEMBER]
    targets = "deployment_targets" if example == "cfct" else "deploymentTargets"
    for kind in set(role[targets]) | set(member[targets]):
        if kind.startswith("excluded"):
            continue
        assert set(member[targets].get(kind, [])) <= set(role[targets].get(kind, [])), kind


@pytest.mark.parametrize("example", EXAMPLES)
def test_member_stacks_are_in_the_topics_region_and_the_provider_is_one_account(example):
    """A custom resource's ServiceToken (here the provider's topic) must be in the stack's region."""
    stack_sets = by_template(EXAMPLES[example]())
    role_parameters, _, _ = stack_sets[ENROLLMENT_ROLE]
    member_parameters, regions, _ = stack_sets[STACKSET_MEMBER]
    _, _, _, topic_region, topic_account, _ = member_parameters["TopicServiceToken"].split(":", 5)
    assert regions == [topic_region], f"member stacks in {regions}, the topic in {topic_region}"
    role_account = role_parameters["ProviderRoleArn"].split(":")[4]
    assert role_account == topic_account, "the provider's role and its topic are in one account (the management's)"


def test_cfct_deploys_the_role_before_the_member():
    """CfCT's stack set stage runs the manifest's stack sets one after the other, in order (CfCT source,
    source/codebuild_scripts/state_machine_trigger.py)."""
    order = [r["resource_file"] for r in cfct()["resources"] if r["deploy_method"] == "stack_set"]
    assert order.index(ENROLLMENT_ROLE) < order.index(STACKSET_MEMBER)


def test_lza_creates_the_member_stack_set_after_the_roles():
    stack_sets = by_template(lza_stack_sets())
    _, _, role = stack_sets[ENROLLMENT_ROLE]
    _, _, member = stack_sets[STACKSET_MEMBER]
    assert role["name"] in member.get("dependsOn", [])


def iam_capability_needed(relative: str) -> str | None:
    """CAPABILITY_NAMED_IAM for IAM resources with custom names, CAPABILITY_IAM for other IAM resources (CloudFormation
    API Reference, CreateStackSet: Capabilities)."""
    resources = template(relative)["Resources"].values()
    iam = [r for r in resources if r["Type"].startswith("AWS::IAM::")]
    if any(
        key in r.get("Properties", {})
        for r in iam
        for key in ("RoleName", "UserName", "GroupName", "ManagedPolicyName", "InstanceProfileName")
    ):
        return "CAPABILITY_NAMED_IAM"
    return "CAPABILITY_IAM" if iam else None


def test_lza_acknowledges_the_capabilities_the_templates_need():
    """CfCT passes CAPABILITY_NAMED_IAM and CAPABILITY_AUTO_EXPAND for every stack set itself (CfCT source,
    source/codebuild_scripts/state_machine_trigger.py); LZA passes what each entry's capabilities say."""
    for path, _, _, entry in lza_stack_sets():
        needed = iam_capability_needed(path)
        capabilities = set(entry.get("capabilities", []))
        if needed == "CAPABILITY_NAMED_IAM":
            assert "CAPABILITY_NAMED_IAM" in capabilities, path
        elif needed:
            assert capabilities & {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}, path
    assert iam_capability_needed(ENROLLMENT_ROLE) == "CAPABILITY_NAMED_IAM"
