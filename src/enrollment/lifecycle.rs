//! Create, Update and Delete of one `Custom::SecurityHubMemberAccount`, as the README describes them.

use aws_config::SdkConfig;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::accounts::{self, Owner};
use super::fanout;
use super::membership::{self, Departure, Enrollment};
use super::regions;
use crate::aws::{self, Aws};
use crate::config::Config;
use crate::properties::{AccountId, AccountSpec, OnDelete, Properties};
use crate::protocol::event::{Action, Request};
use crate::protocol::handler::failed_id;
use crate::protocol::response::Outcome;

/// How long a newly created account's role may refuse AssumeRole before it is an error.
const NEW_ACCOUNT_ROLE_PATIENCE: Duration = Duration::from_secs(180);

/// The account a request is working on, as soon as it is known: a Create that times out or
/// panics still answers with it, so that the rollback's Delete cleans up.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Mutex<Option<String>>>);

impl Progress {
    fn set(&self, account: &AccountId) {
        if let Ok(mut known) = self.0.lock() {
            *known = Some(account.to_string());
        }
    }

    pub fn account(&self) -> Option<String> {
        self.0.lock().ok().and_then(|known| known.clone())
    }
}

/// What every step of one request needs.
struct Job {
    aws: Arc<Aws>,
    concurrency: usize,
    owner: Owner,
    progress: Progress,
    started: SystemTime,
}

/// A failed step: the Reason for CloudFormation.
type Failure = String;

pub async fn run(aws: Arc<Aws>, config: Config, request: Request, progress: Progress) -> Outcome {
    panic_if_asked();
    let job = Job {
        aws,
        concurrency: config.max_concurrent_regions.get(),
        owner: Owner { stack_id: request.echo.stack_id.clone(), logical_id: request.echo.logical_resource_id.clone() },
        progress,
        started: SystemTime::now(),
    };
    match &request.action {
        Action::Create => match Properties::parse(&request.properties) {
            // A failure after the account is known answers with its id, so the rollback's Delete cleans up.
            Ok(properties) => create(&job, &properties).await.unwrap_or_else(|reason| {
                Outcome::failed(job.progress.account().unwrap_or_else(|| failed_id(&request.echo)), reason)
            }),
            Err(error) => Outcome::failed(failed_id(&request.echo), error.to_string()),
        },
        Action::Update { physical_id, old_properties } => {
            update(&job, physical_id, &request.properties, old_properties)
                .await
                .unwrap_or_else(|reason| Outcome::failed(physical_id.clone(), reason))
        }
        Action::Delete { physical_id } => delete(&job, physical_id, &request.properties)
            .await
            .unwrap_or_else(|reason| Outcome::failed(physical_id.clone(), reason)),
    }
}

/// Integration tests check that a panic in the work is still answered; release builds never panic here.
fn panic_if_asked() {
    #[cfg(debug_assertions)]
    if std::env::var("SECURITYHUB_MEMBER_ACCOUNT_TEST_PANIC").as_deref() == Ok("1") {
        panic!("test panic requested through SECURITYHUB_MEMBER_ACCOUNT_TEST_PANIC");
    }
}

/// Resolves (or creates) the account, then enrolls it.
async fn create(job: &Job, properties: &Properties) -> Result<Outcome, Failure> {
    let member = resolve_account(job, properties).await?;
    let regions = enroll(job, properties, &member, Some(job.started)).await?;
    Ok(success(&member, properties, &regions))
}

async fn resolve_account(job: &Job, properties: &Properties) -> Result<AccountId, Failure> {
    let account = match &properties.account {
        AccountSpec::Existing(id) => id.clone(),
        AccountSpec::New(new) => {
            let org = aws_sdk_organizations::Client::new(job.aws.base().await);
            let id = accounts::create_or_find(&org, new, &properties.member_role_name, &job.owner)
                .await
                .map_err(|error| error.to_string())?;
            job.progress.set(&id);
            if let Some(parent) = &new.parent_id {
                accounts::move_to(&org, &id, parent).await.map_err(|error| format!("ParentId: {error}"))?;
            }
            id
        }
    };
    job.progress.set(&account);
    Ok(account)
}

/// Sessions for the administrator and the member, both at once.
async fn sessions(job: &Job, properties: &Properties, member: &AccountId) -> Result<(SdkConfig, SdkConfig), Failure> {
    tokio::try_join!(assume_administrator(job, properties), assume_member(job, properties, member))
}

async fn assume_administrator(job: &Job, properties: &Properties) -> Result<SdkConfig, Failure> {
    let (admin, role) = (&properties.administrator_account_id, &properties.administrator_role_name);
    job.aws.session(admin, role, Duration::ZERO).await.map_err(|error| format!("administrator account: {error}"))
}

async fn assume_member(job: &Job, properties: &Properties, member: &AccountId) -> Result<SdkConfig, Failure> {
    let patience = if properties.creates_account() { NEW_ACCOUNT_ROLE_PATIENCE } else { Duration::ZERO };
    let session = job.aws.session(member, &properties.member_role_name, patience).await;
    session.map_err(|error| format!("member account: {error}"))
}

/// Makes `member` an Enabled member in every region; returns the regions, sorted.
/// `fenced_since`: a Create's start, so that a Delete running meanwhile makes it undo its joins.
async fn enroll(
    job: &Job,
    properties: &Properties,
    member: &AccountId,
    fenced_since: Option<SystemTime>,
) -> Result<Vec<String>, Failure> {
    // Each side reads its regions as soon as its own session is there: the critical path stays short.
    let wanted = properties.regions.as_deref();
    let admin_side = async {
        let session = assume_administrator(job, properties).await?;
        let view = regions::administrator_view(&session, wanted, job.concurrency).await;
        Ok::<_, Failure>((view.map_err(|error| error.to_string())?, session))
    };
    let member_side = async {
        let session = assume_member(job, properties, member).await?;
        let enabled = regions::enabled(&session).await.map_err(|error| error.to_string())?;
        Ok::<_, Failure>((enabled, session))
    };
    let ((view, admin_session), (member_enabled, member_session)) = tokio::try_join!(admin_side, member_side)?;
    let regions = regions::decide(&view, &member_enabled, wanted).map_err(|error| error.to_string())?;
    let sessions = (&admin_session, &member_session);
    join_regions(job, properties, member, sessions, &regions, fenced_since).await
}

async fn join_regions(
    job: &Job,
    properties: &Properties,
    member: &AccountId,
    (admin_session, member_session): (&SdkConfig, &SdkConfig),
    regions: &[String],
    fenced_since: Option<SystemTime>,
) -> Result<Vec<String>, Failure> {
    let enrollment = Enrollment {
        administrator: properties.administrator_account_id.clone(),
        member: member.clone(),
        email: match &properties.account {
            AccountSpec::New(new) => Some(new.email.clone()),
            AccountSpec::Existing(_) => None,
        },
        enable_default_standards: properties.enable_default_standards,
        fenced_since,
    };
    let results = fanout::each_region(regions, job.concurrency, |region| {
        let admin = aws::securityhub(admin_session, &region);
        let member = aws::securityhub(member_session, &region);
        let enrollment = &enrollment;
        async move { membership::join(&admin, &member, enrollment).await }
    })
    .await;
    fanout::summarize("Enrollment", results)
}

/// Ends the membership in `regions`; the member side only when its role can be assumed.
async fn leave_regions(
    job: &Job,
    departure: &Departure,
    admin_session: &SdkConfig,
    member_session: Option<&SdkConfig>,
    regions: &[String],
) -> Result<(), Failure> {
    let results = fanout::each_region(regions, job.concurrency, |region| {
        let admin = aws::securityhub(admin_session, &region);
        let member = member_session.map(|session| aws::securityhub(session, &region));
        async move { membership::leave(&admin, member.as_ref(), departure).await }
    })
    .await;
    fanout::summarize("Disassociation", results).map(|_| ())
}

async fn update(job: &Job, physical_id: &str, new: &Value, old: &Value) -> Result<Outcome, Failure> {
    let new = Properties::parse(new).map_err(|error| error.to_string())?;
    // The previous properties were accepted once: read them as a Delete would, whatever this version knows.
    let old = Properties::parse_ignoring_unknown(old).ok().map(|(old, _)| old);
    if let (Some(AccountSpec::New(before)), AccountSpec::New(after)) =
        (old.as_ref().map(|old| &old.account), &new.account)
    {
        if before.name != after.name || before.email != after.email {
            return Err("AccountName and Email are fixed when the account is created; to enroll another account, give AccountId, or replace the resource".into());
        }
    }
    let current = AccountId::parse(physical_id);
    let target = match (&new.account, &current) {
        (AccountSpec::Existing(id), _) => id.clone(),
        (AccountSpec::New(_), Some(current)) if old.as_ref().is_some_and(Properties::creates_account) => {
            current.clone()
        }
        (AccountSpec::New(_), _) => resolve_account(job, &new).await?,
    };
    match (old, current) {
        (Some(old), Some(current)) if current == target => update_in_place(job, &old, &new, &target).await,
        // Another account: enroll it and answer its id; CloudFormation then deletes the old one.
        _ => {
            let regions = enroll(job, &new, &target, None).await?;
            Ok(success(&target, &new, &regions))
        }
    }
}

/// Same account: follow an administrator change, join added regions, leave dropped ones.
async fn update_in_place(
    job: &Job,
    old: &Properties,
    new: &Properties,
    member: &AccountId,
) -> Result<Outcome, Failure> {
    let admin_changed = old.administrator_account_id != new.administrator_account_id;
    if !admin_changed && old.regions == new.regions {
        tracing::info!("no membership change; properties stored without AWS changes");
        let regions = match &new.regions {
            Some(regions) => regions.clone(),
            // Discovered regions are not in the request: read where the member is Enabled now.
            None => enrolled_regions(job, new, member).await?,
        };
        return Ok(success(member, new, &regions));
    }
    let (admin_session, member_session) = sessions(job, new, member).await?;
    let regions = regions::resolve(&admin_session, &member_session, new.regions.as_deref(), job.concurrency)
        .await
        .map_err(|error| error.to_string())?;
    if admin_changed {
        let old_admin = assume_administrator(job, old).await.map_err(|error| format!("previous {error}"))?;
        let old_regions = match &old.regions {
            Some(regions) => regions.clone(),
            None => {
                regions::administrator_hubs(&old_admin, job.concurrency).await.map_err(|error| error.to_string())?
            }
        };
        let departure = departure(old, member, false);
        leave_regions(job, &departure, &old_admin, Some(&member_session), &old_regions).await?;
    } else if new.on_delete != OnDelete::Retain {
        let covered = match &old.regions {
            Some(regions) => regions.clone(),
            None => regions::administrator_hubs(&admin_session, job.concurrency).await.map_err(|e| e.to_string())?,
        };
        let dropped: Vec<String> = covered.into_iter().filter(|region| !regions.contains(region)).collect();
        let departure = departure(new, member, new.on_delete == OnDelete::DisableSecurityHub);
        leave_regions(job, &departure, &admin_session, Some(&member_session), &dropped).await?;
    }
    let joined = join_regions(job, new, member, (&admin_session, &member_session), &regions, None).await?;
    Ok(success(member, new, &joined))
}

/// The regions where `member` is an Enabled member of the administrator now (read-only).
async fn enrolled_regions(job: &Job, properties: &Properties, member: &AccountId) -> Result<Vec<String>, Failure> {
    let admin = assume_administrator(job, properties).await?;
    let hubs = regions::administrator_hubs(&admin, job.concurrency).await.map_err(|error| error.to_string())?;
    regions::where_member_enabled(&admin, member, hubs, job.concurrency).await.map_err(|error| error.to_string())
}

fn departure(properties: &Properties, member: &AccountId, disable_hub: bool) -> Departure {
    let administrator = properties.administrator_account_id.clone();
    Departure { administrator, member: member.clone(), disable_hub, mark_deleted: false }
}

async fn delete(job: &Job, physical_id: &str, value: &Value) -> Result<Outcome, Failure> {
    let done = Outcome::success(physical_id, BTreeMap::new());
    let Some(member) = AccountId::parse(physical_id) else {
        tracing::info!("physical id is not an account: nothing was enrolled");
        return Ok(done);
    };
    // A Delete must not fail for a property it does not know (one a newer template added), nor succeed
    // without leaving: what it needs must be valid, the rest is ignored.
    let (properties, ignored) = Properties::parse_ignoring_unknown(value).map_err(|error| error.to_string())?;
    if !ignored.is_empty() {
        tracing::warn!(ignored = %ignored.join(", "), "unknown properties ignored by Delete");
    }
    if properties.on_delete == OnDelete::Retain {
        tracing::info!("OnDelete is Retain: nothing touched");
        return Ok(done);
    }
    let (admin_session, member_session) = tokio::join!(
        assume_administrator(job, &properties),
        job.aws.session(&member, &properties.member_role_name, Duration::ZERO)
    );
    let admin_session = admin_session?;
    let member_session = match member_session {
        Ok(session) => Some(session),
        Err(error) => {
            tracing::warn!(error = %error, "member role not assumable (account closed, suspended or gone): administrator side only");
            None
        }
    };
    let regions = match &properties.regions {
        Some(regions) => regions.clone(),
        None => {
            regions::administrator_hubs(&admin_session, job.concurrency).await.map_err(|error| error.to_string())?
        }
    };
    let disable_hub = properties.on_delete == OnDelete::DisableSecurityHub;
    let departure = Departure { mark_deleted: true, ..departure(&properties, &member, disable_hub) };
    leave_regions(job, &departure, &admin_session, member_session.as_ref(), &regions).await?;
    if properties.close_account_on_delete {
        close_if_created_here(job, &member).await?;
    }
    Ok(done)
}

async fn close_if_created_here(job: &Job, member: &AccountId) -> Result<(), Failure> {
    let org = aws_sdk_organizations::Client::new(job.aws.base().await);
    if accounts::is_owned_by(&org, member, &job.owner).await.map_err(|error| error.to_string())? {
        accounts::close(&org, member).await.map_err(|error| error.to_string())?;
        tracing::info!(account = %member, "account closed");
    } else {
        tracing::warn!(account = %member, "not closed: the account does not carry this resource's creation tags");
    }
    Ok(())
}

fn success(member: &AccountId, properties: &Properties, regions: &[String]) -> Outcome {
    let data = BTreeMap::from([
        ("AccountId".to_owned(), member.to_string()),
        ("AdministratorAccountId".to_owned(), properties.administrator_account_id.to_string()),
        ("Regions".to_owned(), regions.join(",")),
        ("AccountCreated".to_owned(), properties.creates_account().to_string()),
    ]);
    Outcome::success(member.to_string(), data)
}
