#!/usr/bin/env bash
# Deploys the provider (cloudformation/provider.yaml) with your AWS credentials: checks that they are the
# organization's management account and that the bucket is in the region, builds the package, uploads it to S3
# and creates or updates the stack. Every AWS CLI call names the region (--region). Runs with the bash 3.2 and
# BSD tools of macOS as well as on Linux. Not run against AWS by the tests (tests/test_deploy_script.py runs it
# against a stand-in `aws`).
#
# Required:
#   DEPLOY_BUCKET              S3 bucket in the target region for the code (must exist)
#   ADMINISTRATOR_ACCOUNT_IDS  comma-separated Security Hub CSPM administrator accounts the provider may enroll into
#   AWS_REGION                 the region where templates will use the provider (or AWS_DEFAULT_REGION, or the
#                              profile's region from `aws configure get region`)
# Optional:
#   STACK_NAME               default securityhub-member-account-provider (the examples' default too)
#   ORGANIZATION_ID          default: the caller's organization (organizations describe-organization)
#   ARCHITECTURE             x86_64 (default) or arm64 (needs dist/bootstrap-arm64.zip: see package.sh)
#   DEPLOY_PREFIX            key prefix in the bucket, default securityhub-member-account/
#   TRUSTED_ACCOUNT_IDS, MEMBER_ACCOUNTS_OUTSIDE_ORGANIZATION, PUBLISHER_ROLE_NAME_PATTERN, ALARM_TOPIC_ARN,
#   MEMBER_ROLE_NAME, ADMINISTRATOR_ROLE_NAME, LOG_RETENTION_DAYS, MAX_CONCURRENT_REGIONS, PERMISSIONS_BOUNDARY
#                            provider.yaml parameters; unset keeps the template's default
#   TAGS                     stack tags, space-separated Key=Value pairs (e.g. "Owner=security CostCenter=42");
#                            CloudFormation propagates them to the stack's resources that support tags
#   SKIP_PACKAGE=1           upload the zip already in dist/ instead of building
# The usual AWS CLI variables (AWS_PROFILE, ...) choose the credentials.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

die() { echo "deploy: $*" >&2; exit 1; }
log() { echo "deploy: $*" >&2; }

command -v aws >/dev/null 2>&1 && aws --version >/dev/null 2>&1 \
    || die "the AWS CLI (aws) is not installed or does not run; install AWS CLI v2 and configure credentials"
[[ -n "${DEPLOY_BUCKET:-}" ]] || die "set DEPLOY_BUCKET to an S3 bucket in the target region, e.g. DEPLOY_BUCKET=my-artifacts make deploy"
[[ -n "${ADMINISTRATOR_ACCOUNT_IDS:-}" ]] \
    || die "set ADMINISTRATOR_ACCOUNT_IDS to the Security Hub CSPM administrator account(s) the provider may enroll into"

REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
[[ -n "$REGION" ]] || REGION="$(aws configure get region 2>/dev/null || true)"
[[ -n "$REGION" ]] || die "set AWS_REGION to the region where templates will use the provider, e.g. AWS_REGION=eu-west-1"

# Every call names the region: the stack, the bucket and the checks must all be in the same one.
awsr() { aws --region "$REGION" "$@"; }

STACK_NAME="${STACK_NAME:-securityhub-member-account-provider}"
ARCHITECTURE="${ARCHITECTURE:-x86_64}"
DEPLOY_PREFIX="${DEPLOY_PREFIX:-securityhub-member-account/}"
case "$ARCHITECTURE" in
    x86_64) ZIP="dist/bootstrap.zip" ;;
    arm64) ZIP="dist/bootstrap-arm64.zip" ;;
    *) die "ARCHITECTURE must be x86_64 or arm64, not '$ARCHITECTURE'" ;;
esac

# --- checks, before the (long) build -----------------------------------------------------------------------------

# The provider creates accounts (organizations:CreateAccount), which only the management account may do
# (Organizations API Reference, CreateAccount: "This operation can be called only from the organization's
# management account"); DescribeOrganization names it as MasterAccountId.
caller="$(awsr sts get-caller-identity --query Account --output text)" \
    || die "cannot call sts get-caller-identity in $REGION: configure AWS credentials (AWS_PROFILE, aws configure)"
organization="$(awsr organizations describe-organization \
    --query "[Organization.MasterAccountId, Organization.Id]" --output text)" \
    || die "cannot read the organization (organizations describe-organization): account $caller must be the management account of an organization"
management="$(echo "$organization" | cut -f1)"
[[ "$caller" == "$management" ]] \
    || die "the credentials are for account $caller, not the organization's management account $management: deploy the provider in the management account"
if [[ -z "${ORGANIZATION_ID:-}" ]]; then
    ORGANIZATION_ID="$(echo "$organization" | cut -f2)"
fi

# Lambda takes code only from a bucket in the function's region (CloudFormation User Guide,
# AWS::Lambda::Function Code: S3Bucket). GetBucketLocation answers a null LocationConstraint (the CLI's text
# output: None) for us-east-1, and EU for buckets made in eu-west-1 under its old name (S3 API Reference,
# GetBucketLocation).
location="$(awsr s3api get-bucket-location --bucket "$DEPLOY_BUCKET" --query LocationConstraint --output text)" \
    || die "cannot read the location of bucket $DEPLOY_BUCKET (does it exist, and may this account read it?)"
case "$location" in
    None | null | "") location="us-east-1" ;;
    EU) location="eu-west-1" ;;
esac
[[ "$location" == "$REGION" ]] \
    || die "bucket $DEPLOY_BUCKET is in $location, not in $REGION: Lambda reads code only from a bucket in its own region; use a bucket in $REGION or set AWS_REGION=$location"

# --- package and upload --------------------------------------------------------------------------------------------

if [[ "${SKIP_PACKAGE:-}" != 1 ]]; then
    "$ROOT/scripts/package.sh"
fi
[[ -f "$ZIP" ]] || die "$ZIP was not built (for arm64: rustup target add aarch64-unknown-linux-gnu, then make package)"

# SHA-256 of a file with what the system has: sha256sum (GNU coreutils), shasum (Perl; macOS) or openssl.
sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    elif command -v openssl >/dev/null 2>&1; then
        # "SHA2-256(file)= <hash>" (OpenSSL 3) or "SHA256(file)= <hash>": the hash is the last field.
        openssl dgst -sha256 "$1" | awk '{print $NF}'
    else
        die "no sha256sum, shasum or openssl to hash $1"
    fi
}

# The key carries the zip's hash: a new build is a new key, which is what makes CloudFormation update the
# function's code (the same key with new content would be seen as no change).
hash="$(sha256_of "$ZIP")"
hash="${hash:0:16}"
key="${DEPLOY_PREFIX}bootstrap-${ARCHITECTURE}-${hash}.zip"
log "uploading $ZIP to s3://$DEPLOY_BUCKET/$key"
awsr s3 cp --only-show-errors "$ZIP" "s3://$DEPLOY_BUCKET/$key"

# --- the stack ---------------------------------------------------------------------------------------------------

params=(
    "CodeS3Bucket=$DEPLOY_BUCKET"
    "CodeS3Key=$key"
    "Architecture=$ARCHITECTURE"
    "OrganizationId=$ORGANIZATION_ID"
    "AdministratorAccountIds=$ADMINISTRATOR_ACCOUNT_IDS"
)
[[ -n "${TRUSTED_ACCOUNT_IDS:-}" ]] && params+=("TrustedAccountIds=$TRUSTED_ACCOUNT_IDS")
[[ -n "${MEMBER_ACCOUNTS_OUTSIDE_ORGANIZATION:-}" ]] \
    && params+=("MemberAccountsOutsideOrganization=$MEMBER_ACCOUNTS_OUTSIDE_ORGANIZATION")
[[ -n "${PUBLISHER_ROLE_NAME_PATTERN:-}" ]] && params+=("PublisherRoleNamePattern=$PUBLISHER_ROLE_NAME_PATTERN")
[[ -n "${ALARM_TOPIC_ARN:-}" ]] && params+=("AlarmTopicArn=$ALARM_TOPIC_ARN")
[[ -n "${MEMBER_ROLE_NAME:-}" ]] && params+=("MemberRoleName=$MEMBER_ROLE_NAME")
[[ -n "${ADMINISTRATOR_ROLE_NAME:-}" ]] && params+=("AdministratorRoleName=$ADMINISTRATOR_ROLE_NAME")
[[ -n "${LOG_RETENTION_DAYS:-}" ]] && params+=("LogRetentionInDays=$LOG_RETENTION_DAYS")
[[ -n "${MAX_CONCURRENT_REGIONS:-}" ]] && params+=("MaxConcurrentRegions=$MAX_CONCURRENT_REGIONS")
[[ -n "${PERMISSIONS_BOUNDARY:-}" ]] && params+=("PermissionsBoundary=$PERMISSIONS_BOUNDARY")

# CAPABILITY_IAM: the stack creates the function's role (with a generated name).
deploy=(
    cloudformation deploy
    --template-file cloudformation/provider.yaml
    --stack-name "$STACK_NAME"
    --capabilities CAPABILITY_IAM
    --no-fail-on-empty-changeset
    --parameter-overrides "${params[@]}"
)
if [[ -n "${TAGS:-}" ]]; then
    read -r -a tags <<<"$TAGS"
    deploy+=(--tags "${tags[@]}")
fi

log "deploying stack $STACK_NAME in $REGION (account $caller, organization $ORGANIZATION_ID)"
awsr "${deploy[@]}"

awsr cloudformation describe-stacks --stack-name "$STACK_NAME" \
    --query "Stacks[0].Outputs[].[OutputKey,OutputValue]" --output table
