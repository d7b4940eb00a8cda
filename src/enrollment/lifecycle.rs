//! Carries out Create, Update and Delete of one `Custom::SecurityHubMemberAccount`: the plan's
//! decisions ([`super::plan`]), made against AWS.
//!
//! [`create`], [`update`] and [`delete`] each carry out one request type, adding and joining regions with
//! [`joining`] and leaving them with [`leaving`]. Here: what every step shares (the [`Job`], the sessions, the
//! regions and origin check before the first change, the [`Progress`] and the [`Done`] answer).

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
use super::{Action, Work};
use crate::aws::{self, Aws, Session};
use crate::config::Config;
use crate::ids::AccountId;
use crate::properties::{AccountSpec, OnDelete, Properties};

mod create;
mod delete;
mod joining;
mod leaving;
mod update;

use create::*;
use delete::*;
use joining::*;
use leaving::*;
use update::*;

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
pub(crate) struct Progress(Arc<Mutex<Known>>);

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

    pub(crate) fn account(&self) -> Option<String> {
        self.0.lock().ok().and_then(|known| known.account.clone())
    }

    /// The CreateAccount request id of the account this request asked Organizations for, once known.
    pub(crate) fn creation(&self) -> Option<String> {
        self.0.lock().ok().and_then(|known| known.creation.clone())
    }
}

/// What a finished request answers: its physical id and, for Create and Update, the attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Done {
    pub(crate) physical_id: String,
    pub(crate) attributes: BTreeMap<String, String>,
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

pub(crate) async fn run(aws: Arc<Aws>, config: Config, work: Work, progress: Progress) -> Result<Done, LifecycleError> {
    panic_if_asked();
    let own_account = aws.own_account().await.ok().cloned();
    let job = Job {
        concurrency: config.max_concurrent_regions.get(),
        owner: Owner { stack_id: work.stack_id.clone(), logical_id: work.logical_id.clone() },
        session_name: aws::session_name(&work.request_id),
        gate: Gate::new(&config, own_account.as_ref(), &work),
        aws,
        progress,
    };
    match &work.action {
        Action::Create => create(&job, &Properties::parse(&work.properties)?).await,
        Action::Update { physical_id, old_properties } => {
            update(&job, physical_id, &work.properties, old_properties).await
        }
        Action::Delete { physical_id } => delete(&job, physical_id, &work.properties).await,
    }
}

/// Integration tests check that a panic in the work is still answered; release builds never panic here.
fn panic_if_asked() {
    #[cfg(debug_assertions)]
    if std::env::var("SECURITYHUB_MEMBER_ACCOUNT_TEST_PANIC").as_deref() == Ok("1") {
        panic!("test panic requested through SECURITYHUB_MEMBER_ACCOUNT_TEST_PANIC");
    }
}

/// Whether the request's origin is still to be checked before the first change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OriginCheck {
    /// Checked beside the read-only first steps, before the first change.
    Unchecked,
    Checked,
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
    origin: OriginCheck,
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
            OriginCheck::Unchecked => {
                job.gate.verify_origin(&job.aws, &properties.member_role_name, &job.session_name).await
            }
            OriginCheck::Checked => Ok(()),
        }
    };
    let ((admin_enabled, admin_session), (member_enabled, member_session), ()) =
        tokio::try_join!(admin_side, member_side, origin)?;
    let regions = regions::decide(&admin_enabled, &member_enabled, wanted)?;
    Ok((admin_session, member_session, regions))
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

#[cfg(test)]
mod tests;
