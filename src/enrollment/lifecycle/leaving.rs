//! Leaving: the regions a resource covered, and ending the membership there.

use super::*;

/// Ends the membership in `regions`; the member side only when its role can be assumed.
pub(super) async fn leave_regions(
    job: &Job,
    departure: &Departure,
    admin_session: &Session,
    member_session: Option<&Session>,
    regions: &[String],
) -> Result<(), LifecycleError> {
    let results = fanout::each_region(regions, job.concurrency, |region| {
        let admin = admin_session.securityhub(&region);
        let member = member_session.map(|session| session.securityhub(&region));
        async move { membership::leave(&admin, member.as_ref(), departure).await }
    })
    .await;
    fanout::summarize("Disassociation", results)?;
    Ok(())
}

/// The regions a resource covered, to be left: its `Regions`, or, discovered, wherever the administrator has
/// a hub; either way without the regions where the administrator is refused AccessDenied (a region-deny SCP),
/// which cannot be left and are named in the log.
pub(super) async fn covered(
    job: &Job,
    listed: &Option<Vec<String>>,
    admin: &Session,
) -> Result<Vec<String>, LifecycleError> {
    match listed {
        Some(regions) => Ok(regions::administrator_may_act(admin, regions, job.concurrency).await?),
        None => Ok(regions::administrator_hubs(admin, job.concurrency).await?),
    }
}

pub(super) fn departure(administrator: &AccountId, member: &AccountId, disable_hub: bool) -> Departure {
    Departure { administrator: administrator.clone(), member: member.clone(), disable_hub }
}
