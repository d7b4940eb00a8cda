//! Delete: leave every region the resource covered, take the watch's mark off, and close the account if asked.

use super::*;

pub(super) async fn delete(job: &Job, physical_id: &str, value: &Value) -> Result<Done, LifecycleError> {
    let done = Done { physical_id: physical_id.to_owned(), attributes: BTreeMap::new() };
    let (member, properties) = match plan::delete(physical_id, value)? {
        DeletePlan::Nothing(why) => {
            tracing::info!("{why}");
            return Ok(done);
        }
        DeletePlan::Leave { member, properties, ignored } => {
            if !ignored.is_empty() {
                tracing::warn!(ignored = %ignored.join(", "), "unknown properties ignored by Delete");
            }
            (member, properties)
        }
    };
    job.gate.authorize(&[&properties], Some(&member))?;
    let (admin_session, member_session, origin) = tokio::join!(
        administrator(job, &properties),
        job.aws.session(&member, &properties.member_role_name, Duration::ZERO, &job.session_name),
        job.gate.verify_origin(&job.aws, &properties.member_role_name, &job.session_name)
    );
    origin?;
    let admin_session = admin_session?;
    let member_session = member_session
        .inspect_err(|error| {
            tracing::warn!(error = %error, "member role not assumable (account closed, suspended or gone): administrator side only");
        })
        .ok();
    let regions = covered(job, &properties.regions, &admin_session).await?;
    let disable_hub = properties.on_delete == OnDelete::DisableSecurityHub;
    let departure = departure(&properties.administrator_account_id, &member, disable_hub);
    leave_regions(job, &departure, &admin_session, member_session.as_ref(), &regions).await?;
    mark::forget(&job.aws, &member, &properties.administrator_account_id, &job.owner).await;
    if properties.close_account_on_delete {
        close_if_created_here(job, &member, &properties).await?;
    }
    Ok(done)
}

/// Closes the account only if this resource made it ([`accounts::may_close`]).
pub(super) async fn close_if_created_here(
    job: &Job,
    member: &AccountId,
    properties: &Properties,
) -> Result<(), LifecycleError> {
    let org = job.aws.own().await?.organizations();
    let (owned, described) =
        tokio::try_join!(accounts::is_owned_by(&org, member, &job.owner), accounts::describe(&org, member))?;
    let email = match &properties.account {
        AccountSpec::New(new) => Some(new.email.as_str()),
        AccountSpec::Existing(_) => None,
    };
    match accounts::may_close(owned, &described, email) {
        Ok(()) if described.closing => tracing::info!(account = %member, "the account is closing already"),
        Ok(()) => {
            accounts::close(&org, member).await?;
            tracing::info!(account = %member, "account closed");
        }
        Err(why) => tracing::warn!(account = %member, "not closed: {why}"),
    }
    Ok(())
}
