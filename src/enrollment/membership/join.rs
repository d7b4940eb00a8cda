//! Joining: the administrator adds and invites, the member enables its hub and accepts, and the administrator
//! confirms; converging when two runs of one request overlap.

use aws_sdk_securityhub::types::AccountDetails;
use aws_sdk_securityhub::Client;
use std::time::Duration;

use super::{
    current_administrator, is_enabled_status, member_status, tolerate_gone, Enrollment, HubChange, RegionError, CREATED,
};
use crate::aws::{self, AwsError, Operation};
use crate::enrollment::fence::Signal;
use crate::ids::AccountId;
use crate::retry::Pauses;

const ACCEPT: &str = "AcceptAdministratorInvitation";
/// ListInvitations' largest page (Security Hub API Reference, ListInvitations: MaxResults 1 to 50).
const INVITATIONS_PAGE: i32 = 50;
/// Looks at the administrator's view after accepting, while it still lags.
const CONFIRM_LOOKS: u32 = 4;
const CONFIRM_PAUSES: Pauses = Pauses::Backoff { base: Duration::from_millis(500), cap: Duration::from_secs(2) };
/// How often, and how patiently, to look for an invitation that was just sent: soon, then less often.
pub(super) const INVITATION_LOOKS: u32 = 8;
const INVITATION_PAUSES: Pauses = Pauses::Backoff { base: Duration::from_millis(250), cap: Duration::from_secs(2) };
/// Rounds of accepting, when runs of the same request replace each other's invitations; up to a
/// quarter second apart, drawn at random, so that two runs racing each other fall out of step.
const JOIN_ROUNDS: u32 = 3;
const JOIN_PAUSES: Pauses = Pauses::Backoff { base: Duration::from_millis(250), cap: Duration::from_millis(250) };

/// The administrator's first step: the member added (CreateMembers, Email when known). Already a member is
/// fine: CreateMembers leaves an existing member as it is. Organization members under the organization's
/// administrator become Enabled members by this call alone, with no invitation (Security Hub User Guide,
/// "Managing administrator and member accounts with AWS Organizations").
pub(crate) async fn add(admin: &Client, enrollment: &Enrollment) -> Result<(), RegionError> {
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
pub(crate) async fn withdraw_if_only_created(admin: &Client, member: &AccountId) -> Result<(), AwsError> {
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
pub(crate) async fn join(
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
