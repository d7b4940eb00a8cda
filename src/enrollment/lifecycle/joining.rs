//! Joining: CreateMembers in every candidate region, then the join in each, with the fence of a Create.

use super::*;

/// Whether a join watches for a Delete of the resource that begins while it runs (see [`fence`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fencing {
    /// A Create: CloudFormation may delete the resource while a run of its Create is still working.
    Create,
    /// An Update: the resource exists, and CloudFormation deletes it only after the Update's answer.
    None,
}

/// Makes `member` an Enabled member in every region; returns the regions, sorted.
pub(super) async fn enroll(
    job: &Job,
    properties: &Properties,
    member: &AccountId,
    fencing: Fencing,
    origin: OriginCheck,
) -> Result<Vec<String>, LifecycleError> {
    let (admin_session, member_session, candidates) = prepare(job, properties, member, origin).await?;
    let enrollment = enrollment_of(properties, member);
    let added = add_everywhere(job, properties, &enrollment, &admin_session, &candidates).await?;
    join_added(job, properties, &enrollment, (&admin_session, &member_session), added, fencing).await
}

pub(super) fn enrollment_of(properties: &Properties, member: &AccountId) -> Enrollment {
    Enrollment {
        administrator: properties.administrator_account_id.clone(),
        member: member.clone(),
        email: match &properties.account {
            AccountSpec::New(new) => Some(new.email.clone()),
            AccountSpec::Existing(_) => None,
        },
        enable_default_standards: properties.enable_default_standards,
    }
}

/// The administrator adds the member in every candidate region first: CreateMembers says where it has a hub.
/// A listed region without one, or denied, is an error before anything else changes (and the members added
/// elsewhere for it are taken back).
pub(super) async fn add_everywhere(
    job: &Job,
    properties: &Properties,
    enrollment: &Enrollment,
    admin_session: &Session,
    candidates: &[String],
) -> Result<regions::Added, LifecycleError> {
    let added = fanout::each_region(candidates, job.concurrency, |region| async move {
        membership::add(&admin_session.securityhub(&region), enrollment).await
    })
    .await;
    // Only where CreateMembers took the member is there anything to take back.
    let taken: Vec<String> =
        added.iter().filter(|(_, result)| result.is_ok()).map(|(region, _)| region.clone()).collect();
    match regions::after_adding(properties.regions.is_some(), added) {
        Ok(added) => Ok(added),
        Err(refused) => {
            withdraw(job, admin_session, &enrollment.member, &taken).await;
            Err(refused.into())
        }
    }
}

/// Each region where the member was added goes on joining; with a fence, the stack is read again after the
/// last accept.
pub(super) async fn join_added(
    job: &Job,
    properties: &Properties,
    enrollment: &Enrollment,
    (admin_session, member_session): (&Session, &Session),
    added: regions::Added,
    fencing: Fencing,
) -> Result<Vec<String>, LifecycleError> {
    let joined = fence::Joined::new(added.joinable.len());
    let joins = fanout::each_region(&added.joinable, job.concurrency, |region| {
        let (admin, member) = (admin_session.securityhub(&region), member_session.securityhub(&region));
        let accepted = match fencing {
            Fencing::Create => joined.signal(),
            Fencing::None => fence::Signal::none(),
        };
        async move { membership::join(&admin, &member, enrollment, accepted).await }
    });
    let deletion_begun = async {
        if fencing == Fencing::None {
            return false;
        }
        joined.all().await;
        job.gate.deletion_begun(&job.aws, &properties.member_role_name, &job.session_name).await
    };
    let (results, deletion_begun) = tokio::join!(joins, deletion_begun);
    let departure = departure(&enrollment.administrator, &enrollment.member, false);
    if deletion_begun {
        tracing::warn!("the stack began deleting this resource meanwhile: leaving the regions again");
        leave_regions(job, &departure, admin_session, Some(member_session), &added.joinable).await?;
        return Err(LifecycleError::DeletedMeanwhile);
    }
    let (mut results, member_denied) = regions::after_joining(properties.regions.is_some(), results)?;
    // The administrator added (and maybe invited) the member where the member may not answer: taken back.
    leave_regions(job, &departure, admin_session, None, &member_denied).await?;
    results.extend(added.failed.into_iter().map(|(region, error)| (region, Err(error))));
    results.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(fanout::summarize("Enrollment", results)?)
}

/// After a refused CreateMembers, takes back the members it added elsewhere, where that was the only change.
pub(super) async fn withdraw(job: &Job, admin_session: &Session, member: &AccountId, regions: &[String]) {
    let results = fanout::each_region(regions, job.concurrency, |region| async move {
        membership::withdraw_if_only_created(&admin_session.securityhub(&region), member).await
    })
    .await;
    for (region, result) in results {
        if let Err(error) = result {
            tracing::warn!(region = %region, error = %error, "member added here not taken back");
        }
    }
}
