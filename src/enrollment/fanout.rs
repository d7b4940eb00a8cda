//! Running one piece of work in every region at once (bounded), and summing up how it went.

use futures_util::{stream, StreamExt};
use std::fmt;
use std::future::Future;

use super::membership::RegionError;

/// Runs `work` for each region, at most `concurrency` at a time; results come back sorted by region.
pub(crate) async fn each_region<T, E, F, Fut>(
    regions: &[String],
    concurrency: usize,
    work: F,
) -> Vec<(String, Result<T, E>)>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut results: Vec<(String, Result<T, E>)> = stream::iter(regions.iter().cloned())
        .map(|region| {
            let future = work(region.clone());
            async move { (region, future.await) }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    results.sort_by(|a, b| a.0.cmp(&b.0));
    results
}

/// Regions where a membership change failed, each with why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) struct RegionFailures {
    pub(crate) verb: &'static str,
    pub(crate) total: usize,
    pub(crate) failed: Vec<(String, RegionError)>,
}

impl fmt::Display for RegionFailures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let details: Vec<String> = self.failed.iter().map(|(region, error)| format!("{region}: {error}")).collect();
        write!(f, "{} failed in {} of {} regions: {}", self.verb, self.failed.len(), self.total, details.join("; "))
    }
}

/// The regions that succeeded (logging each region's end), or every failed region and why.
pub(crate) fn summarize(
    verb: &'static str,
    results: Vec<(String, Result<(), RegionError>)>,
) -> Result<Vec<String>, RegionFailures> {
    let total = results.len();
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    for (region, result) in results {
        match result {
            Ok(()) => {
                tracing::info!(region = %region, "region done");
                done.push(region);
            }
            Err(error) => {
                tracing::warn!(region = %region, error = %error, "region failed");
                failed.push((region, error));
            }
        }
    }
    if failed.is_empty() {
        Ok(done)
    } else {
        Err(RegionFailures { verb, total, failed })
    }
}

/// The first failure (by region), else every region's answer.
pub(crate) fn all_or_first_error<T, E>(results: Vec<(String, Result<T, E>)>) -> Result<Vec<(String, T)>, E> {
    results.into_iter().map(|(region, result)| result.map(|value| (region, value))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::AwsError;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    fn regions(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[tokio::test]
    async fn regions_run_at_once_within_the_bound() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let names: Vec<String> = (1..=9).map(|n| format!("xx-test-{n}")).collect();
        let results = each_region(&names, 4, |_| {
            let (running, most) = (running.clone(), most.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .await;
        assert_eq!(results.len(), 9);
        assert_eq!(most.load(Ordering::SeqCst), 4);
        assert_eq!(summarize("Enrollment", results).unwrap(), names);
    }

    #[tokio::test]
    async fn failures_name_each_region_and_error() {
        let results = each_region(&regions(&["us-east-1", "eu-west-1", "ap-south-1"]), 16, |region| async move {
            if region.starts_with("eu") || region.starts_with("ap") {
                Err(RegionError::Aws(AwsError::new("InviteMembers", format!("boom in {region}"))))
            } else {
                Ok(())
            }
        })
        .await;
        let reason = summarize("Enrollment", results).unwrap_err().to_string();
        assert_eq!(
            reason,
            "Enrollment failed in 2 of 3 regions: ap-south-1: InviteMembers: boom in ap-south-1; eu-west-1: InviteMembers: boom in eu-west-1"
        );
    }
}
