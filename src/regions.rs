//! Which regions a resource covers: the ones asked for, checked, or the ones discovered.
//!
//! A region is usable when it is enabled in both accounts (EC2 DescribeRegions with each account's
//! own credentials) and the administrator has Security Hub enabled there.

use aws_config::SdkConfig;
use futures_util::{stream, StreamExt};
use std::collections::BTreeSet;

use crate::aws::{self, AwsError, Operation};
use crate::membership;
use crate::properties::AccountId;

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
}

/// The regions enabled for the account of `session`.
pub async fn enabled(session: &SdkConfig) -> Result<BTreeSet<String>, AwsError> {
    let ec2 = aws_sdk_ec2::Client::new(session);
    let answer = ec2.describe_regions().send().await.op("DescribeRegions")?;
    Ok(answer.regions().iter().filter_map(|region| region.region_name().map(str::to_owned)).collect())
}

/// Checks `wanted`, or discovers the regions, for an administrator and a member session.
pub async fn resolve(
    admin: &SdkConfig,
    member: &SdkConfig,
    wanted: Option<&[String]>,
    concurrency: usize,
) -> Result<Vec<String>, RegionsError> {
    let (admin_enabled, member_enabled) = tokio::join!(enabled(admin), enabled(member));
    let (admin_enabled, member_enabled) = (admin_enabled?, member_enabled?);
    match wanted {
        Some(wanted) => {
            missing("administrator", wanted, &admin_enabled)?;
            missing("member", wanted, &member_enabled)?;
            let without_hub = without_hub(admin, wanted.iter().cloned(), concurrency).await?;
            if !without_hub.is_empty() {
                return Err(RegionsError::NoAdministratorHub(without_hub));
            }
            Ok(wanted.to_vec())
        }
        None => {
            let both: Vec<String> = admin_enabled.intersection(&member_enabled).cloned().collect();
            let without_hub = without_hub(admin, both.iter().cloned(), concurrency).await?;
            let found: Vec<String> = both.into_iter().filter(|region| !without_hub.contains(region)).collect();
            if found.is_empty() {
                return Err(RegionsError::NoneDiscovered);
            }
            Ok(found)
        }
    }
}

/// The regions a Delete cleans when none were listed: wherever the administrator's hub is enabled.
pub async fn administrator_hubs(admin: &SdkConfig, concurrency: usize) -> Result<Vec<String>, AwsError> {
    let enabled = enabled(admin).await?;
    let without_hub = without_hub(admin, enabled.iter().cloned(), concurrency).await?;
    Ok(enabled.into_iter().filter(|region| !without_hub.contains(region)).collect())
}

/// Of `regions`, those where the administrator of `session` sees `member` as Enabled.
pub async fn where_member_enabled(
    session: &SdkConfig,
    member: &AccountId,
    regions: Vec<String>,
    concurrency: usize,
) -> Result<Vec<String>, AwsError> {
    let statuses = stream::iter(regions)
        .map(|region| async move {
            let status = membership::member_status(&aws::securityhub(session, &region), member.as_str()).await;
            status.map(|status| (status.as_deref() == Some("Enabled")).then_some(region))
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    let mut enabled: Vec<String> = statuses.into_iter().filter_map(Result::transpose).collect::<Result<_, _>>()?;
    enabled.sort();
    Ok(enabled)
}

fn missing(account: &'static str, wanted: &[String], enabled: &BTreeSet<String>) -> Result<(), RegionsError> {
    let regions: Vec<String> = wanted.iter().filter(|region| !enabled.contains(*region)).cloned().collect();
    if regions.is_empty() {
        Ok(())
    } else {
        Err(RegionsError::NotEnabled { account, regions })
    }
}

/// Of `regions`, those where the account of `session` has no Security Hub (DescribeHub, all at once).
async fn without_hub(
    session: &SdkConfig,
    regions: impl Iterator<Item = String>,
    concurrency: usize,
) -> Result<Vec<String>, AwsError> {
    let checks = stream::iter(regions)
        .map(|region| async move {
            let answer = aws::securityhub(session, &region).describe_hub().send().await.op("DescribeHub");
            match answer {
                Ok(_) => Ok(None),
                Err(error) if error.is("InvalidAccessException") || error.is("ResourceNotFoundException") => {
                    Ok(Some(region))
                }
                Err(error) => Err(AwsError { message: format!("{region}: {}", error.message), ..error }),
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    let mut without: Vec<String> = checks.into_iter().filter_map(Result::transpose).collect::<Result<_, _>>()?;
    without.sort();
    Ok(without)
}
