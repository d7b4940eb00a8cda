#!/usr/bin/env bash
# Deploys the provider (cloudformation/provider.yaml) with your AWS credentials: builds the package, uploads
# it to S3 and creates or updates the stack. Run it in the organization's management account, in the region
# where templates will use the provider. Not run by the tests.
#
# Required:
#   DEPLOY_BUCKET              S3 bucket in the target region for the code (must exist)
#   ADMINISTRATOR_ACCOUNT_IDS  comma-separated Security Hub administrator accounts the provider may enroll into
# Optional:
#   STACK_NAME               default securityhub-member-account-provider (the examples' default too)
#   ORGANIZATION_ID          default: the caller's organization (organizations describe-organization)
#   ARCHITECTURE             x86_64 (default) or arm64 (needs dist/bootstrap-arm64.zip: see package.sh)
#   DEPLOY_PREFIX            key prefix in the bucket, default securityhub-member-account/
#   TRUSTED_ACCOUNT_IDS, MEMBER_ACCOUNTS_OUTSIDE_ORGANIZATION, PUBLISHER_ROLE_NAME_PATTERN, ALARM_TOPIC_ARN,
#   MEMBER_ROLE_NAME, ADMINISTRATOR_ROLE_NAME, LOG_RETENTION_DAYS, MAX_CONCURRENT_REGIONS
#                            provider.yaml parameters; unset keeps the template's default
#   SKIP_PACKAGE=1           upload the zip already in dist/ instead of building
# The usual AWS CLI variables (AWS_PROFILE, AWS_REGION, ...) choose the account and region.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

die() { echo "deploy: $*" >&2; exit 1; }
log() { echo "deploy: $*" >&2; }

command -v aws >/dev/null 2>&1 && aws --version >/dev/null 2>&1 \
    || die "the AWS CLI (aws) is not installed or does not run; install AWS CLI v2 and configure credentials"
[[ -n "${DEPLOY_BUCKET:-}" ]] || die "set DEPLOY_BUCKET to an S3 bucket in the target region, e.g. DEPLOY_BUCKET=my-artifacts make deploy"
[[ -n "${ADMINISTRATOR_ACCOUNT_IDS:-}" ]] \
    || die "set ADMINISTRATOR_ACCOUNT_IDS to the Security Hub administrator account(s) the provider may enroll into"

STACK_NAME="${STACK_NAME:-securityhub-member-account-provider}"
ARCHITECTURE="${ARCHITECTURE:-x86_64}"
DEPLOY_PREFIX="${DEPLOY_PREFIX:-securityhub-member-account/}"
case "$ARCHITECTURE" in
    x86_64) ZIP="dist/bootstrap.zip" ;;
    arm64) ZIP="dist/bootstrap-arm64.zip" ;;
    *) die "ARCHITECTURE must be x86_64 or arm64, not '$ARCHITECTURE'" ;;
esac

if [[ "${SKIP_PACKAGE:-}" != 1 ]]; then
    "$ROOT/scripts/package.sh"
fi
[[ -f "$ZIP" ]] || die "$ZIP was not built (for arm64: rustup target add aarch64-unknown-linux-gnu, then make package)"

if [[ -z "${ORGANIZATION_ID:-}" ]]; then
    ORGANIZATION_ID="$(aws organizations describe-organization --query Organization.Id --output text)" \
        || die "could not read the organization id; set ORGANIZATION_ID=o-..."
fi

# The key carries the zip's hash: a new build is a new key, which is what makes CloudFormation update the
# function's code (the same key with new content would be seen as no change).
hash="$(sha256sum "$ZIP" | cut -c1-16)"
key="${DEPLOY_PREFIX}bootstrap-${ARCHITECTURE}-${hash}.zip"
log "uploading $ZIP to s3://$DEPLOY_BUCKET/$key"
aws s3 cp --only-show-errors "$ZIP" "s3://$DEPLOY_BUCKET/$key"

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

log "deploying stack $STACK_NAME"
# CAPABILITY_IAM: the stack creates the function's role (with a generated name).
aws cloudformation deploy \
    --template-file cloudformation/provider.yaml \
    --stack-name "$STACK_NAME" \
    --capabilities CAPABILITY_IAM \
    --no-fail-on-empty-changeset \
    --parameter-overrides "${params[@]}"

aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
    --query "Stacks[0].Outputs[].[OutputKey,OutputValue]" --output table
