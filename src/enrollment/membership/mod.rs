//! Security Hub membership in one region: join an administrator, or leave it.
//!
//! Joining costs the administrator three calls per region, the fewest the API allows (CreateMembers,
//! InviteMembers, GetMembers), and the member's steps run beside the administrator's wherever the order
//! allows: CreateMembers; InviteMembers beside EnableSecurityHub; GetAdministratorAccount beside
//! ListInvitations; AcceptAdministratorInvitation; GetMembers. Five round trips a region.
//!
//! [`join`] adds and joins, [`leave`] takes away; this module holds what both sides share: the errors, the
//! member's status as the administrator sees it, and the member's own administrator.

use aws_sdk_securityhub::Client;

use crate::aws::{AwsError, Operation};
use crate::ids::AccountId;

mod join;
mod leave;

pub(crate) use join::{add, join, withdraw_if_only_created};
pub(crate) use leave::leave;

const ENABLED: &str = "Enabled";
const ASSOCIATED: &str = "Associated";
const CREATED: &str = "Created";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RegionError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("the account is a member of administrator {0}; it is left there (disassociate it there first)")]
    OtherAdministrator(String),
    #[error("CreateMembers did not take the account: {0}")]
    NotTaken(String),
    #[error("no invitation from administrator {0} reached the member")]
    NoInvitation(String),
    #[error("after accepting, the administrator sees the member as {0}, not Enabled")]
    NotEnabled(String),
    /// CreateMembers answered InvalidAccessException: "Security Hub is not enabled for the account" (Security
    /// Hub API Reference, "Common Errors" and CreateMembers' errors).
    #[error("the administrator account has Security Hub disabled here")]
    NoAdministratorHub,
    /// CreateMembers refused by a service control policy's explicit deny, as every call is where an SCP denies
    /// the region (AWS Organizations User Guide, "Service control policies"; Control Tower's region deny).
    #[error("the administrator account is denied here by a service control policy")]
    Denied,
    /// The member's own first call (EnableSecurityHub) refused by a service control policy's explicit deny: a
    /// region-deny SCP on the member's OU only.
    #[error("the member account is denied here by a service control policy")]
    MemberDenied,
    /// DisableSecurityHub refused with anything but "not enabled": the member's hub is as it was.
    #[error("DisableSecurityHub: refused ({}): the hub stays enabled", .0.message)]
    DisableRefused(AwsError),
    /// DisableSecurityHub answered, yet the member's hub still answers (GetAdministratorAccount).
    #[error("DisableSecurityHub: answered, but the hub is still enabled")]
    HubStillEnabled,
    /// The member's own EnableSecurityHub or DisableSecurityHub refused under central configuration.
    #[error(
        "{change}: refused: the account is governed by a Security Hub CSPM central configuration policy, and only the delegated administrator's policies enable or disable its hub ({})",
        change.advice()
    )]
    CentrallyConfigured { change: HubChange },
}

/// The member's own change to its hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HubChange {
    Enable,
    Disable,
}

impl HubChange {
    fn advice(self) -> &'static str {
        match self {
            HubChange::Enable => "enable Security Hub CSPM for it in its policy",
            HubChange::Disable => "change its policy, or use OnDelete: Disassociate",
        }
    }
}

impl std::fmt::Display for HubChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HubChange::Enable => "EnableSecurityHub",
            HubChange::Disable => "DisableSecurityHub",
        })
    }
}

/// One account joining one administrator in one region.
#[derive(Debug, Clone)]
pub(crate) struct Enrollment {
    pub(crate) administrator: AccountId,
    pub(crate) member: AccountId,
    pub(crate) email: Option<String>,
    pub(crate) enable_default_standards: bool,
}

/// One account leaving one administrator in one region.
#[derive(Debug, Clone)]
pub(crate) struct Departure {
    pub(crate) administrator: AccountId,
    pub(crate) member: AccountId,
    pub(crate) disable_hub: bool,
}

/// `Enabled`, or `Associated`, its name until Security Hub renamed it on 23 November 2020 (AWS Support's answer
/// quoted in hashicorp/terraform-provider-aws, which keeps the constant; the AWS CLI's older examples show
/// `ASSOCIATED`): an answer from a region or an endpoint that still says it is the same state.
pub(crate) fn is_enabled_status(status: &str) -> bool {
    status.eq_ignore_ascii_case(ENABLED) || status.eq_ignore_ascii_case(ASSOCIATED)
}

/// The member's status as the administrator sees it, `None` when it is not a member: an empty answer, the
/// account in UnprocessedAccounts, or one of the errors that mean "not a member" ([`AwsError::is_not_a_member`]).
pub(crate) async fn member_status(admin: &Client, member: &str) -> Result<Option<String>, AwsError> {
    let answer = match admin.get_members().account_ids(member).send().await.op("GetMembers") {
        Err(error) if error.is_not_a_member() => return Ok(None),
        other => other?,
    };
    Ok(answer
        .members()
        .iter()
        .find(|found| found.account_id() == Some(member))
        .and_then(|found| found.member_status().map(str::to_owned)))
}

/// The member's administrator and its status, if it has one.
async fn current_administrator(member: &Client) -> Result<Option<(String, String)>, RegionError> {
    let answer = member.get_administrator_account().send().await.op("GetAdministratorAccount")?;
    Ok(answer.administrator().and_then(|invitation| {
        let account = invitation.account_id()?.to_owned();
        Some((account, invitation.member_status().unwrap_or_default().to_owned()))
    }))
}

/// "Already as wanted" when taking a membership away: not a member, not associated, no hub.
fn tolerate_gone<T>(result: Result<T, AwsError>) -> Result<(), AwsError> {
    match result {
        Err(error) if !error.is_gone() => Err(error),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
