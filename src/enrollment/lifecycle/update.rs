//! Update: the plan carried out against AWS: replace the member, leave it unchanged, or change it in place.

use super::*;

pub(super) async fn update(job: &Job, physical_id: &str, new: &Value, old: &Value) -> Result<Done, LifecycleError> {
    let new = Properties::parse(new)?;
    // The previous properties were accepted once: read them as a Delete would, whatever this version knows.
    let old = Properties::parse_ignoring_unknown(old).ok().map(|(old, _)| old);
    let carried: Vec<&Properties> = std::iter::once(&new).chain(old.as_ref()).collect();
    job.gate.authorize(&carried, AccountId::parse(physical_id).as_ref())?;
    match plan::update(old.as_ref(), &new, physical_id)? {
        UpdatePlan::Replace(target) => {
            let member = resolve_checked(job, &new, &target).await?;
            let regions = enroll(job, &new, &member.id, Fencing::None, member.origin).await?;
            remember(job, &member.id, &new, &regions).await;
            Ok(success(&member.id, &new, &regions))
        }
        // No change in AWS, so no origin check: at most the member's regions are read.
        UpdatePlan::Unchanged { member } => {
            tracing::info!("no membership change; properties stored without AWS changes");
            let regions = match &new.regions {
                Some(regions) => regions.clone(),
                // Discovered regions are not in the request: read where the member is Enabled now.
                None => enrolled_regions(job, &new, &member).await?,
            };
            Ok(success(&member, &new, &regions))
        }
        UpdatePlan::Change { member, leave } => change(job, &new, &member, &leave).await,
    }
}

/// Same account: leave what the plan says, then join the new regions.
pub(super) async fn change(
    job: &Job,
    new: &Properties,
    member: &AccountId,
    leave: &Leave,
) -> Result<Done, LifecycleError> {
    let (admin_session, member_session, candidates) = prepare(job, new, member, OriginCheck::Unchecked).await?;
    // Added first: a new administrator without a hub in a listed region fails the Update before it leaves anything.
    let enrollment = enrollment_of(new, member);
    let added = add_everywhere(job, new, &enrollment, &admin_session, &candidates).await?;
    match leave {
        Leave::PreviousAdministrator { administrator, role_name, regions: previous } => {
            let side = Side::PreviousAdministrator;
            let old_admin = session(job, side, administrator, role_name, Duration::ZERO).await?;
            let previous = covered(job, previous, &old_admin).await?;
            let departure = departure(administrator, member, false);
            leave_regions(job, &departure, &old_admin, Some(&member_session), &previous).await?;
        }
        Leave::DroppedRegions { previous, disable_hub } => {
            let previous = covered(job, previous, &admin_session).await?;
            // Still covered: the regions joined again, and those whose CreateMembers failed (reported, not left).
            let kept =
                |region: &String| added.joinable.contains(region) || added.failed.iter().any(|(r, _)| r == region);
            let dropped: Vec<String> = previous.into_iter().filter(|region| !kept(region)).collect();
            let departure = departure(&new.administrator_account_id, member, *disable_hub);
            leave_regions(job, &departure, &admin_session, Some(&member_session), &dropped).await?;
        }
        Leave::Nothing => {}
    }
    let sessions = (&admin_session, &member_session);
    let joined = join_added(job, new, &enrollment, sessions, added, Fencing::None).await?;
    remember(job, member, new, &joined).await;
    Ok(success(member, new, &joined))
}

/// The regions where `member` is an Enabled member of the administrator now (read-only).
pub(super) async fn enrolled_regions(
    job: &Job,
    properties: &Properties,
    member: &AccountId,
) -> Result<Vec<String>, LifecycleError> {
    let admin = administrator(job, properties).await?;
    let hubs = regions::administrator_hubs(&admin, job.concurrency).await?;
    Ok(regions::where_member_enabled(&admin, member, hubs, job.concurrency).await?)
}
