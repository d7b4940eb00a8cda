//! Which regions a resource covers: the ones asked for, checked, or the ones discovered.
//!
//! A region is usable when it is enabled in both accounts (Account ListRegions with each account's
//! own credentials) and the administrator has Security Hub enabled there.

use aws_config::SdkConfig;
use aws_sdk_account::types::RegionOptStatus;
use std::collections::BTreeSet;

use super::{fanout, membership};
use crate::aws::{self, AwsError, Operation};
use crate::ids::AccountId;

/// The most ListRegions answers per page.
const LIST_REGIONS_PAGE: i32 = 50;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionsError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("Regions: not enabled in the {account} account: {}", .regions.join(", "))]
    NotEnabled { account: &'static str, regions: Vec<String> },
    #[error("Regions: the administrator account has Security Hub disabled in: {}", .0.join(", "))]
    NoAdministratorHub(Vec<String>),
    #[error("no region is enabled in both accounts with Security Hub enabled in the administrator account")]
    NoneDiscovered,
    #[error("Regions: the administrator account is refused AccessDenied (a region-deny service control policy?) in: {}", .0.join(", "))]
    Denied(Vec<String>),
}

/// The regions enabled for the account of `session`: Account ListRegions for the caller's own account
/// (no AccountId, so no trusted access is needed), ENABLED or ENABLED_BY_DEFAULT (Account Management API
/// reference, "ListRegions"). The Account service is global: the SDK sends it to the partition's one
/// endpoint, whatever the session's region.
pub async fn enabled(session: &SdkConfig) -> Result<BTreeSet<String>, AwsError> {
    let client = aws_sdk_account::Client::new(session);
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
pub struct AdministratorView {
    pub enabled: BTreeSet<String>,
    pub with_hub: BTreeSet<String>,
    /// Of the candidates, those where the administrator's calls are refused with AccessDenied: a region-deny
    /// service control policy (as Control Tower sets), which ListRegions does not show.
    pub denied: BTreeSet<String>,
}

/// Reads the administrator's view: DescribeHub only where the administrator has the region enabled, so
/// that a listed name that is no region never becomes a call to an endpoint that does not exist.
pub async fn administrator_view(
    admin: &SdkConfig,
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

/// The regions to cover: `wanted` once checked against both accounts, or the discovered ones.
pub fn decide(
    admin: &AdministratorView,
    member_enabled: &BTreeSet<String>,
    wanted: Option<&[String]>,
) -> Result<Vec<String>, RegionsError> {
    match wanted {
        Some(wanted) => {
            missing("administrator", wanted, &admin.enabled)?;
            missing("member", wanted, member_enabled)?;
            let denied: Vec<String> = wanted.iter().filter(|region| admin.denied.contains(*region)).cloned().collect();
            if !denied.is_empty() {
                return Err(RegionsError::Denied(denied));
            }
            let without_hub: Vec<String> =
                wanted.iter().filter(|region| !admin.with_hub.contains(*region)).cloned().collect();
            if !without_hub.is_empty() {
                return Err(RegionsError::NoAdministratorHub(without_hub));
            }
            Ok(wanted.to_vec())
        }
        None => {
            let found: Vec<String> = admin.with_hub.intersection(member_enabled).cloned().collect();
            if found.is_empty() {
                return Err(RegionsError::NoneDiscovered);
            }
            Ok(found)
        }
    }
}

/// The regions a Delete cleans when none were listed: wherever the administrator's hub is enabled (regions
/// where it is refused AccessDenied are left out, with a warning).
pub async fn administrator_hubs(admin: &SdkConfig, concurrency: usize) -> Result<Vec<String>, AwsError> {
    Ok(administrator_view(admin, None, concurrency).await?.with_hub.into_iter().collect())
}

/// Of listed regions, those the administrator may act in: a Delete cannot leave a region an SCP denies, and
/// says so in the log rather than fail.
pub async fn administrator_may_act(
    admin: &SdkConfig,
    listed: &[String],
    concurrency: usize,
) -> Result<Vec<String>, AwsError> {
    let denied = administrator_view(admin, Some(listed), concurrency).await?.denied;
    Ok(listed.iter().filter(|region| !denied.contains(*region)).cloned().collect())
}

/// Of `regions`, those where the administrator of `session` sees `member` as Enabled.
pub async fn where_member_enabled(
    session: &SdkConfig,
    member: &AccountId,
    regions: Vec<String>,
    concurrency: usize,
) -> Result<Vec<String>, AwsError> {
    let statuses = fanout::each_region(&regions, concurrency, |region| async move {
        let status = membership::member_status(&aws::securityhub(session, &region), member.as_str()).await?;
        Ok::<_, AwsError>(status.as_deref() == Some("Enabled"))
    })
    .await;
    let statuses = fanout::all_or_first_error(statuses)?;
    Ok(statuses.into_iter().filter(|(_, enabled)| *enabled).map(|(region, _)| region).collect())
}

fn missing(account: &'static str, wanted: &[String], enabled: &BTreeSet<String>) -> Result<(), RegionsError> {
    let regions: Vec<String> = wanted.iter().filter(|region| !enabled.contains(*region)).cloned().collect();
    if regions.is_empty() {
        Ok(())
    } else {
        Err(RegionsError::NotEnabled { account, regions })
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
async fn hubs(session: &SdkConfig, regions: &[String], concurrency: usize) -> Result<Vec<(String, Hub)>, AwsError> {
    let checks = fanout::each_region(regions, concurrency, |region| async move {
        let answer = aws::securityhub(session, &region).describe_hub().send().await.op("DescribeHub");
        match answer {
            Ok(_) => Ok(Hub::Enabled),
            Err(error) if error.is("InvalidAccessException") || error.is("ResourceNotFoundException") => {
                Ok(Hub::Disabled)
            }
            Err(error) if error.is("AccessDeniedException") => Ok(Hub::Denied),
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

    fn view(enabled: &[&str], with_hub: &[&str]) -> AdministratorView {
        AdministratorView { enabled: set(enabled), with_hub: set(with_hub), denied: BTreeSet::new() }
    }

    #[test]
    fn regions_an_scp_denies_are_left_out_of_discovery_and_named_when_listed() {
        let admin =
            AdministratorView { denied: set(&["eu-west-1"]), ..view(&["eu-west-1", "us-east-1"], &["us-east-1"]) };
        let member = set(&["eu-west-1", "us-east-1"]);
        assert_eq!(decide(&admin, &member, None).unwrap(), ["us-east-1"]);
        let wanted = ["eu-west-1".to_owned(), "us-east-1".to_owned()];
        let error = decide(&admin, &member, Some(&wanted)).unwrap_err();
        assert_eq!(error, RegionsError::Denied(vec!["eu-west-1".to_owned()]));
        assert!(error.to_string().starts_with("Regions: the administrator account is refused AccessDenied"));
    }

    #[test]
    fn discovered_regions_need_both_accounts_and_the_administrator_hub() {
        let admin = view(&["eu-west-1", "us-east-1", "us-west-2"], &["eu-west-1", "us-east-1"]);
        let member = set(&["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"]);
        assert_eq!(decide(&admin, &member, None).unwrap(), ["eu-west-1", "us-east-1"]);
        assert_eq!(decide(&admin, &set(&["us-west-2"]), None), Err(RegionsError::NoneDiscovered));
    }

    #[test]
    fn explicit_regions_are_checked_and_named() {
        let admin = view(&["eu-west-1", "us-east-1"], &["us-east-1"]);
        let wanted = ["eu-west-1".to_owned(), "us-east-1".to_owned()];
        let member = set(&["eu-west-1", "us-east-1"]);
        let error = decide(&admin, &member, Some(&wanted)).unwrap_err();
        assert_eq!(error.to_string(), "Regions: the administrator account has Security Hub disabled in: eu-west-1");
        let error = decide(&admin, &set(&["us-east-1"]), Some(&wanted)).unwrap_err();
        assert_eq!(error.to_string(), "Regions: not enabled in the member account: eu-west-1");
        let both = view(&["eu-west-1", "us-east-1"], &["eu-west-1", "us-east-1"]);
        assert_eq!(decide(&both, &member, Some(&wanted)).unwrap(), wanted);
    }
}
