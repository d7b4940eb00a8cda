//! The membership watch: a scheduled run of the same function that notices, reports and (when asked) heals the
//! members this provider's resources enrolled that are no longer Enabled. CloudFormation has no drift detection
//! for custom resources, and a member can leave by itself (DisassociateFromAdministratorAccount, or disabling its
//! hub: Resigned), be removed or deleted by hand (Removed, Deleted, or gone from the list), or be closed
//! (AccountSuspended). docs/watch.md says what it reads, what it costs, and how to turn healing on.
//!
//! A run, stateless, within one invocation:
//!
//! 1. Organizations: every account and its state ([`organization::accounts`]).
//! 2. Each administrator of `ADMINISTRATOR_ACCOUNT_IDS`, in each region enabled for it: its members, every page of
//!    ListMembers with OnlyAssociated false ([`listing`]), at a pace of its own per region ([`pace`]), stopping a
//!    region at its first throttled answer (the next run reads it again).
//! 3. The marks ([`crate::enrollment::mark`]) of the organization's accounts that are not Enabled everywhere
//!    listed ([`decide::candidates`]): which members are this provider's, and where.
//! 4. For each of those members not Enabled where its mark says ([`decide::departed`]), CloudFormation in the
//!    stack's account must still hold the resource ([`owner`]); then one log line per member and region
//!    ([`report`]), and, with `WATCH_HEALING`, the join again through the Create's own steps ([`heal`]).
//! 5. One metrics line for the run, whose `DepartedMembers` the provider template alarms on.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::{timeout_at, Instant};
use tracing::Instrument;

use crate::aws::{self, Aws, OnThrottle, Session};
use crate::clock;
use crate::config::{Config, ConfigError};
use crate::enrollment::{fanout, mark, regions};
use crate::ids::AccountId;

pub(crate) mod decide;
pub(crate) mod event;
pub(crate) mod heal;
pub(crate) mod listing;
pub(crate) mod organization;
pub(crate) mod owner;
pub(crate) mod pace;
pub(crate) mod report;

use decide::{Departed, Listed, Listings, Standing};
use event::WatchEvent;
use owner::Ownership;
use pace::Pace;
use report::Summary;

/// Kept back from the Lambda deadline: the run's own lines must still be written.
const MIN_MARGIN: Duration = Duration::from_secs(1);
const MAX_MARGIN: Duration = Duration::from_secs(10);

/// The invocation a run belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    /// Lambda's request id: the run's log lines and the role session names carry it (CloudTrail in each account
    /// then ties what the watch did to its run).
    pub(crate) request_id: String,
    pub(crate) deadline: Instant,
}

/// Serves one watch event: the run in its own task (a panic is logged, never retried by Lambda), then its log
/// line and metrics line. Nothing goes back to the runtime but success: the next scheduled run starts over.
pub(crate) async fn serve(
    opened: Result<WatchEvent, String>,
    config: Result<Config, ConfigError>,
    aws: Arc<Aws>,
    context: Context,
) {
    let started = Instant::now();
    let span = tracing::info_span!("watch", RequestId = %context.request_id, RequestType = report::REQUEST_TYPE);
    let request_id = context.request_id.clone();
    async move {
        tracing::info!("membership watch run started");
        let mut summary = match (opened, config) {
            (Err(problem), _) => {
                tracing::error!(problem = %problem, "watch event refused");
                Summary::failed(problem)
            }
            (Ok(_), Err(error)) => {
                tracing::error!(error = %error, "the membership watch cannot run with this configuration");
                Summary::failed(error.to_string())
            }
            (Ok(event), Ok(config)) => {
                let run = tokio::spawn(run(aws, config, event, context).in_current_span());
                run.await
                    .unwrap_or_else(|failure| Summary::failed(format!("the watch run ended abnormally: {failure}")))
            }
        };
        summary.duration = started.elapsed();
        report::finish(&summary, &request_id, clock::epoch_millis(SystemTime::now()));
    }
    .instrument(span)
    .await
}

/// What every step of one run needs.
struct Watcher {
    aws: Arc<Aws>,
    config: Config,
    event: WatchEvent,
    session_name: String,
    answer_by: Instant,
}

async fn run(aws: Arc<Aws>, config: Config, event: WatchEvent, context: Context) -> Summary {
    let answer_by = context.deadline - margin(context.deadline);
    // Throttled calls are not tried again: the watch yields to the enrollments and resumes at its next run.
    aws.patience().begin_with(answer_by, OnThrottle::GiveUp);
    let watcher = Watcher { session_name: aws::session_name(&context.request_id), aws, config, event, answer_by };
    let mut summary = Summary {
        healing: watcher.config.watch_healing,
        administrators: watcher.config.administrators.len(),
        ..Summary::default()
    };
    if watcher.config.administrators.is_empty() {
        tracing::warn!("ADMINISTRATOR_ACCOUNT_IDS is not set: no administrator to watch");
        return summary;
    }
    if let Err(problem) = watch(&watcher, &mut summary).await {
        tracing::error!(problem = %problem, "the membership watch could not read the organization");
        summary.failure = Some(problem);
    }
    summary.throttled_calls = watcher.aws.patience().throttled();
    summary
}

/// Steps 1 to 4 (see the module).
async fn watch(watcher: &Watcher, summary: &mut Summary) -> Result<(), String> {
    let org = watcher.aws.own().await.map_err(|error| error.to_string())?.organizations();
    let org_pace = Pace::new(pace::ORGANIZATIONS_EVERY);
    let standing = organization::accounts(&org, &org_pace).await.map_err(|error| error.to_string())?;
    let surveys =
        futures_util::future::join_all(watcher.config.administrators.iter().map(|admin| survey(watcher, admin))).await;
    for survey in &surveys {
        count_listings(survey, summary);
    }
    let listings: Vec<Listings> = surveys.iter().map(|survey| survey.listings.clone()).collect();
    let candidates = decide::candidates(&listings, &standing);
    let marks = organization::marks(&org, &candidates, &org_pace, watcher.answer_by).await;
    (summary.marks_read, summary.marks_unread) = (candidates.len() - marks.unread, marks.unread);
    for survey in &surveys {
        let departed = decide::departed(&survey.listings, &standing, &marks.read);
        let gone = decide::hubs_gone(&survey.listings, &marks.read);
        if !gone.is_empty() {
            let regions = gone.into_iter().collect::<Vec<_>>().join(", ");
            tracing::warn!(administrator = %survey.listings.administrator, regions = %regions,
                "the administrator has no hub in regions its members' marks name: its members there are gone with it");
        }
        attend(watcher, survey, &org, &standing, departed, summary).await;
    }
    Ok(())
}

/// One administrator's listings, the session they were read with, and the pace of each region.
struct Survey {
    listings: Listings,
    session: Option<Session>,
    paces: BTreeMap<String, Pace>,
    calls: u32,
}

/// Lists the administrator's members in every region enabled for it, all regions at once, each at its own pace.
async fn survey(watcher: &Watcher, administrator: &AccountId) -> Survey {
    let mut survey = Survey {
        listings: Listings { administrator: administrator.clone(), regions: BTreeMap::new() },
        session: None,
        paces: BTreeMap::new(),
        calls: 0,
    };
    let role = &watcher.event.administrator_role_name;
    let reached = async {
        let session = watcher.aws.session(administrator, role, Duration::ZERO, &watcher.session_name).await?;
        let enabled = regions::enabled(&session).await?;
        Ok::<_, aws::AwsError>((session, enabled))
    };
    let (session, enabled) = match timeout_at(watcher.answer_by, reached).await {
        Ok(Ok(reached)) => reached,
        Ok(Err(error)) => {
            tracing::error!(administrator = %administrator, error = %error, "administrator not reached: not watched this run");
            return survey;
        }
        Err(_) => return survey,
    };
    let regions: Vec<String> = enabled.into_iter().collect();
    survey.paces = regions.iter().map(|region| (region.clone(), Pace::new(pace::SECURITY_HUB_EVERY))).collect();
    let paces = &survey.paces;
    let listed = fanout::each_region(&regions, watcher.config.max_concurrent_regions.get(), |region| {
        let client = session.securityhub(&region);
        async move {
            let Some(pace) = paces.get(&region) else { return Ok::<_, Infallible>((Listed::OutOfTime, 0)) };
            Ok(timeout_at(watcher.answer_by, listing::list(&client, pace)).await.unwrap_or((Listed::OutOfTime, 0)))
        }
    })
    .await;
    for (region, outcome) in listed {
        let Ok((listed, calls)) = outcome;
        survey.calls += calls;
        if let Listed::Failed(error) = &listed {
            tracing::warn!(administrator = %administrator, region = %region, error = %error, "members not listed");
        }
        survey.listings.regions.insert(region, listed);
    }
    survey.session = Some(session);
    survey
}

fn count_listings(survey: &Survey, summary: &mut Summary) {
    summary.list_members_calls += survey.calls;
    if survey.session.is_none() {
        summary.regions_unread += 1;
    }
    for listed in survey.listings.regions.values() {
        if listed.is_complete() {
            summary.regions_read += 1;
        } else {
            summary.regions_unread += 1;
        }
    }
}

/// Step 4 for one administrator: each departed member confirmed with CloudFormation, then reported, healed, left
/// for the next run (its stack busy), or its stale mark taken off.
async fn attend(
    watcher: &Watcher,
    survey: &Survey,
    org: &aws_sdk_organizations::Client,
    standing: &BTreeMap<AccountId, Standing>,
    departed: Vec<Departed>,
    summary: &mut Summary,
) {
    let administrator = &survey.listings.administrator;
    for member in departed {
        if Instant::now() >= watcher.answer_by {
            summary.out_of_time = true;
            return;
        }
        let ownership = owner::confirm(
            &watcher.aws,
            &member.mark,
            &member.account,
            &watcher.config.resource_types,
            &watcher.session_name,
        )
        .await;
        match &ownership {
            Ownership::Gone(why) => forget_stale(org, administrator, &member, why, summary).await,
            Ownership::Busy(why) => {
                tracing::info!(AccountId = %member.account, StackId = %member.mark.owner.stack_id, why = %why,
                    "member no longer enabled while its stack is in an operation: looked at again next run");
                summary.busy += 1;
            }
            Ownership::Held | Ownership::Unconfirmed(_) => {
                for departure in &member.departures {
                    report::departure(administrator, &member, departure, &ownership);
                    summary.count(&departure.status);
                }
                let active = standing.get(&member.account) == Some(&Standing::Active);
                if watcher.config.watch_healing && ownership == Ownership::Held && active {
                    heal_member(watcher, survey, &member, summary).await;
                }
            }
        }
    }
}

/// A mark whose resource CloudFormation no longer holds: taken off, so that the account is no longer this
/// provider's to the watch.
async fn forget_stale(
    org: &aws_sdk_organizations::Client,
    administrator: &AccountId,
    member: &Departed,
    why: &str,
    summary: &mut Summary,
) {
    tracing::info!(AccountId = %member.account, StackId = %member.mark.owner.stack_id,
        LogicalResourceId = %member.mark.owner.logical_id, why, "stale membership watch mark: taken off");
    summary.stale_marks += 1;
    if let Err(error) = mark::remove(org, &member.account, administrator, &member.mark.owner).await {
        tracing::warn!(AccountId = %member.account, error = %error, "stale membership watch mark not taken off");
    }
}

async fn heal_member(watcher: &Watcher, survey: &Survey, member: &Departed, summary: &mut Summary) {
    let Some(session) = &survey.session else { return };
    let healable: Vec<&decide::Departure> =
        member.departures.iter().filter(|departure| departure.status.heals()).collect();
    if healable.is_empty() {
        return;
    }
    let healer = heal::Healer {
        aws: &watcher.aws,
        administrator: session,
        paces: &survey.paces,
        session_name: &watcher.session_name,
        answer_by: watcher.answer_by,
    };
    for (region, outcome) in heal::heal(&healer, member, &healable).await {
        match outcome {
            Ok(()) => {
                summary.healed += 1;
                tracing::info!(AccountId = %member.account, Region = %region,
                    AdministratorAccountId = %survey.listings.administrator, StackId = %member.mark.owner.stack_id,
                    LogicalResourceId = %member.mark.owner.logical_id, "member joined again");
            }
            Err(error) => {
                summary.heal_failed += 1;
                if error == heal::HealError::OutOfTime {
                    summary.out_of_time = true;
                }
                tracing::error!(AccountId = %member.account, Region = %region,
                    AdministratorAccountId = %survey.listings.administrator, StackId = %member.mark.owner.stack_id,
                    LogicalResourceId = %member.mark.owner.logical_id, error = %error, "member not joined again");
            }
        }
    }
}

/// A tenth of the time left, 1 to 10 s, as a request keeps back to answer.
fn margin(deadline: Instant) -> Duration {
    (deadline.saturating_duration_since(Instant::now()) / 10).clamp(MIN_MARGIN, MAX_MARGIN)
}
