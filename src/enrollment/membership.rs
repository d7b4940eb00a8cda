//! Security Hub membership in one region: join an administrator, or leave it.
//!
//! Joining costs the administrator three calls per region, the fewest the API allows (CreateMembers,
//! InviteMembers, GetMembers), and the member's steps run beside the administrator's wherever the order
//! allows: CreateMembers; InviteMembers beside EnableSecurityHub; GetAdministratorAccount beside
//! ListInvitations; AcceptAdministratorInvitation; GetMembers. Five round trips a region.

use aws_sdk_securityhub::types::AccountDetails;
use aws_sdk_securityhub::Client;
use std::time::Duration;

use super::fence::Signal;
use crate::aws::{self, AwsError, Operation};
use crate::ids::AccountId;
use crate::retry::Pauses;

const ENABLED: &str = "Enabled";
const ASSOCIATED: &str = "Associated";
const CREATED: &str = "Created";
const ACCEPT: &str = "AcceptAdministratorInvitation";
/// ListInvitations' largest page (Security Hub API Reference, ListInvitations: MaxResults 1 to 50).
const INVITATIONS_PAGE: i32 = 50;
/// Looks at the administrator's view after accepting, while it still lags.
const CONFIRM_LOOKS: u32 = 4;
const CONFIRM_PAUSES: Pauses = Pauses::Backoff { base: Duration::from_millis(500), cap: Duration::from_secs(2) };
/// How often, and how patiently, to look for an invitation that was just sent: soon, then less often.
const INVITATION_LOOKS: u32 = 8;
const INVITATION_PAUSES: Pauses = Pauses::Backoff { base: Duration::from_millis(250), cap: Duration::from_secs(2) };
/// Rounds of accepting, when runs of the same request replace each other's invitations; up to a
/// quarter second apart, drawn at random, so that two runs racing each other fall out of step.
const JOIN_ROUNDS: u32 = 3;
const JOIN_PAUSES: Pauses = Pauses::Backoff { base: Duration::from_millis(250), cap: Duration::from_millis(250) };

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
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
pub enum HubChange {
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
pub struct Enrollment {
    pub administrator: AccountId,
    pub member: AccountId,
    pub email: Option<String>,
    pub enable_default_standards: bool,
}

/// The administrator's first step: the member added (CreateMembers, Email when known). Already a member is
/// fine: CreateMembers leaves an existing member as it is. Organization members under the organization's
/// administrator become Enabled members by this call alone, with no invitation (Security Hub User Guide,
/// "Managing administrator and member accounts with AWS Organizations").
pub async fn add(admin: &Client, enrollment: &Enrollment) -> Result<(), RegionError> {
    let details =
        AccountDetails::builder().account_id(enrollment.member.as_str()).set_email(enrollment.email.clone()).build();
    let created = match admin.create_members().account_details(details).send().await.op("CreateMembers") {
        Err(error) if error.is_no_hub() => return Err(RegionError::NoAdministratorHub),
        Err(error) if error.is_scp_denied() => return Err(RegionError::Denied),
        other => other?,
    };
    let Some(refused) = created.unprocessed_accounts().first() else { return Ok(()) };
    let reason = refused.processing_result().unwrap_or("no reason given");
    if aws::is_already_our_member(reason) {
        return Ok(());
    }
    // A wording not seen before: the administrator's own list tells whether the account is its member already.
    match member_status(admin, enrollment.member.as_str()).await? {
        Some(status) => {
            tracing::info!(reason = %reason, status = %status, "CreateMembers: a member already");
            Ok(())
        }
        None => Err(RegionError::NotTaken(reason.to_owned())),
    }
}

/// Undoes [`add`] where it can have made the only change: a member still `Created` (never invited, never
/// associated) is deleted; any other member is left as it is.
pub async fn withdraw_if_only_created(admin: &Client, member: &AccountId) -> Result<(), AwsError> {
    if member_status(admin, member.as_str()).await?.as_deref() == Some(CREATED) {
        tolerate_gone(admin.delete_members().account_ids(member.as_str()).send().await.op("DeleteMembers"))?;
    }
    Ok(())
}

/// Makes the member, already added by [`add`], an Enabled member of the administrator in the region of both
/// clients. `accepted` is signalled once the member has accepted (or turned out Enabled), or the join ended.
///
/// Lambda may run the same request twice at once; the two runs then invite and accept over each other.
/// So the join converges rather than runs once: a lost invitation is looked for again, and a region
/// whose member turns out Enabled is done whatever error a step met on the way.
pub async fn join(
    admin: &Client,
    member: &Client,
    enrollment: &Enrollment,
    accepted: Signal<'_>,
) -> Result<(), RegionError> {
    match join_once(admin, member, enrollment, accepted).await {
        Err(error) if is_convergent(&error) && is_enabled(admin, enrollment).await => {
            tracing::info!(error = %error, "member is Enabled already (another run of this request got there)");
            Ok(())
        }
        outcome => outcome,
    }
}

async fn join_once(
    admin: &Client,
    member: &Client,
    enrollment: &Enrollment,
    mut accepted: Signal<'_>,
) -> Result<(), RegionError> {
    let ours = enrollment.administrator.as_str();
    let (invited, enabled) =
        tokio::join!(invite(admin, enrollment), enable_hub(member, enrollment.enable_default_standards));
    // Under central configuration the member may not enable its hub itself; its policy may have done it.
    let policy_decides = match enabled {
        Ok(()) => None,
        Err(error @ RegionError::CentrallyConfigured { .. }) => Some(error),
        Err(error) => return Err(error),
    };
    let (administrator, invitation) = tokio::join!(current_administrator(member), find_invitation(member, ours));
    let administrator = match administrator {
        // No hub to ask (InvalidAccessException): the policy's refusal says why.
        Err(_) if policy_decides.is_some() => None,
        other => other?,
    };
    match administrator {
        // Organization members under the organization's administrator are enabled by CreateMembers alone.
        Some((account, status)) if account == ours && is_enabled_status(&status) => return Ok(()),
        Some((account, status)) if is_enabled_status(&status) => return Err(RegionError::OtherAdministrator(account)),
        _ => {}
    }
    if let Some(refused) = policy_decides {
        return Err(refused);
    }
    let first = match (invitation?, invited) {
        (Some(id), _) => accept_invitation(member, ours, &id).await,
        // Refused: the reason is InviteMembers'.
        (None, Err(refused)) => Err(refused.into()),
        (None, Ok(())) => Err(RegionError::NoInvitation(ours.to_owned())),
    };
    let by = match first {
        Ok(()) => Accepted::ByThisRun,
        Err(error) if is_lost_invitation(&error) => {
            let rounds = JOIN_PAUSES.attempts(JOIN_ROUNDS);
            rounds.run(|round| accept_round(admin, member, enrollment, round), is_lost_invitation).await?
        }
        Err(error) => return Err(error),
    };
    accepted.fire();
    if by == Accepted::ByAnotherRun {
        return Ok(());
    }
    confirm_enabled(admin, enrollment.member.as_str()).await
}

fn is_convergent(error: &RegionError) -> bool {
    !matches!(error, RegionError::OtherAdministrator(_))
}

/// An invitation that vanished or was replaced, as when another run of the request invites again.
fn is_lost_invitation(error: &RegionError) -> bool {
    match error {
        RegionError::NoInvitation(_) => true,
        RegionError::Aws(error) => error.operation == ACCEPT && error.is_stale_invitation(),
        _ => false,
    }
}

async fn is_enabled(admin: &Client, enrollment: &Enrollment) -> bool {
    matches!(member_status(admin, enrollment.member.as_str()).await, Ok(Some(status)) if is_enabled_status(&status))
}

#[derive(Debug, PartialEq, Eq)]
enum Accepted {
    ByThisRun,
    /// Another run of the request made the member Enabled while this one was looking for its invitation.
    ByAnotherRun,
}

/// One round of accepting the administrator's invitation. When the invitation was lost and another
/// round follows, this round first sees whether another run got the member Enabled meanwhile, and sends
/// a new invitation if there was none to accept (a replaced one is simply looked for again).
async fn accept_round(
    admin: &Client,
    member: &Client,
    enrollment: &Enrollment,
    round: u32,
) -> Result<Accepted, RegionError> {
    match accept(member, enrollment.administrator.as_str()).await {
        Ok(()) => Ok(Accepted::ByThisRun),
        Err(error) if round < JOIN_ROUNDS && is_lost_invitation(&error) => {
            if is_enabled(admin, enrollment).await {
                return Ok(Accepted::ByAnotherRun);
            }
            if matches!(error, RegionError::NoInvitation(_)) {
                invite(admin, enrollment).await?;
            }
            Err(error)
        }
        Err(error) => Err(error),
    }
}

/// InviteMembers. An already Enabled member is refused in UnprocessedAccounts, which the member's own view
/// (GetAdministratorAccount) then explains; any other refusal is reported when no invitation arrives.
async fn invite(admin: &Client, enrollment: &Enrollment) -> Result<(), AwsError> {
    let invited = admin.invite_members().account_ids(enrollment.member.as_str()).send().await.op("InviteMembers")?;
    match invited.unprocessed_accounts().first() {
        Some(refused) => Err(AwsError::new("InviteMembers", refused.processing_result().unwrap_or("no reason given"))),
        None => Ok(()),
    }
}

/// The member's EnableSecurityHub: its first call in the region. A new account may refuse it for minutes
/// ([`aws::when_ready`]). Under central configuration the policy decides (the refusal is told apart by its
/// message from a region-deny SCP's, [`AwsError::is_central_configuration`]).
async fn enable_hub(member: &Client, default_standards: bool) -> Result<(), RegionError> {
    let enable = || async {
        member.enable_security_hub().enable_default_standards(default_standards).send().await.op("EnableSecurityHub")
    };
    match aws::when_ready(enable).await {
        Err(error) if error.is_central_configuration() => {
            Err(RegionError::CentrallyConfigured { change: HubChange::Enable })
        }
        Err(error) if error.is_scp_denied() => Err(RegionError::MemberDenied),
        Err(error) if !error.is_already_enabled() => Err(error.into()),
        _ => Ok(()),
    }
}

/// The member's administrator and its status, if it has one.
async fn current_administrator(member: &Client) -> Result<Option<(String, String)>, RegionError> {
    let answer = member.get_administrator_account().send().await.op("GetAdministratorAccount")?;
    Ok(answer.administrator().and_then(|invitation| {
        let account = invitation.account_id()?.to_owned();
        Some((account, invitation.member_status().unwrap_or_default().to_owned()))
    }))
}

/// Finds the invitation from `administrator` (not merely the first one) and accepts it, looking again
/// a few times while it has not arrived.
async fn accept(member: &Client, administrator: &str) -> Result<(), RegionError> {
    let looks = INVITATION_PAUSES.attempts(INVITATION_LOOKS);
    looks.run(|_| accept_if_invited(member, administrator), |error| matches!(error, RegionError::NoInvitation(_))).await
}

async fn accept_if_invited(member: &Client, administrator: &str) -> Result<(), RegionError> {
    match find_invitation(member, administrator).await? {
        Some(id) => accept_invitation(member, administrator, &id).await,
        None => Err(RegionError::NoInvitation(administrator.to_owned())),
    }
}

/// The id of the member's invitation from `administrator`, if one has arrived (ListInvitations, every page
/// until it is found: a member may hold many invitations from other administrators).
async fn find_invitation(member: &Client, administrator: &str) -> Result<Option<String>, RegionError> {
    let mut pages = member.list_invitations().max_results(INVITATIONS_PAGE).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = match page.op("ListInvitations") {
            Err(error) if error.is_transient_bad_request() => {
                tracing::info!(error = %error, "ListInvitations answered an empty BadRequestException; looking again");
                return Ok(None);
            }
            other => other?,
        };
        let ours = page.invitations().iter().find(|invitation| invitation.account_id() == Some(administrator));
        if let Some(id) = ours.and_then(|invitation| invitation.invitation_id()) {
            return Ok(Some(id.to_owned()));
        }
    }
    Ok(None)
}

async fn accept_invitation(member: &Client, administrator: &str, id: &str) -> Result<(), RegionError> {
    member
        .accept_administrator_invitation()
        .administrator_id(administrator)
        .invitation_id(id)
        .send()
        .await
        .op(ACCEPT)?;
    Ok(())
}

/// The administrator sees the member Enabled. Its view lags a change for a moment (GetMembers may still answer
/// "no such resource found" just after one, hashicorp/terraform-provider-aws PR 34781), so it is looked at again
/// a few times before the region fails.
async fn confirm_enabled(admin: &Client, member: &str) -> Result<(), RegionError> {
    let look = |_| async {
        match member_status(admin, member).await? {
            Some(status) if is_enabled_status(&status) => Ok(()),
            status => Err(RegionError::NotEnabled(status.unwrap_or_else(|| "not a member".to_owned()))),
        }
    };
    CONFIRM_PAUSES.attempts(CONFIRM_LOOKS).run(look, |error| matches!(error, RegionError::NotEnabled(_))).await
}

/// `Enabled`, or `Associated`, its name until Security Hub renamed it on 23 November 2020 (AWS Support's answer
/// quoted in hashicorp/terraform-provider-aws, which keeps the constant; the AWS CLI's older examples show
/// `ASSOCIATED`): an answer from a region or an endpoint that still says it is the same state.
pub fn is_enabled_status(status: &str) -> bool {
    status.eq_ignore_ascii_case(ENABLED) || status.eq_ignore_ascii_case(ASSOCIATED)
}

/// The member's status as the administrator sees it, `None` when it is not a member: an empty answer, the
/// account in UnprocessedAccounts, or one of the errors that mean "not a member" ([`AwsError::is_not_a_member`]).
pub async fn member_status(admin: &Client, member: &str) -> Result<Option<String>, AwsError> {
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

/// One account leaving one administrator in one region.
#[derive(Debug, Clone)]
pub struct Departure {
    pub administrator: AccountId,
    pub member: AccountId,
    pub disable_hub: bool,
}

/// Where the member stands once its own side of leaving is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Associated with no administrator (any more): its hub may be disabled when asked.
    Free,
    /// Enabled with another administrator: left there, hub and all.
    Elsewhere,
    /// Its hub is not enabled here: nothing to leave, nothing to disable.
    HubOff,
    /// A service control policy denies the member this region: only the administrator's side can be done.
    Denied,
}

/// Ends the membership from both sides, then disables the member's hub when asked.
///
/// The administrator's side (DisassociateMembers, DeleteMembers) runs beside the member's own
/// (GetAdministratorAccount, DisassociateFromAdministratorAccount); DisableSecurityHub waits for both. An
/// account that AWS Organizations made a member cannot disassociate itself: "Only the administrator account can
/// disassociate a member account", after which it "becomes a standalone AWS account that is no longer managed by
/// the Security Hub CSPM integration with AWS Organizations" (Security Hub User Guide, "Disassociating Security
/// Hub CSPM member accounts from your organization"). So its hub is disabled only once the administrator's
/// DisassociateMembers has freed it, never while it may still be held.
///
/// Idempotent: "not a member", "not associated" and a hub that is not enabled all count as done. Without a
/// member client (its role cannot be assumed) only the administrator's side is done. The member is never taken
/// from a newer administrator, nor its hub disabled there.
pub async fn leave(admin: &Client, member: Option<&Client>, departure: &Departure) -> Result<(), RegionError> {
    let member_side = async {
        match member {
            Some(member) => resign(member, departure).await.map(Some),
            None => Ok(None),
        }
    };
    let (admin_side, member_side) = tokio::join!(remove(admin, departure.member.as_str()), member_side);
    admin_side?;
    match (member, member_side?) {
        (Some(member), Some(Standing::Free)) if departure.disable_hub => disable_hub(member).await,
        _ => Ok(()),
    }
}

/// Administrator side: DisassociateMembers, then DeleteMembers.
///
/// DeleteMembers is for members that joined by invitation: "You can't invoke this API to delete accounts that
/// belong to an Organizations organization" (Security Hub API Reference, DeleteMembers). Once disassociated,
/// an organization account is no longer managed by the integration and the call takes it off the list; if it
/// answers the account in UnprocessedAccounts instead, the membership has still ended (DisassociateMembers did
/// that), so the region is done and the answer is logged.
async fn remove(admin: &Client, member: &str) -> Result<(), RegionError> {
    let disassociated = admin.disassociate_members().account_ids(member).send().await.op("DisassociateMembers");
    tolerate_gone(disassociated)?;
    let deleted = admin.delete_members().account_ids(member).send().await.op("DeleteMembers");
    if let Ok(answer) = &deleted {
        if let Some(kept) = answer.unprocessed_accounts().first() {
            let reason = kept.processing_result().unwrap_or("no reason given");
            tracing::info!(reason = %reason, "DeleteMembers left the account (not a member, or kept listed by AWS)");
        }
    }
    tolerate_gone(deleted)?;
    Ok(())
}

/// Member side: leave the administrator if it is still this one. Says whether the hub may be disabled.
///
/// An organization member is refused DisassociateFromAdministratorAccount with InvalidInputException: the
/// operation "can only be used by member accounts that are not managed using AWS Organizations integration"
/// (Security Hub API Reference, DisassociateFromAdministratorAccount). The administrator's DisassociateMembers,
/// running beside, is what ends that membership; the hub is disabled only after it.
async fn resign(member: &Client, departure: &Departure) -> Result<Standing, RegionError> {
    let administrator = match current_administrator(member).await {
        // An account whose services are not active yet has joined nothing.
        Err(RegionError::Aws(error)) if error.is_no_hub() || error.is_not_ready() => return Ok(Standing::HubOff),
        Err(RegionError::Aws(error)) if error.is_scp_denied() => {
            tracing::warn!(error = %error, "the member is denied this region by a service control policy: administrator side only");
            return Ok(Standing::Denied);
        }
        Err(RegionError::Aws(error)) if error.is_gone() => None,
        other => other?,
    };
    let ours = departure.administrator.as_str();
    match administrator {
        Some((account, status)) if account != ours && is_enabled_status(&status) => {
            tracing::info!(administrator = %account, "member belongs to another administrator now; left as it is");
            return Ok(Standing::Elsewhere);
        }
        Some((account, _)) if account == ours => {
            let left = member
                .disassociate_from_administrator_account()
                .send()
                .await
                .op("DisassociateFromAdministratorAccount");
            tolerate_gone(left)?;
        }
        _ => {}
    }
    Ok(Standing::Free)
}

/// DisableSecurityHub, then a look to see that the hub is gone.
///
/// Only "Security Hub is not enabled for the account" (InvalidAccessException, Security Hub API Reference,
/// "Common Errors") means the hub is off already. Any other refusal leaves the hub enabled and fails the region
/// by name, whatever its code: the API reference documents one refusal ("You can't disable Security Hub in an
/// account that is currently the Security Hub administrator", DisableSecurityHub) and none for an organization
/// member still held by its administrator or governed by a central configuration policy, whose hub the
/// delegated administrator's policies enable and disable (Security Hub User Guide, "Managing Security Hub CSPM
/// for multiple accounts with AWS Organizations"). The emulator answers those InvalidInputException.
///
/// The look afterwards costs one call of the member's own (not of the administrator, whose limits a StackSet's
/// many Deletes share), only where the hub was just disabled. It is worth it: DisableSecurityHub's answer says
/// the request was taken, not that no hub is left — a central configuration policy or an overlapping run of a
/// Create may enable it again — and the region is done only if the hub really is disabled. The look is
/// GetAdministratorAccount rather than DescribeHub: every Security Hub call but EnableSecurityHub answers
/// InvalidAccessException where the account has no hub, and the member's role already holds that action for
/// leaving (cloudformation/enrollment-role.yaml grants DescribeHub to administrators only).
async fn disable_hub(member: &Client) -> Result<(), RegionError> {
    match member.disable_security_hub().send().await.op("DisableSecurityHub") {
        Ok(_) => {}
        Err(error) if error.is_no_hub() => return Ok(()),
        Err(error) if error.is_central_configuration() => {
            return Err(RegionError::CentrallyConfigured { change: HubChange::Disable })
        }
        Err(error) if error.is_refusal() => return Err(RegionError::DisableRefused(error)),
        Err(error) => return Err(error.into()),
    }
    match member.get_administrator_account().send().await.op("GetAdministratorAccount") {
        Err(error) if error.is_no_hub() => Ok(()),
        Err(error) => Err(error.into()),
        Ok(_) => Err(RegionError::HubStillEnabled),
    }
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
