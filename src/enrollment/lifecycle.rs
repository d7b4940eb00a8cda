//! Carries out Create, Update and Delete of one `Custom::SecurityHubMemberAccount`: the plan's
//! decisions ([`super::plan`]), made against AWS.

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::accounts::{self, Owner};
use super::error::{LifecycleError, Side};
use super::fanout;
use super::fence;
use super::gate::Gate;
use super::mark::{self, Mark};
use super::membership::{self, Departure, Enrollment};
use super::plan::{self, DeletePlan, Leave, Target, UpdatePlan};
use super::regions;
use super::{Action, Ask};
use crate::aws::{self, Aws, Session};
use crate::config::Config;
use crate::ids::AccountId;
use crate::properties::{AccountSpec, OnDelete, Properties};

/// How long a newly created account's role may refuse AssumeRole before it is an error.
const NEW_ACCOUNT_ROLE_PATIENCE: Duration = Duration::from_secs(180);
/// How long an existing account's role may refuse AssumeRole before it is an error. IAM is eventually
/// consistent: a role just made (a StackSet's role instance in an account that was vended moments before the
/// member's StackSet deploys to it) can be refused for a while (IAM User Guide, "Troubleshoot IAM": "Changes
/// that I make are not always immediately visible"). A role that is really missing fails after this long.
const EXISTING_ACCOUNT_ROLE_PATIENCE: Duration = Duration::from_secs(60);

/// What a request has got to, as soon as it is known: a Create that fails, times out or panics still
/// answers with its account, so that the rollback's Delete cleans up, and one stopped while Organizations
/// is still creating the account names that creation.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Mutex<Known>>);

#[derive(Debug, Clone, Default)]
struct Known {
    account: Option<String>,
    creation: Option<String>,
}

impl Progress {
    fn set(&self, account: &AccountId) {
        if let Ok(mut known) = self.0.lock() {
            known.account = Some(account.to_string());
        }
    }

    pub(crate) fn set_creation(&self, request_id: &str) {
        if let Ok(mut known) = self.0.lock() {
            known.creation = Some(request_id.to_owned());
        }
    }

    pub fn account(&self) -> Option<String> {
        self.0.lock().ok().and_then(|known| known.account.clone())
    }

    /// The CreateAccount request id of the account this request asked Organizations for, once known.
    pub fn creation(&self) -> Option<String> {
        self.0.lock().ok().and_then(|known| known.creation.clone())
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
    let regions = enroll(job, properties, &member.id, Fence::Create, member.origin).await?;
    remember(job, &member.id, properties, &regions).await;
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

async fn administrator(job: &Job, properties: &Properties) -> Result<Session, LifecycleError> {
    let (account, role) = (&properties.administrator_account_id, &properties.administrator_role_name);
    session(job, Side::Administrator, account, role, Duration::ZERO).await
}

/// The member's session for a Create or an Update (a Delete asks without patience: a closed account's role
/// never comes back, and every Delete of one would wait for it).
async fn member(job: &Job, properties: &Properties, member: &AccountId) -> Result<Session, LifecycleError> {
    let patience =
        if properties.creates_account() { NEW_ACCOUNT_ROLE_PATIENCE } else { EXISTING_ACCOUNT_ROLE_PATIENCE };
    session(job, Side::Member, member, &properties.member_role_name, patience).await
}

async fn session(
    job: &Job,
    side: Side,
    account: &AccountId,
    role: &str,
    patience: Duration,
) -> Result<Session, LifecycleError> {
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
) -> Result<(Session, Session, Vec<String>), LifecycleError> {
    let wanted = properties.regions.as_deref();
    let admin_side = async {
        let session = administrator(job, properties).await?;
        let enabled = regions::enabled(&session).await?;
        Ok::<_, LifecycleError>((enabled, session))
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
    let ((admin_enabled, admin_session), (member_enabled, member_session), ()) =
        tokio::try_join!(admin_side, member_side, origin)?;
    let regions = regions::decide(&admin_enabled, &member_enabled, wanted)?;
    Ok((admin_session, member_session, regions))
}

/// Whether a join watches for a Delete of the resource that begins while it runs (see [`fence`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fence {
    /// A Create: CloudFormation may delete the resource while a run of its Create is still working.
    Create,
    /// An Update: the resource exists, and CloudFormation deletes it only after the Update's answer.
    None,
}

/// Makes `member` an Enabled member in every region; returns the regions, sorted.
async fn enroll(
    job: &Job,
    properties: &Properties,
    member: &AccountId,
    fence: Fence,
    origin: Origin,
) -> Result<Vec<String>, LifecycleError> {
    let (admin_session, member_session, candidates) = prepare(job, properties, member, origin).await?;
    let enrollment = enrollment_of(properties, member);
    let added = add_everywhere(job, properties, &enrollment, &admin_session, &candidates).await?;
    join_added(job, properties, &enrollment, (&admin_session, &member_session), added, fence).await
}

fn enrollment_of(properties: &Properties, member: &AccountId) -> Enrollment {
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
async fn add_everywhere(
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
async fn join_added(
    job: &Job,
    properties: &Properties,
    enrollment: &Enrollment,
    (admin_session, member_session): (&Session, &Session),
    added: regions::Added,
    fence: Fence,
) -> Result<Vec<String>, LifecycleError> {
    let joined = fence::Joined::new(added.joinable.len());
    let joins = fanout::each_region(&added.joinable, job.concurrency, |region| {
        let (admin, member) = (admin_session.securityhub(&region), member_session.securityhub(&region));
        let accepted = match fence {
            Fence::Create => joined.signal(),
            Fence::None => fence::Signal::none(),
        };
        async move { membership::join(&admin, &member, enrollment, accepted).await }
    });
    let deletion_begun = async {
        if fence == Fence::None {
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
async fn withdraw(job: &Job, admin_session: &Session, member: &AccountId, regions: &[String]) {
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

/// Ends the membership in `regions`; the member side only when its role can be assumed.
async fn leave_regions(
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
async fn covered(job: &Job, listed: &Option<Vec<String>>, admin: &Session) -> Result<Vec<String>, LifecycleError> {
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
            let regions = enroll(job, &new, &member.id, Fence::None, member.origin).await?;
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
async fn change(job: &Job, new: &Properties, member: &AccountId, leave: &Leave) -> Result<Done, LifecycleError> {
    let (admin_session, member_session, candidates) = prepare(job, new, member, Origin::Unchecked).await?;
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
    let joined = join_added(job, new, &enrollment, sessions, added, Fence::None).await?;
    remember(job, member, new, &joined).await;
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
    Departure { administrator: administrator.clone(), member: member.clone(), disable_hub }
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
    let departure = departure(&properties.administrator_account_id, &member, disable_hub);
    leave_regions(job, &departure, &admin_session, member_session.as_ref(), &regions).await?;
    mark::forget(&job.aws, &member, &properties.administrator_account_id, &job.owner).await;
    if properties.close_account_on_delete {
        close_if_created_here(job, &member, &properties).await?;
    }
    Ok(done)
}

/// Closes the account only if this resource made it ([`accounts::may_close`]).
async fn close_if_created_here(job: &Job, member: &AccountId, properties: &Properties) -> Result<(), LifecycleError> {
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

/// Marks the member for the membership watch ([`mark`]): only here, after authorization, the origin check and the
/// enrollment itself have passed.
async fn remember(job: &Job, member: &AccountId, properties: &Properties, regions: &[String]) {
    let mark = Mark {
        administrator: properties.administrator_account_id.clone(),
        owner: job.owner.clone(),
        regions: regions.to_vec(),
        member_role_name: properties.member_role_name.clone(),
        enable_default_standards: properties.enable_default_standards,
    };
    mark::remember(&job.aws, member, &mark).await;
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
