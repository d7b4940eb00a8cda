//! Leaving: the administrator's side and the member's own, then the member's hub disabled when asked.

use aws_sdk_securityhub::Client;

use super::{current_administrator, is_enabled_status, tolerate_gone, Departure, HubChange, RegionError};
use crate::aws::Operation;

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
pub(crate) async fn leave(admin: &Client, member: Option<&Client>, departure: &Departure) -> Result<(), RegionError> {
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
