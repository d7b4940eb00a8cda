//! Joining a member of this provider's again where it left, through the enrollment's own steps: the
//! administrator's CreateMembers ([`membership::add`]), then the converging join ([`membership::join`]: invite,
//! the member's EnableSecurityHub, accept the administrator's invitation, confirm Enabled), as a Create does in
//! each region. The same rules hold: the administrator is one of `ADMINISTRATOR_ACCOUNT_IDS` (the watch knows no
//! other), a member Enabled with another administrator is never taken from it, and the member's own settings are
//! its mark's (its role, `EnableDefaultStandards`).

use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

use super::decide::{Departed, Departure};
use super::pace::Pace;
use crate::aws::{Aws, AwsError, Session};
use crate::enrollment::fence::Signal;
use crate::enrollment::membership::{self, Enrollment, RegionError};

/// The administrator's calls one region's join costs at least (CreateMembers, InviteMembers, GetMembers): taken
/// from the region's pace before it starts.
const ADMINISTRATOR_CALLS_PER_JOIN: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HealError {
    #[error("member role not assumed: {0}")]
    Session(AwsError),
    #[error(transparent)]
    Region(#[from] RegionError),
    #[error("the run had to end first")]
    OutOfTime,
}

/// What a healing run needs besides the member: the administrator's session and the pace of each of its regions.
pub(crate) struct Healer<'a> {
    pub(crate) aws: &'a Aws,
    pub(crate) administrator: &'a Session,
    /// The pace of each of the administrator's regions, shared with its listing.
    pub(crate) paces: &'a BTreeMap<String, Pace>,
    pub(crate) session_name: &'a str,
    pub(crate) answer_by: Instant,
}

/// Joins the member again in every region of `departures` (those whose status heals), one region at a time at the
/// administrator's pace; answers each region's outcome.
pub(crate) async fn heal(
    healer: &Healer<'_>,
    departed: &Departed,
    departures: &[&Departure],
) -> Vec<(String, Result<(), HealError>)> {
    let member =
        healer.aws.session(&departed.account, &departed.mark.member_role_name, Duration::ZERO, healer.session_name);
    let member = match timeout_at(healer.answer_by, member).await {
        Ok(Ok(member)) => member,
        Ok(Err(error)) => return each(departures, || Err(HealError::Session(error.clone()))),
        Err(_) => return each(departures, || Err(HealError::OutOfTime)),
    };
    let enrollment = Enrollment {
        administrator: departed.mark.administrator.clone(),
        member: departed.account.clone(),
        email: None,
        enable_default_standards: departed.mark.enable_default_standards,
    };
    let mut outcomes = Vec::new();
    for departure in departures {
        let region = departure.region.as_str();
        let joined = timeout_at(healer.answer_by, join(healer, &member, &enrollment, region)).await;
        outcomes.push((region.to_owned(), joined.unwrap_or(Err(HealError::OutOfTime))));
    }
    outcomes
}

async fn join(healer: &Healer<'_>, member: &Session, enrollment: &Enrollment, region: &str) -> Result<(), HealError> {
    if let Some(pace) = healer.paces.get(region) {
        pace.take(ADMINISTRATOR_CALLS_PER_JOIN).await;
    }
    let (admin, member) = (healer.administrator.securityhub(region), member.securityhub(region));
    membership::add(&admin, enrollment).await?;
    membership::join(&admin, &member, enrollment, Signal::none()).await?;
    Ok(())
}

fn each(
    departures: &[&Departure],
    outcome: impl Fn() -> Result<(), HealError>,
) -> Vec<(String, Result<(), HealError>)> {
    departures.iter().map(|departure| (departure.region.clone(), outcome())).collect()
}
