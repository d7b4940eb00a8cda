//! What an AWS answer means: every error code the provider reacts to is named here, once, with one classifier
//! per meaning. The rest of the crate asks `error.is_not_a_member()`, never compares a code string.
//!
//! AWS answers more than its API reference lists: codes outside the API model, refusals sent as HTTP 200
//! inside `UnprocessedAccounts`, messages that tell two meanings of one code apart. Each classifier says which
//! answers it takes and where they were seen; the fidelity ledger (`tests/emulator/ledger.toml`) lists them all,
//! each graded documented, observed or assumed.

use super::AwsError;

/// Error codes, as the services send them (`__type` / `x-amzn-ErrorType` / `<Code>`).
pub(crate) mod code {
    pub(crate) const ACCESS_DENIED: &str = "AccessDenied";
    pub(crate) const ACCESS_DENIED_EXCEPTION: &str = "AccessDeniedException";
    pub(crate) const ACCOUNT_ALREADY_CLOSED: &str = "AccountAlreadyClosedException";
    pub(crate) const BAD_REQUEST: &str = "BadRequestException";
    pub(crate) const CONCURRENT_MODIFICATION: &str = "ConcurrentModificationException";
    pub(crate) const CONFLICT: &str = "ConflictException";
    pub(crate) const CONSTRAINT_VIOLATION: &str = "ConstraintViolationException";
    pub(crate) const DUPLICATE_ACCOUNT: &str = "DuplicateAccountException";
    pub(crate) const INTERNAL: &str = "InternalException";
    pub(crate) const INVALID_ACCESS: &str = "InvalidAccessException";
    pub(crate) const INVALID_INPUT: &str = "InvalidInputException";
    pub(crate) const LIMIT_EXCEEDED: &str = "LimitExceededException";
    pub(crate) const OPT_IN_REQUIRED: &str = "OptInRequired";
    pub(crate) const RESOURCE_CONFLICT: &str = "ResourceConflictException";
    pub(crate) const RESOURCE_NOT_FOUND: &str = "ResourceNotFoundException";
    pub(crate) const SUBSCRIPTION_REQUIRED: &str = "SubscriptionRequiredException";
    pub(crate) const VALIDATION_ERROR: &str = "ValidationError";
    pub(crate) const TOO_MANY_REQUESTS: &str = "TooManyRequestsException";
    pub(crate) const THROTTLING: &str = "Throttling";
    pub(crate) const THROTTLING_EXCEPTION: &str = "ThrottlingException";
    pub(crate) const TARGET_NOT_FOUND: &str = "TargetNotFoundException";
    pub(crate) const ACCOUNT_NOT_FOUND: &str = "AccountNotFoundException";
    pub(crate) const ORGANIZATIONS_NOT_IN_USE: &str = "AWSOrganizationsNotInUseException";
}

/// Organizations' CreateAccountStatus FailureReason values the provider reacts to (Organizations API
/// Reference, CreateAccountStatus).
pub(crate) mod failure_reason {
    /// "The account could not be created because another account with that email address already exists."
    pub(crate) const EMAIL_ALREADY_EXISTS: &str = "EMAIL_ALREADY_EXISTS";
    /// "You already submitted a request with the same information."
    pub(crate) const CONCURRENT_ACCOUNT_MODIFICATION: &str = "CONCURRENT_ACCOUNT_MODIFICATION";
}

/// The CreateMembers `UnprocessedAccounts` ProcessingResult of an account that is already a member of the
/// calling administrator, as real `aws securityhub create-members` output shows it
/// (aws-samples/aws-secure-environment-accelerator issue 814): "The request is rejected because the given
/// account ID is already a member or associated member of the current account."
const ALREADY_OUR_MEMBER: &str = "already a member or associated member of the current account";
/// "The request is rejected since no such resource found." (GetMembers of an account that is not a member:
/// HTTP 400 BadRequestException, a code outside the API model; hashicorp/terraform-provider-aws PR 34781).
const NO_SUCH_RESOURCE: &str = "no such resource";
/// "Account 123456789012 is not subscribed to AWS Security Hub" (InvalidAccessException).
const NOT_SUBSCRIBED: &str = "not subscribed";
/// "... with an explicit deny in a service control policy" (IAM User Guide, "Troubleshooting access denied
/// error messages": the policy type named in an AccessDenied message).
const SCP_DENY: &str = "service control policy";
/// "This account is currently associated with a central configuration policy, so only the administrator can
/// access this operation." (hashicorp/terraform-provider-aws issue 39687).
const CENTRAL_CONFIGURATION: &str = "central configuration";
/// CloseAccount's quota refusals (Organizations API Reference, ConstraintViolationException: Reason
/// CLOSE_ACCOUNT_QUOTA_EXCEEDED, CLOSE_ACCOUNT_REQUESTS_LIMIT_EXCEEDED).
/// The exception's message is the reason's documented text; the reason's name itself is a separate field that
/// SDKs do not all surface, so either is taken.
const CLOSE_QUOTA: [&str; 2] = ["CLOSE_ACCOUNT_QUOTA_EXCEEDED", "close account quota"];
const CLOSE_REQUESTS_LIMIT: [&str; 2] = ["CLOSE_ACCOUNT_REQUESTS_LIMIT_EXCEEDED", "can close at a time"];

impl AwsError {
    fn says(&self, words: &str) -> bool {
        self.message.to_ascii_lowercase().contains(words)
    }

    /// Any AccessDenied, whatever denied it (an SCP, a missing IAM permission, a role that does not trust us).
    pub(crate) fn is_access_denied(&self) -> bool {
        self.is(code::ACCESS_DENIED_EXCEPTION) || self.is(code::ACCESS_DENIED)
    }

    /// Refused by a service control policy's explicit deny (a region-deny SCP, as Control Tower sets): only that
    /// wording, so that a missing permission or a wrong role is a failure, never a region to leave out.
    pub(crate) fn is_scp_denied(&self) -> bool {
        self.is_access_denied() && self.says(SCP_DENY)
    }

    /// Security Hub: the calling account has no hub in the region: InvalidAccessException "Account … is not
    /// subscribed to AWS Security Hub" for most calls, ResourceNotFoundException "Account is not subscribed to
    /// Security Hub" for DisableSecurityHub (both observed; see the ledger). Any other InvalidAccessException (a
    /// permission the account lacks) is not "no hub".
    pub(crate) fn is_no_hub(&self) -> bool {
        (self.is(code::INVALID_ACCESS) || self.is(code::RESOURCE_NOT_FOUND)) && self.says(NOT_SUBSCRIBED)
    }

    /// Security Hub DescribeHub: no hub, or none of that ARN (ResourceNotFoundException).
    pub(crate) fn is_no_hub_described(&self) -> bool {
        self.is_no_hub() || self.is(code::RESOURCE_NOT_FOUND)
    }

    /// HTTP 400 BadRequestException with no message, as ListInvitations was seen to answer while several calls
    /// ran at once (hashicorp/terraform-provider-aws issue 30867): worth looking again.
    pub(crate) fn is_transient_bad_request(&self) -> bool {
        self.is(code::BAD_REQUEST) && (self.message.is_empty() || self.message == code::BAD_REQUEST)
    }

    /// Security Hub: the asked account is not a member (or the invitation is gone). ResourceNotFoundException;
    /// HTTP 400 BadRequestException, or AccessDeniedException, "no such resource found", as terraform's
    /// `findMembers` treats them all.
    pub(crate) fn is_not_a_member(&self) -> bool {
        self.is(code::RESOURCE_NOT_FOUND)
            || ((self.is(code::BAD_REQUEST) || self.is_access_denied()) && self.says(NO_SUCH_RESOURCE))
    }

    /// Security Hub, when a membership is being taken away: already gone. Not a member, not associated
    /// (InvalidInputException: an organization member's own DisassociateFromAdministratorAccount), or no hub.
    pub(crate) fn is_gone(&self) -> bool {
        self.is_not_a_member() || self.is_no_hub() || self.is(code::INVALID_INPUT)
    }

    /// EnableSecurityHub of a hub that is enabled already.
    pub(crate) fn is_already_enabled(&self) -> bool {
        self.is(code::RESOURCE_CONFLICT)
    }

    /// A centrally configured account's own EnableSecurityHub or DisableSecurityHub.
    pub(crate) fn is_central_configuration(&self) -> bool {
        self.is_access_denied() && self.says(CENTRAL_CONFIGURATION)
    }

    /// A new account whose services are not active yet: "The AWS Access Key Id needs a subscription for the
    /// service" (SubscriptionRequiredException, OptInRequired), for minutes after CreateAccount SUCCEEDED
    /// (awslabs/aws-deployment-framework issues 215, 283, 519; Organizations API Reference, CreateAccount:
    /// "You might need to wait a few minutes").
    pub(crate) fn is_not_ready(&self) -> bool {
        self.is(code::SUBSCRIPTION_REQUIRED) || self.is(code::OPT_IN_REQUIRED)
    }

    /// A refusal, after which nothing has changed: not a server fault (which may have done the work) nor
    /// throttling that outlasted the retries.
    pub(crate) fn is_refusal(&self) -> bool {
        self.code.is_some() && !self.is(code::INTERNAL) && !self.is(code::LIMIT_EXCEEDED)
    }

    /// Security Hub AcceptAdministratorInvitation: the invitation vanished or was replaced.
    pub(crate) fn is_stale_invitation(&self) -> bool {
        self.is(code::INVALID_INPUT) || self.is(code::RESOURCE_NOT_FOUND)
    }

    /// CloudFormation: the stack or the resource does not exist.
    pub(crate) fn is_missing_stack(&self) -> bool {
        self.is(code::VALIDATION_ERROR) && self.message.contains("does not exist")
    }

    /// Organizations CreateAccount refused while another change to the organization is under way.
    pub(crate) fn is_concurrent_modification(&self) -> bool {
        self.is(code::CONCURRENT_MODIFICATION)
    }

    /// Organizations MoveAccount: the account is there already.
    pub(crate) fn is_already_in_parent(&self) -> bool {
        self.is(code::DUPLICATE_ACCOUNT)
    }

    /// Organizations CloseAccount: "You attempted to close an account that is already closed."
    /// (AccountAlreadyClosedException, observed: hashicorp/terraform-provider-aws issue 46627).
    pub(crate) fn is_already_closed(&self) -> bool {
        self.is(code::ACCOUNT_ALREADY_CLOSED)
    }

    /// Organizations: "The request failed because it conflicts with the current state of the specified
    /// resource." (ConflictException; CloseAccount of an account that is closing already, among others).
    pub(crate) fn is_conflict(&self) -> bool {
        self.is(code::CONFLICT)
    }

    /// Organizations CloseAccount refused for the 30-day quota (CLOSE_ACCOUNT_QUOTA_EXCEEDED: "You have exceeded
    /// close account quota for the past 30 days.").
    pub(crate) fn is_close_quota(&self) -> bool {
        self.is(code::CONSTRAINT_VIOLATION) && CLOSE_QUOTA.iter().any(|words| self.message.contains(words))
    }

    /// Organizations CloseAccount refused for closures under way at once (CLOSE_ACCOUNT_REQUESTS_LIMIT_EXCEEDED:
    /// "You attempted to exceed the number of accounts that you can close at a time.").
    pub(crate) fn is_close_requests_limit(&self) -> bool {
        self.is(code::CONSTRAINT_VIOLATION) && CLOSE_REQUESTS_LIMIT.iter().any(|words| self.message.contains(words))
    }

    /// STS AssumeRole refused: the role is missing, does not trust the provider, or is not there yet.
    pub(crate) fn is_role_refused(&self) -> bool {
        self.is(code::ACCESS_DENIED)
    }

    /// Throttled: Security Hub's `LimitExceededException` (HTTP 429, "throttling limits": Security Hub API
    /// Reference, each operation's errors), Organizations' `TooManyRequestsException` (Organizations API Reference,
    /// Common errors), STS's and other Query services' `Throttling`, `ThrottlingException` of the JSON ones. What
    /// the membership watch stops at, where a request waits instead ([`super::patience`]).
    pub(crate) fn is_throttled(&self) -> bool {
        [code::LIMIT_EXCEEDED, code::TOO_MANY_REQUESTS, code::THROTTLING, code::THROTTLING_EXCEPTION]
            .iter()
            .any(|throttling| self.is(throttling))
    }

    /// Organizations ListTagsForResource, TagResource, UntagResource: the account is not in the caller's
    /// organization (`TargetNotFoundException`: "We can't find a root, OU, account, or policy with the TargetId
    /// that you specified"; `AccountNotFoundException`), or the caller has no organization
    /// (`AWSOrganizationsNotInUseException`: "Your account isn't a member of an organization") (Organizations API
    /// Reference, TagResource and ListTagsForResource, Errors). Such an account cannot carry the membership watch's
    /// mark.
    pub(crate) fn is_outside_organization(&self) -> bool {
        [code::TARGET_NOT_FOUND, code::ACCOUNT_NOT_FOUND, code::ORGANIZATIONS_NOT_IN_USE]
            .iter()
            .any(|outside| self.is(outside))
    }
}

/// A CreateMembers `UnprocessedAccounts` reason that means the account is a member of this administrator
/// already (Created, Invited or Enabled): not a failure.
pub(crate) fn is_already_our_member(processing_result: &str) -> bool {
    processing_result.to_ascii_lowercase().contains(ALREADY_OUR_MEMBER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str, message: &str) -> AwsError {
        AwsError { operation: "Op", code: Some(code.to_owned()), message: message.to_owned() }
    }

    #[test]
    fn only_an_scp_explicit_deny_is_a_denied_region() {
        let scp = "User: arn:aws:sts::111111111111:assumed-role/r/s is not authorized to perform: \
                   securityhub:CreateMembers with an explicit deny in a service control policy";
        assert!(error("AccessDeniedException", scp).is_scp_denied());
        let iam = "User: arn:aws:sts::111111111111:assumed-role/r/s is not authorized to perform: \
                   securityhub:CreateMembers because no identity-based policy allows the securityhub:CreateMembers action";
        assert!(!error("AccessDeniedException", iam).is_scp_denied());
        assert!(error("AccessDeniedException", iam).is_access_denied());
    }

    #[test]
    fn not_a_member_has_several_spellings() {
        let no_such = "The request is rejected since no such resource found.";
        assert!(error("BadRequestException", no_such).is_not_a_member());
        assert!(error("AccessDeniedException", no_such).is_not_a_member());
        assert!(error("ResourceNotFoundException", "whatever").is_not_a_member());
        assert!(!error("BadRequestException", "Invalid parameter").is_not_a_member());
        assert!(!error("AccessDeniedException", "not authorized").is_not_a_member());
    }

    #[test]
    fn no_hub_is_invalid_access_that_says_not_subscribed() {
        assert!(
            error("InvalidAccessException", "Account 111111111111 is not subscribed to AWS Security Hub").is_no_hub()
        );
        assert!(
            !error("InvalidAccessException", "The account doesn't have permission to perform this action.").is_no_hub()
        );
        assert!(error("ResourceNotFoundException", "Account is not subscribed to Security Hub").is_no_hub());
    }

    #[test]
    fn an_existing_member_of_ours_is_recognised_in_unprocessed_accounts() {
        let real = "The request is rejected because the given account ID is already a member or associated member \
                    of the current account.";
        assert!(is_already_our_member(real));
        assert!(!is_already_our_member("Account 222222222222 is already a member of administrator 333333333333"));
    }

    #[test]
    fn throttling_is_every_service_s_own_code() {
        for code in ["LimitExceededException", "TooManyRequestsException", "Throttling", "ThrottlingException"] {
            assert!(error(code, "Rate exceeded").is_throttled(), "{code}");
        }
        assert!(!error("InternalException", "Rate exceeded").is_throttled());
    }

    #[test]
    fn an_account_outside_the_organization_cannot_be_tagged() {
        for code in ["TargetNotFoundException", "AccountNotFoundException", "AWSOrganizationsNotInUseException"] {
            assert!(error(code, "not found").is_outside_organization(), "{code}");
        }
        assert!(!error("AccessDeniedException", "not authorized").is_outside_organization());
    }

    #[test]
    fn close_quota_refusals_are_told_by_their_reason() {
        let quota = error("ConstraintViolationException", "CLOSE_ACCOUNT_QUOTA_EXCEEDED: quota reached");
        assert!(quota.is_close_quota() && !quota.is_close_requests_limit());
        let documented =
            error("ConstraintViolationException", "You have exceeded close account quota for the past 30 days.");
        assert!(documented.is_close_quota());
        let at_once = error(
            "ConstraintViolationException",
            "You attempted to exceed the number of accounts that you can close at a time.",
        );
        assert!(at_once.is_close_requests_limit() && !at_once.is_close_quota());
        assert!(!error("ConstraintViolationException", "ACCOUNT_NUMBER_LIMIT_EXCEEDED").is_close_quota());
    }
}
