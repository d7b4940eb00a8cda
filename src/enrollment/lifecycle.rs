//! Carries out Create, Update and Delete of one `Custom::SecurityHubMemberAccount`: the plan's
//! decisions ([`super::plan`]), made against AWS.

use aws_config::SdkConfig;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::accounts::{self, Owner};
use super::error::{LifecycleError, Side};
use super::fanout;
use super::gate::Gate;
use super::membership::{self, Departure, Enrollment};
use super::plan::{self, DeletePlan, Leave, Target, UpdatePlan};
use super::regions;
use super::{Action, Ask};
use crate::aws::{self, Aws};
use crate::config::Config;
use crate::ids::AccountId;
use crate::properties::{AccountSpec, OnDelete, Properties};

/// How long a newly created account's role may refuse AssumeRole before it is an error.
const NEW_ACCOUNT_ROLE_PATIENCE: Duration = Duration::from_secs(180);

/// The account a request is working on, as soon as it is known: a Create that fails, times out or
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

/// What a finished request answers: its physical id and, for Create and Update, the attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub physical_id: String,
    pub attributes: BTreeMap<String, String>,
}

/// What every step of one request needs.
struct Job {
    aws: Arc<Aws>,
    concurrency: usize,
    owner: Owner,
    /// The role session name of every AssumeRole of this request.
    session_name: String,
    gate: Gate,
    progress: Progress,
    started: SystemTime,
}

pub async fn run(aws: Arc<Aws>, config: Config, ask: Ask, progress: Progress) -> Result<Done, LifecycleError> {
    panic_if_asked();
    let own_account = aws.own_account().await.ok().cloned();
    let job = Job {
        concurrency: config.max_concurrent_regions.get(),
        owner: Owner { stack_id: ask.stack_id.clone(), logical_id: ask.logical_id.clone() },
        session_name: aws::session_name(&ask.request_id),
        gate: Gate::new(&config, own_account.as_ref(), &ask),
        aws,
        progress,
        started: SystemTime::now(),
    };
    match &ask.action {
        Action::Create => create(&job, &Properties::parse(&ask.properties)?).await,
        Action::Update { physical_id, old_properties } => {
            update(&job, physical_id, &ask.properties, old_properties).await
        }
        Action::Delete { physical_id } => delete(&job, physical_id, &ask.properties).await,
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
async fn create(job: &Job, properties: &Properties) -> Result<Done, LifecycleError> {
    job.gate.authorize(&[properties], None)?;
    let member = resolve_checked(job, properties, &Target::from(&properties.account)).await?;
    let regions = enroll(job, properties, &member.id, Some(job.started), member.origin).await?;
    Ok(success(&member.id, properties, &regions))
}

/// An account to enroll, and whether the request's origin still needs checking before the first change.
struct Resolved {
    id: AccountId,
    origin: Origin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Checked beside the read-only first steps, before the first change.
    Unchecked,
    Checked,
}

/// The target account. Creating one is a change, so the origin is checked first; an existing account's
/// origin check runs later, beside the sessions and region discovery.
async fn resolve_checked(job: &Job, properties: &Properties, target: &Target) -> Result<Resolved, LifecycleError> {
    if let Target::Existing(id) = target {
        job.progress.set(id);
        return Ok(Resolved { id: id.clone(), origin: Origin::Unchecked });
    }
    job.gate.verify_origin(&job.aws, &properties.member_role_name, &job.session_name).await?;
    let id = resolve(job, properties, target).await?;
    Ok(Resolved { id, origin: Origin::Checked })
}

async fn resolve(job: &Job, properties: &Properties, target: &Target) -> Result<AccountId, LifecycleError> {
    let account = match target {
        Target::Existing(id) => id.clone(),
        Target::Create(new) => {
            let org = aws_sdk_organizations::Client::new(job.aws.base().await);
            let id = accounts::create_or_find(&org, new, &properties.member_role_name, &job.owner).await?;
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

async fn administrator(job: &Job, properties: &Properties) -> Result<SdkConfig, LifecycleError> {
    let (account, role) = (&properties.administrator_account_id, &properties.administrator_role_name);
    session(job, Side::Administrator, account, role, Duration::ZERO).await
}

async fn member(job: &Job, properties: &Properties, member: &AccountId) -> Result<SdkConfig, LifecycleError> {
    let patience = if properties.creates_account() { NEW_ACCOUNT_ROLE_PATIENCE } else { Duration::ZERO };
    session(job, Side::Member, member, &properties.member_role_name, patience).await
}

async fn session(
    job: &Job,
    side: Side,
    account: &AccountId,
    role: &str,
    patience: Duration,
) -> Result<SdkConfig, LifecycleError> {
    let session = job.aws.session(account, role, patience, &job.session_name).await;
    session.map_err(|error| LifecycleError::Session { side, error })
}

/// Both sessions and the regions to cover, and the origin check when it is due. Each side reads its
/// regions as soon as its own session is there, and the origin check runs beside them, so that the
/// critical path stays short.
async fn prepare(
    job: &Job,
    properties: &Properties,
    member_id: &AccountId,
    origin: Origin,
) -> Result<(SdkConfig, SdkConfig, Vec<String>), LifecycleError> {
    let wanted = properties.regions.as_deref();
    let admin_side = async {
        let session = administrator(job, properties).await?;
        let view = regions::administrator_view(&session, wanted, job.concurrency).await?;
        Ok::<_, LifecycleError>((view, session))
    };
    let member_side = async {
        let session = member(job, properties, member_id).await?;
        let enabled = regions::enabled(&session).await?;
        Ok::<_, LifecycleError>((enabled, session))
    };
    let origin = async {
        match origin {
            Origin::Unchecked => {
                job.gate.verify_origin(&job.aws, &properties.member_role_name, &job.session_name).await
            }
            Origin::Checked => Ok(()),
        }
    };
    let ((view, admin_session), (member_enabled, member_session), ()) =
        tokio::try_join!(admin_side, member_side, origin)?;
    let regions = regions::decide(&view, &member_enabled, wanted)?;
    Ok((admin_session, member_session, regions))
}

/// Makes `member` an Enabled member in every region; returns the regions, sorted.
/// `fenced_since`: a Create's start, so that a Delete running meanwhile makes it undo its joins.
async fn enroll(
    job: &Job,
    properties: &Properties,
    member: &AccountId,
    fenced_since: Option<SystemTime>,
    origin: Origin,
) -> Result<Vec<String>, LifecycleError> {
    let (admin_session, member_session, regions) = prepare(job, properties, member, origin).await?;
    join_regions(job, properties, member, (&admin_session, &member_session), &regions, fenced_since).await
}

async fn join_regions(
    job: &Job,
    properties: &Properties,
    member: &AccountId,
    (admin_session, member_session): (&SdkConfig, &SdkConfig),
    regions: &[String],
    fenced_since: Option<SystemTime>,
) -> Result<Vec<String>, LifecycleError> {
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
    Ok(fanout::summarize("Enrollment", results)?)
}

/// Ends the membership in `regions`; the member side only when its role can be assumed.
async fn leave_regions(
    job: &Job,
    departure: &Departure,
    admin_session: &SdkConfig,
    member_session: Option<&SdkConfig>,
    regions: &[String],
) -> Result<(), LifecycleError> {
    let results = fanout::each_region(regions, job.concurrency, |region| {
        let admin = aws::securityhub(admin_session, &region);
        let member = member_session.map(|session| aws::securityhub(session, &region));
        async move { membership::leave(&admin, member.as_ref(), departure).await }
    })
    .await;
    fanout::summarize("Disassociation", results)?;
    Ok(())
}

/// The regions a resource covered, to be left: its `Regions`, or, discovered, wherever the administrator has
/// a hub; either way without the regions where the administrator is refused AccessDenied (a region-deny SCP),
/// which cannot be left and are named in the log.
async fn covered(job: &Job, listed: &Option<Vec<String>>, admin: &SdkConfig) -> Result<Vec<String>, LifecycleError> {
    match listed {
        Some(regions) => Ok(regions::administrator_may_act(admin, regions, job.concurrency).await?),
        None => Ok(regions::administrator_hubs(admin, job.concurrency).await?),
    }
}

async fn update(job: &Job, physical_id: &str, new: &Value, old: &Value) -> Result<Done, LifecycleError> {
    let new = Properties::parse(new)?;
    // The previous properties were accepted once: read them as a Delete would, whatever this version knows.
    let old = Properties::parse_ignoring_unknown(old).ok().map(|(old, _)| old);
    let carried: Vec<&Properties> = std::iter::once(&new).chain(old.as_ref()).collect();
    job.gate.authorize(&carried, AccountId::parse(physical_id).as_ref())?;
    match plan::update(old.as_ref(), &new, physical_id)? {
        UpdatePlan::Replace(target) => {
            let member = resolve_checked(job, &new, &target).await?;
            let regions = enroll(job, &new, &member.id, None, member.origin).await?;
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
async fn change(job: &Job, new: &Properties, member: &AccountId, leave: &Leave) -> Result<Done, LifecycleError> {
    let (admin_session, member_session, regions) = prepare(job, new, member, Origin::Unchecked).await?;
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
            let dropped: Vec<String> = previous.into_iter().filter(|region| !regions.contains(region)).collect();
            let departure = departure(&new.administrator_account_id, member, *disable_hub);
            leave_regions(job, &departure, &admin_session, Some(&member_session), &dropped).await?;
        }
        Leave::Nothing => {}
    }
    let joined = join_regions(job, new, member, (&admin_session, &member_session), &regions, None).await?;
    Ok(success(member, new, &joined))
}

/// The regions where `member` is an Enabled member of the administrator now (read-only).
async fn enrolled_regions(
    job: &Job,
    properties: &Properties,
    member: &AccountId,
) -> Result<Vec<String>, LifecycleError> {
    let admin = administrator(job, properties).await?;
    let hubs = regions::administrator_hubs(&admin, job.concurrency).await?;
    Ok(regions::where_member_enabled(&admin, member, hubs, job.concurrency).await?)
}

fn departure(administrator: &AccountId, member: &AccountId, disable_hub: bool) -> Departure {
    Departure { administrator: administrator.clone(), member: member.clone(), disable_hub, mark_deleted: false }
}

async fn delete(job: &Job, physical_id: &str, value: &Value) -> Result<Done, LifecycleError> {
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
    let departure =
        Departure { mark_deleted: true, ..departure(&properties.administrator_account_id, &member, disable_hub) };
    leave_regions(job, &departure, &admin_session, member_session.as_ref(), &regions).await?;
    if properties.close_account_on_delete {
        close_if_created_here(job, &member).await?;
    }
    Ok(done)
}

async fn close_if_created_here(job: &Job, member: &AccountId) -> Result<(), LifecycleError> {
    let org = aws_sdk_organizations::Client::new(job.aws.base().await);
    if accounts::is_owned_by(&org, member, &job.owner).await? {
        accounts::close(&org, member).await?;
        tracing::info!(account = %member, "account closed");
    } else {
        tracing::warn!(account = %member, "not closed: the account does not carry this resource's creation tags");
    }
    Ok(())
}

fn success(member: &AccountId, properties: &Properties, regions: &[String]) -> Done {
    let attributes = BTreeMap::from([
        ("AccountId".to_owned(), member.to_string()),
        ("AdministratorAccountId".to_owned(), properties.administrator_account_id.to_string()),
        ("Regions".to_owned(), regions.join(",")),
        ("AccountCreated".to_owned(), properties.creates_account().to_string()),
    ]);
    Done { physical_id: member.to_string(), attributes }
}
