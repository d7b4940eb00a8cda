//! The watch's decisions, from what it read (no AWS call here): which accounts' marks are worth reading, and which
//! of this provider's members are no longer Enabled, where, and how.

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::AwsError;
use crate::enrollment::mark::Mark;
use crate::enrollment::membership::is_enabled_status;
use crate::ids::AccountId;

/// One region of an administrator, as ListMembers answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Listed {
    /// Every page was read: each member account with its MemberStatus.
    Members(BTreeMap<AccountId, String>),
    /// The administrator has no hub here (InvalidAccessException "not subscribed"): no members.
    NoHub,
    /// A service control policy denies the administrator this region.
    Denied,
    /// Throttled: the watch stopped here, and reads the region again at its next run.
    Throttled,
    /// Not read before the run had to end.
    OutOfTime,
    Failed(AwsError),
}

impl Listed {
    /// Read to its end: what is not listed is not a member.
    pub(crate) fn is_complete(&self) -> bool {
        matches!(self, Listed::Members(_) | Listed::NoHub | Listed::Denied)
    }
}

/// An account as AWS Organizations lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    Active,
    /// `SUSPENDED` or `PENDING_CLOSURE` (Organizations API Reference, Account: Status and State): closed, or
    /// being closed. Security Hub was seen to go on listing such a member as Enabled
    /// (aws-samples/aws-security-hub-cross-account-controls-disabler pull request 9), so the watch asks
    /// Organizations rather than trust the member's status.
    Suspended,
}

/// How a member of this provider's stands with its administrator in one region, when not Enabled.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    /// "the member account disassociated themselves from the administrator account" (Security Hub API Reference,
    /// Member: MemberStatus), or disabled its hub.
    Resigned,
    /// "the administrator account disassociated the member account".
    Removed,
    /// "the administrator account deleted the member account".
    Deleted,
    /// "an organization account was suspended from AWS", or Organizations says it is closed or closing.
    AccountSuspended,
    /// Not listed at all: the administrator deleted it (DeleteMembers takes it off the list: GetMembers then
    /// answers "no such resource found", hashicorp/terraform-provider-aws pull request 34781).
    Missing,
    /// Added or invited, not (or no longer) accepted.
    Created,
    Invited,
    /// A status the API reference does not list.
    Other(String),
}

impl Status {
    /// The status in `region` of an account whose Organizations standing is `standing`, listed as `listed` (`None`:
    /// not listed); `None` when it is Enabled.
    pub(crate) fn of(listed: Option<&str>, standing: Option<Standing>) -> Option<Status> {
        if standing == Some(Standing::Suspended) {
            return Some(Status::AccountSuspended);
        }
        let Some(listed) = listed else { return Some(Status::Missing) };
        if is_enabled_status(listed) {
            return None;
        }
        let known = [
            ("Resigned", Status::Resigned),
            ("Removed", Status::Removed),
            ("Deleted", Status::Deleted),
            ("AccountSuspended", Status::AccountSuspended),
            ("Account_Suspended", Status::AccountSuspended),
            ("Created", Status::Created),
            ("Invited", Status::Invited),
        ];
        let found = known.into_iter().find(|(name, _)| name.eq_ignore_ascii_case(listed));
        Some(found.map_or_else(|| Status::Other(listed.to_owned()), |(_, status)| status))
    }

    /// As the report and the metrics name it.
    pub(crate) fn name(&self) -> &str {
        match self {
            Status::Resigned => "Resigned",
            Status::Removed => "Removed",
            Status::Deleted => "Deleted",
            Status::AccountSuspended => "AccountSuspended",
            Status::Missing => "Missing",
            Status::Created => "Created",
            Status::Invited => "Invited",
            Status::Other(status) => status,
        }
    }

    /// Whether healing joins the member again: not a suspended or closed account (it cannot answer), nor a status
    /// the watch does not know.
    pub(crate) fn heals(&self) -> bool {
        !matches!(self, Status::AccountSuspended | Status::Other(_))
    }
}

/// One region a member of this provider's left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Departure {
    pub(crate) region: String,
    pub(crate) status: Status,
}

/// A member of this provider's (its mark for this administrator) that is no longer Enabled somewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Departed {
    pub(crate) account: AccountId,
    pub(crate) mark: Mark,
    pub(crate) departures: Vec<Departure>,
}

/// What one administrator's listings show, beside its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listings {
    pub(crate) administrator: AccountId,
    pub(crate) regions: BTreeMap<String, Listed>,
}

/// The accounts whose marks are worth reading: those of the organization that some administrator does not list
/// as Enabled in a region it listed to the end, and those Organizations shows closed or closing. An account
/// Enabled everywhere costs nothing more; each other one, one ListTagsForResource (for every administrator at
/// once). Accounts outside the organization cannot carry a mark and are not read.
pub(crate) fn candidates(listings: &[Listings], standing: &BTreeMap<AccountId, Standing>) -> BTreeSet<AccountId> {
    let enabled_everywhere = |account: &AccountId| {
        listings.iter().filter(|admin| &admin.administrator != account).all(|admin| {
            admin.regions.values().all(|listed| match listed {
                Listed::Members(members) => members.get(account).is_some_and(|status| is_enabled_status(status)),
                _ => true,
            })
        })
    };
    standing
        .iter()
        .filter(|(account, standing)| **standing == Standing::Suspended || !enabled_everywhere(account))
        .map(|(account, _)| account.clone())
        .collect()
}

/// Regions of the administrator's marks where it has no hub any more (or that are no longer enabled for it): its
/// members there are gone with it, which the watch says once, not member by member. Nothing when the
/// administrator's regions could not be read at all.
pub(crate) fn hubs_gone(listings: &Listings, marks: &BTreeMap<AccountId, Vec<Mark>>) -> BTreeSet<String> {
    if listings.regions.is_empty() {
        return BTreeSet::new();
    }
    marks
        .values()
        .flatten()
        .filter(|mark| mark.administrator == listings.administrator)
        .flat_map(|mark| mark.regions.iter())
        .filter(|region| matches!(listings.regions.get(*region), Some(Listed::NoHub) | None))
        .cloned()
        .collect()
}

/// The members marked for this administrator that are not Enabled in a region of their mark that was listed to the
/// end. Regions not read to the end (throttled, out of time, failed) say nothing this run, nor do regions where the
/// administrator has no hub or is denied.
pub(crate) fn departed(
    listings: &Listings,
    standing: &BTreeMap<AccountId, Standing>,
    marks: &BTreeMap<AccountId, Vec<Mark>>,
) -> Vec<Departed> {
    let mut found = Vec::new();
    for (account, marks) in marks {
        let Some(mark) = marks.iter().find(|mark| mark.administrator == listings.administrator) else { continue };
        let departures: Vec<Departure> = mark
            .regions
            .iter()
            .filter_map(|region| {
                let Some(Listed::Members(members)) = listings.regions.get(region) else { return None };
                let status = Status::of(members.get(account).map(String::as_str), standing.get(account).copied())?;
                Some(Departure { region: region.clone(), status })
            })
            .collect();
        if !departures.is_empty() {
            found.push(Departed { account: account.clone(), mark: mark.clone(), departures });
        }
    }
    found
}

#[cfg(test)]
mod tests;
