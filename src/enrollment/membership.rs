//! Security Hub membership in one region: join an administrator, or leave it.
//!
//! The administrator's and the member's steps run side by side wherever the order allows, so a
//! region takes about six round trips however the calls are spread between the two accounts.

use aws_sdk_securityhub::types::AccountDetails;
use aws_sdk_securityhub::Client;
use std::time::{Duration, SystemTime};

use super::fence;
use crate::aws::{AwsError, Operation};
use crate::ids::AccountId;
use crate::retry::Pauses;

const ENABLED: &str = "Enabled";
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
    #[error("the resource was deleted while this Create was running; the region was left again")]
    DeletedMeanwhile,
}

/// One account joining one administrator in one region.
#[derive(Debug, Clone)]
pub struct Enrollment {
    pub administrator: AccountId,
    pub member: AccountId,
    pub email: Option<String>,
    pub enable_default_standards: bool,
    /// A Create's start: a Delete of the member after it makes the Create undo its join (see `fence`).
    pub fenced_since: Option<SystemTime>,
}

/// Makes the member an Enabled member of the administrator in the region of both clients.
///
/// Lambda may run the same request twice at once; the two runs then invite and accept over each other.
/// So the join converges rather than runs once: a lost invitation is looked for again, and a region
/// whose member turns out Enabled is done whatever error a step met on the way.
pub async fn join(admin: &Client, member: &Client, enrollment: &Enrollment) -> Result<(), RegionError> {
    match join_once(admin, member, enrollment).await {
        Err(error) if is_convergent(&error) && is_enabled(admin, enrollment).await => {
            tracing::info!(error = %error, "member is Enabled already (another run of this request got there)");
            Ok(())
        }
        outcome => outcome,
    }
}

async fn join_once(admin: &Client, member: &Client, enrollment: &Enrollment) -> Result<(), RegionError> {
    let (admin_side, member_side) = tokio::join!(
        add_and_invite(admin, enrollment),
        enable_and_inspect(member, enrollment.enable_default_standards)
    );
    if admin_side? == Added::AlreadyEnabled {
        // Organization members under a delegated administrator are enabled this way.
        return Ok(());
    }
    match member_side? {
        Some((administrator, status)) if administrator != enrollment.administrator.as_str() && status == ENABLED => {
            return Err(RegionError::OtherAdministrator(administrator));
        }
        _ => {}
    }
    let rounds = JOIN_PAUSES.attempts(JOIN_ROUNDS);
    let accepted = rounds.run(|round| accept_round(admin, member, enrollment, round), is_lost_invitation).await?;
    if accepted == Accepted::ByAnotherRun {
        return Ok(());
    }
    let deleted = async {
        match enrollment.fenced_since {
            Some(since) => fence::deleted_since(admin, &enrollment.administrator, &enrollment.member, since).await,
            None => false,
        }
    };
    let (confirmed, deleted) = tokio::join!(confirm_enabled(admin, enrollment.member.as_str()), deleted);
    confirmed?;
    if deleted {
        let departure = Departure {
            administrator: enrollment.administrator.clone(),
            member: enrollment.member.clone(),
            disable_hub: false,
            mark_deleted: false,
        };
        leave(admin, Some(member), &departure).await?;
        return Err(RegionError::DeletedMeanwhile);
    }
    Ok(())
}

fn is_convergent(error: &RegionError) -> bool {
    !matches!(error, RegionError::OtherAdministrator(_) | RegionError::DeletedMeanwhile)
}

/// An invitation that vanished or was replaced, as when another run of the request invites again.
fn is_lost_invitation(error: &RegionError) -> bool {
    match error {
        RegionError::NoInvitation(_) => true,
        RegionError::Aws(error) => {
            error.operation == "AcceptAdministratorInvitation"
                && (error.is("InvalidInputException") || error.is("ResourceNotFoundException"))
        }
        _ => false,
    }
}

async fn is_enabled(admin: &Client, enrollment: &Enrollment) -> bool {
    matches!(member_status(admin, enrollment.member.as_str()).await, Ok(Some(status)) if status == ENABLED)
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

#[derive(Debug, PartialEq, Eq)]
enum Added {
    AlreadyEnabled,
    Invited,
}

/// Administrator side: CreateMembers, then InviteMembers unless the member is Enabled already.
async fn add_and_invite(admin: &Client, enrollment: &Enrollment) -> Result<Added, RegionError> {
    let details =
        AccountDetails::builder().account_id(enrollment.member.as_str()).set_email(enrollment.email.clone()).build();
    let created = admin.create_members().account_details(details).send().await.op("CreateMembers")?;
    if let Some(refused) = created.unprocessed_accounts().first() {
        return Err(RegionError::NotTaken(refused.processing_result().unwrap_or("no reason given").to_owned()));
    }
    if member_status(admin, enrollment.member.as_str()).await?.as_deref() == Some(ENABLED) {
        return Ok(Added::AlreadyEnabled);
    }
    invite(admin, enrollment).await?;
    Ok(Added::Invited)
}

async fn invite(admin: &Client, enrollment: &Enrollment) -> Result<(), AwsError> {
    let invited = admin.invite_members().account_ids(enrollment.member.as_str()).send().await.op("InviteMembers")?;
    match invited.unprocessed_accounts().first() {
        Some(refused) => Err(AwsError::new("InviteMembers", refused.processing_result().unwrap_or("no reason given"))),
        None => Ok(()),
    }
}

/// Member side: its hub enabled (already enabled is fine), and who its administrator is now.
async fn enable_and_inspect(member: &Client, default_standards: bool) -> Result<Option<(String, String)>, RegionError> {
    enable_hub(member, default_standards).await?;
    current_administrator(member).await
}

async fn enable_hub(member: &Client, default_standards: bool) -> Result<(), AwsError> {
    let enabled = member.enable_security_hub().enable_default_standards(default_standards).send().await;
    match enabled.op("EnableSecurityHub") {
        Err(error) if !error.is("ResourceConflictException") => Err(error),
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
    let listed = member.list_invitations().send().await.op("ListInvitations")?;
    let invitation = listed.invitations().iter().find(|invitation| invitation.account_id() == Some(administrator));
    let Some(id) = invitation.and_then(|invitation| invitation.invitation_id()) else {
        return Err(RegionError::NoInvitation(administrator.to_owned()));
    };
    member
        .accept_administrator_invitation()
        .administrator_id(administrator)
        .invitation_id(id)
        .send()
        .await
        .op("AcceptAdministratorInvitation")?;
    Ok(())
}

async fn confirm_enabled(admin: &Client, member: &str) -> Result<(), RegionError> {
    match member_status(admin, member).await? {
        Some(status) if status == ENABLED => Ok(()),
        status => Err(RegionError::NotEnabled(status.unwrap_or_else(|| "not a member".to_owned()))),
    }
}

/// The member's status as the administrator sees it, `None` when it is not a member.
pub async fn member_status(admin: &Client, member: &str) -> Result<Option<String>, AwsError> {
    let answer = admin.get_members().account_ids(member).send().await.op("GetMembers")?;
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
    /// Set by Delete: mark the administrator's hub first, so that a Create still running undoes its join.
    pub mark_deleted: bool,
}

/// Ends the membership from both sides. Idempotent: "not a member", "not associated" and a hub that
/// is not enabled all count as done. Without a member client (its role cannot be assumed) only the
/// administrator's side is done. The member is never taken from a newer administrator.
pub async fn leave(admin: &Client, member: Option<&Client>, departure: &Departure) -> Result<(), RegionError> {
    if departure.mark_deleted {
        fence::mark_deleted(admin, &departure.administrator, &departure.member).await;
    }
    let member_side = async {
        match member {
            Some(member) => resign(member, departure).await,
            None => Ok(()),
        }
    };
    let (admin_side, member_side) = tokio::join!(remove(admin, departure.member.as_str()), member_side);
    admin_side?;
    member_side?;
    if departure.mark_deleted {
        fence::prune(admin, &departure.administrator).await;
    }
    Ok(())
}

/// Administrator side: DisassociateMembers, then DeleteMembers.
async fn remove(admin: &Client, member: &str) -> Result<(), RegionError> {
    let disassociated = admin.disassociate_members().account_ids(member).send().await.op("DisassociateMembers");
    tolerate_gone(disassociated)?;
    let deleted = admin.delete_members().account_ids(member).send().await.op("DeleteMembers");
    tolerate_gone(deleted)?;
    Ok(())
}

/// Member side: leave the administrator if it is still this one, then disable the hub when asked.
async fn resign(member: &Client, departure: &Departure) -> Result<(), RegionError> {
    let administrator = match current_administrator(member).await {
        Err(RegionError::Aws(error)) if is_gone(&error) => return Ok(()),
        other => other?,
    };
    let ours = departure.administrator.as_str();
    match administrator {
        Some((account, status)) if account != ours && status == ENABLED => {
            tracing::info!(administrator = %account, "member belongs to another administrator now; left as it is");
            return Ok(());
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
    if departure.disable_hub {
        tolerate_gone(member.disable_security_hub().send().await.op("DisableSecurityHub"))?;
    }
    Ok(())
}

/// Errors that mean "already as wanted" when taking something away.
fn is_gone(error: &AwsError) -> bool {
    ["ResourceNotFoundException", "InvalidAccessException", "InvalidInputException"].iter().any(|code| error.is(code))
}

fn tolerate_gone<T>(result: Result<T, AwsError>) -> Result<(), AwsError> {
    match result {
        Err(error) if !is_gone(&error) => Err(error),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
