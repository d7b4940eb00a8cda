//! Create: resolve (or create) the account, then enroll it.

use super::*;

/// Resolves (or creates) the account, then enrolls it.
pub(super) async fn create(job: &Job, properties: &Properties) -> Result<Done, LifecycleError> {
    job.gate.authorize(&[properties], None)?;
    let member = resolve_checked(job, properties, &Target::from(&properties.account)).await?;
    let regions = enroll(job, properties, &member.id, Fencing::Create, member.origin).await?;
    remember(job, &member.id, properties, &regions).await;
    Ok(success(&member.id, properties, &regions))
}

/// An account to enroll, and whether the request's origin still needs checking before the first change.
pub(super) struct Resolved {
    pub(super) id: AccountId,
    pub(super) origin: OriginCheck,
}

/// The target account. Creating one is a change, so the origin is checked first; an existing account's
/// origin check runs later, beside the sessions and region discovery.
pub(super) async fn resolve_checked(
    job: &Job,
    properties: &Properties,
    target: &Target,
) -> Result<Resolved, LifecycleError> {
    if let Target::Existing(id) = target {
        job.progress.set(id);
        return Ok(Resolved { id: id.clone(), origin: OriginCheck::Unchecked });
    }
    job.gate.verify_origin(&job.aws, &properties.member_role_name, &job.session_name).await?;
    let id = resolve(job, properties, target).await?;
    Ok(Resolved { id, origin: OriginCheck::Checked })
}

pub(super) async fn resolve(job: &Job, properties: &Properties, target: &Target) -> Result<AccountId, LifecycleError> {
    let account = match target {
        Target::Existing(id) => id.clone(),
        Target::Create(new) => {
            let org = job.aws.own().await?.organizations();
            let started = |request_id: &str| job.progress.set_creation(request_id);
            let role_name = &properties.member_role_name;
            let creation = accounts::Creation { org: &org, new, role_name, owner: &job.owner, started: &started };
            let id = accounts::create_or_find(&creation).await?;
            job.progress.set(&id);
            if let Some(parent) = &new.parent_id {
                accounts::move_to(&org, &id, parent).await.map_err(LifecycleError::Move)?;
            }
            id
        }
    };
    job.progress.set(&account);
    Ok(account)
}
