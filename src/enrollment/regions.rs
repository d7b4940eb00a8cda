//! Which regions a resource covers: the ones asked for, checked, or the ones discovered.
//!
//! A region is usable when it is enabled in both accounts (Account ListRegions with each account's
//! own credentials) and the administrator has Security Hub enabled there.

use aws_sdk_account::types::RegionOptStatus;
use std::collections::BTreeSet;

use super::fanout;
use super::membership::{self, RegionError};
use crate::aws::{self, AwsError, Operation, Session};
use crate::ids::AccountId;

/// The most ListRegions answers per page.
const LIST_REGIONS_PAGE: i32 = 50;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RegionChoiceError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("Regions: not enabled in the {account} account: {}", .regions.join(", "))]
    NotEnabled { account: &'static str, regions: Vec<String> },
    #[error("Regions: the administrator account has Security Hub disabled in: {}", .0.join(", "))]
    NoAdministratorHub(Vec<String>),
    #[error("no region is enabled in both accounts with Security Hub enabled in the administrator account")]
    NoneDiscovered,
    #[error("Regions: the administrator account is refused AccessDenied by a service control policy in: {}", .0.join(", "))]
    Denied(Vec<String>),
    #[error("Regions: the member account is refused AccessDenied by a service control policy in: {}", .0.join(", "))]
    MemberDenied(Vec<String>),
}

/// The regions enabled for the account of `session`: Account ListRegions for the caller's own account
/// (no AccountId, so no trusted access is needed), ENABLED or ENABLED_BY_DEFAULT (Account Management API
/// reference, "ListRegions"). The Account service is global: the SDK sends it to the partition's one
/// endpoint, whatever the session's region.
pub(crate) async fn enabled(session: &Session) -> Result<BTreeSet<String>, AwsError> {
    if let Some(regions) = without_opt_in(session.partition()) {
        return Ok(regions.iter().map(|region| region.to_string()).collect());
    }
    // A new account refuses its first calls for a while: the member's regions are its first call.
    aws::when_ready(|| list_enabled(session)).await
}

/// The regions of a partition where the Account Management API has no endpoint and no region is opt-in, so that
/// every region is enabled in every account: AWS GovCloud (US), whose two regions are enabled by default (AWS
/// GovCloud (US) User Guide). The SDK's endpoint rules for `account` name the `aws` and `aws-cn` partitions only
/// (botocore's account endpoint-rule-set); in `aws-cn` ListRegions is asked as elsewhere.
fn without_opt_in(partition: &str) -> Option<&'static [&'static str]> {
    match partition {
        "aws-us-gov" => Some(&["us-gov-east-1", "us-gov-west-1"]),
        _ => None,
    }
}

async fn list_enabled(session: &Session) -> Result<BTreeSet<String>, AwsError> {
    let client = session.account_management();
    let mut pages = client
        .list_regions()
        .region_opt_status_contains(RegionOptStatus::Enabled)
        .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
        .max_results(LIST_REGIONS_PAGE)
        .into_paginator()
        .send();
    let mut enabled = BTreeSet::new();
    while let Some(page) = pages.next().await {
        enabled.extend(
            page.op("ListRegions")?.regions().iter().filter_map(|region| region.region_name()).map(str::to_owned),
        );
    }
    Ok(enabled)
}

/// What the administrator's side knows of regions: the ones enabled for it, and of the candidates
/// (`Regions`, or all enabled ones), those where its Security Hub is enabled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AdministratorView {
    pub(crate) enabled: BTreeSet<String>,
    pub(crate) with_hub: BTreeSet<String>,
    /// Of the candidates, those where the administrator's calls are refused with AccessDenied: a region-deny
    /// service control policy (as Control Tower sets), which ListRegions does not show.
    pub(crate) denied: BTreeSet<String>,
}

/// Reads the administrator's view: DescribeHub only where the administrator has the region enabled, so
/// that a listed name that is no region never becomes a call to an endpoint that does not exist.
pub(crate) async fn administrator_view(
    admin: &Session,
    wanted: Option<&[String]>,
    concurrency: usize,
) -> Result<AdministratorView, AwsError> {
    let enabled = enabled(admin).await?;
    let candidates: Vec<String> = match wanted {
        Some(wanted) => wanted.iter().filter(|region| enabled.contains(*region)).cloned().collect(),
        None => enabled.iter().cloned().collect(),
    };
    let hubs = hubs(admin, &candidates, concurrency).await?;
    let of = |state: Hub| hubs.iter().filter(move |(_, found)| *found == state).map(|(region, _)| region.clone());
    let denied: BTreeSet<String> = of(Hub::Denied).collect();
    if !denied.is_empty() {
        let denied = denied.iter().cloned().collect::<Vec<_>>().join(", ");
        tracing::warn!(regions = %denied, "AccessDenied in these regions (a region-deny SCP?): left out");
    }
    Ok(AdministratorView { enabled, with_hub: of(Hub::Enabled).collect(), denied })
}

/// The candidate regions of an enrollment: `wanted` once checked to be enabled in both accounts, or every
/// region enabled in both. Whether the administrator has a hub in each is told by its CreateMembers there
/// ([`after_adding`]).
pub(crate) fn decide(
    admin_enabled: &BTreeSet<String>,
    member_enabled: &BTreeSet<String>,
    wanted: Option<&[String]>,
) -> Result<Vec<String>, RegionChoiceError> {
    match wanted {
        Some(wanted) => {
            missing("administrator", wanted, admin_enabled)?;
            missing("member", wanted, member_enabled)?;
            Ok(wanted.to_vec())
        }
        None => {
            let found: Vec<String> = admin_enabled.intersection(member_enabled).cloned().collect();
            if found.is_empty() {
                return Err(RegionChoiceError::NoneDiscovered);
            }
            Ok(found)
        }
    }
}

/// The candidate regions after the administrator's CreateMembers in each.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Added {
    /// Where the member was added: the join goes on there.
    pub(crate) joinable: Vec<String>,
    /// Where CreateMembers failed for another reason: reported with the join's failures.
    pub(crate) failed: Vec<(String, RegionError)>,
}

/// Sorts the answers of CreateMembers. Listed regions where the administrator has no hub, or is refused
/// AccessDenied (a region-deny SCP), are an error naming them; discovered ones are left out (the denied ones
/// with a warning), and none left is [`RegionChoiceError::NoneDiscovered`].
pub(crate) fn after_adding(
    listed: bool,
    added: Vec<(String, Result<(), RegionError>)>,
) -> Result<Added, RegionChoiceError> {
    let (mut without_hub, mut denied, mut sorted) = (Vec::new(), Vec::new(), Added::default());
    for (region, result) in added {
        match result {
            Ok(()) => sorted.joinable.push(region),
            Err(RegionError::NoAdministratorHub) => without_hub.push(region),
            Err(RegionError::Denied) => denied.push(region),
            Err(error) => sorted.failed.push((region, error)),
        }
    }
    if listed && !denied.is_empty() {
        return Err(RegionChoiceError::Denied(denied));
    }
    if listed && !without_hub.is_empty() {
        return Err(RegionChoiceError::NoAdministratorHub(without_hub));
    }
    if !denied.is_empty() {
        tracing::warn!(regions = %denied.join(", "), "AccessDenied in these regions (a region-deny SCP?): left out");
    }
    if sorted.joinable.is_empty() && sorted.failed.is_empty() {
        return Err(RegionChoiceError::NoneDiscovered);
    }
    Ok(sorted)
}

/// One region's join, as the fan-out answers it.
pub(crate) type Joined = (String, Result<(), RegionError>);

/// The join's answers, without the regions a service control policy denies the member (its own first call there
/// was refused): those are an error naming them when listed; discovered, they are left out with a warning and
/// returned, for the administrator to take its member back there.
pub(crate) fn after_joining(
    listed: bool,
    joined: Vec<Joined>,
) -> Result<(Vec<Joined>, Vec<String>), RegionChoiceError> {
    let (denied, joined): (Vec<_>, Vec<_>) =
        joined.into_iter().partition(|(_, result)| matches!(result, Err(RegionError::MemberDenied)));
    let denied: Vec<String> = denied.into_iter().map(|(region, _)| region).collect();
    if denied.is_empty() {
        return Ok((joined, denied));
    }
    if listed {
        return Err(RegionChoiceError::MemberDenied(denied));
    }
    tracing::warn!(regions = %denied.join(", "), "the member is denied these regions by a service control policy: left out");
    if joined.is_empty() {
        return Err(RegionChoiceError::NoneDiscovered);
    }
    Ok((joined, denied))
}

/// The regions a Delete cleans when none were listed: wherever the administrator's hub is enabled (regions
/// where it is refused AccessDenied are left out, with a warning).
pub(crate) async fn administrator_hubs(admin: &Session, concurrency: usize) -> Result<Vec<String>, AwsError> {
    Ok(administrator_view(admin, None, concurrency).await?.with_hub.into_iter().collect())
}

/// Of listed regions, those the administrator may act in: a Delete cannot leave a region an SCP denies, and
/// says so in the log rather than fail.
pub(crate) async fn administrator_may_act(
    admin: &Session,
    listed: &[String],
    concurrency: usize,
) -> Result<Vec<String>, AwsError> {
    let denied = administrator_view(admin, Some(listed), concurrency).await?.denied;
    Ok(listed.iter().filter(|region| !denied.contains(*region)).cloned().collect())
}

/// Of `regions`, those where the administrator of `session` sees `member` as Enabled.
pub(crate) async fn where_member_enabled(
    session: &Session,
    member: &AccountId,
    regions: Vec<String>,
    concurrency: usize,
) -> Result<Vec<String>, AwsError> {
    let statuses = fanout::each_region(&regions, concurrency, |region| async move {
        let status = membership::member_status(&session.securityhub(&region), member.as_str()).await?;
        Ok::<_, AwsError>(status.as_deref().is_some_and(membership::is_enabled_status))
    })
    .await;
    let statuses = fanout::all_or_first_error(statuses)?;
    Ok(statuses.into_iter().filter(|(_, enabled)| *enabled).map(|(region, _)| region).collect())
}

fn missing(account: &'static str, wanted: &[String], enabled: &BTreeSet<String>) -> Result<(), RegionChoiceError> {
    let regions: Vec<String> = wanted.iter().filter(|region| !enabled.contains(*region)).cloned().collect();
    if regions.is_empty() {
        Ok(())
    } else {
        Err(RegionChoiceError::NotEnabled { account, regions })
    }
}

/// What DescribeHub says of an account's hub in a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hub {
    Enabled,
    Disabled,
    /// AccessDeniedException: the call itself is refused, as a region-deny SCP refuses every call there.
    Denied,
}

/// The hub of the account of `session` in each of `regions` (DescribeHub, all at once).
async fn hubs(session: &Session, regions: &[String], concurrency: usize) -> Result<Vec<(String, Hub)>, AwsError> {
    let checks = fanout::each_region(regions, concurrency, |region| async move {
        let answer = session.securityhub(&region).describe_hub().send().await.op("DescribeHub");
        match answer {
            Ok(_) => Ok(Hub::Enabled),
            Err(error) if error.is_no_hub_described() => Ok(Hub::Disabled),
            Err(error) if error.is_scp_denied() => Ok(Hub::Denied),
            Err(error) => Err(AwsError { message: format!("{region}: {}", error.message), ..error }),
        }
    })
    .await;
    fanout::all_or_first_error(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn govcloud_regions_are_known_without_the_account_api() {
        assert_eq!(without_opt_in("aws-us-gov"), Some(&["us-gov-east-1", "us-gov-west-1"][..]));
        assert_eq!(without_opt_in("aws"), None);
        assert_eq!(without_opt_in("aws-cn"), None);
    }

    #[test]
    fn discovered_candidates_are_enabled_in_both_accounts() {
        let admin = set(&["eu-west-1", "us-east-1", "us-west-2"]);
        let member = set(&["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"]);
        assert_eq!(decide(&admin, &member, None).unwrap(), ["eu-west-1", "us-east-1", "us-west-2"]);
        assert_eq!(decide(&admin, &set(&["ap-south-1"]), None), Err(RegionChoiceError::NoneDiscovered));
    }

    #[test]
    fn explicit_regions_must_be_enabled_in_both_accounts_and_are_named() {
        let wanted = names(&["eu-west-1", "us-east-1"]);
        let error = decide(&set(&["us-east-1"]), &set(&["eu-west-1", "us-east-1"]), Some(&wanted)).unwrap_err();
        assert_eq!(error.to_string(), "Regions: not enabled in the administrator account: eu-west-1");
        let error = decide(&set(&["eu-west-1", "us-east-1"]), &set(&["us-east-1"]), Some(&wanted)).unwrap_err();
        assert_eq!(error.to_string(), "Regions: not enabled in the member account: eu-west-1");
        let both = set(&["eu-west-1", "us-east-1"]);
        assert_eq!(decide(&both, &both, Some(&wanted)).unwrap(), wanted);
    }

    fn answers() -> Vec<(String, Result<(), RegionError>)> {
        vec![
            ("ap-south-1".to_owned(), Err(RegionError::NotTaken("no".to_owned()))),
            ("eu-west-1".to_owned(), Err(RegionError::Denied)),
            ("us-east-1".to_owned(), Ok(())),
            ("us-west-2".to_owned(), Err(RegionError::NoAdministratorHub)),
        ]
    }

    #[test]
    fn listed_regions_without_a_hub_or_denied_are_an_error_naming_them() {
        let error = after_adding(true, answers()).unwrap_err();
        assert_eq!(error, RegionChoiceError::Denied(names(&["eu-west-1"])));
        assert!(error.to_string().starts_with("Regions: the administrator account is refused AccessDenied"));
        let without_denial = answers().into_iter().filter(|(region, _)| region != "eu-west-1").collect();
        let error = after_adding(true, without_denial).unwrap_err();
        assert_eq!(error.to_string(), "Regions: the administrator account has Security Hub disabled in: us-west-2");
    }

    #[test]
    fn regions_denied_to_the_member_are_named_when_listed_and_left_out_when_discovered() {
        let joined = || {
            vec![
                ("eu-west-1".to_owned(), Err(RegionError::MemberDenied)),
                ("us-east-1".to_owned(), Ok(())),
                ("us-west-2".to_owned(), Err(RegionError::NoInvitation("1".to_owned()))),
            ]
        };
        let error = after_joining(true, joined()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Regions: the member account is refused AccessDenied by a service control policy in: eu-west-1"
        );
        let (kept, denied) = after_joining(false, joined()).unwrap();
        assert_eq!(denied, ["eu-west-1"]);
        assert_eq!(kept.iter().map(|(region, _)| region.as_str()).collect::<Vec<_>>(), ["us-east-1", "us-west-2"]);
        let only_denied = vec![("eu-west-1".to_owned(), Err(RegionError::MemberDenied))];
        assert_eq!(after_joining(false, only_denied), Err(RegionChoiceError::NoneDiscovered));
    }

    #[test]
    fn discovered_regions_without_a_hub_or_denied_are_left_out() {
        let added = after_adding(false, answers()).unwrap();
        assert_eq!(added.joinable, ["us-east-1"]);
        assert_eq!(added.failed, [("ap-south-1".to_owned(), RegionError::NotTaken("no".to_owned()))]);
        let none = vec![("eu-west-1".to_owned(), Err(RegionError::NoAdministratorHub))];
        assert_eq!(after_adding(false, none), Err(RegionChoiceError::NoneDiscovered));
    }
}
