//! Running one piece of work in every region at once (bounded), and summing up how it went.

use futures_util::{stream, StreamExt};
use std::future::Future;

use super::membership::RegionError;

/// Runs `work` for each region, at most `concurrency` at a time; results come back sorted by region.
pub async fn each_region<F, Fut>(
    regions: &[String],
    concurrency: usize,
    work: F,
) -> Vec<(String, Result<(), RegionError>)>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), RegionError>>,
{
    let mut results: Vec<(String, Result<(), RegionError>)> = stream::iter(regions.iter().cloned())
        .map(|region| {
            let future = work(region.clone());
            async move {
                let result = future.await;
                match &result {
                    Ok(()) => tracing::info!(region = %region, "region done"),
                    Err(error) => tracing::warn!(region = %region, error = %error, "region failed"),
                }
                (region, result)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    results.sort_by(|a, b| a.0.cmp(&b.0));
    results
}

/// The regions that succeeded, or a Reason that names each failed region and why.
pub fn summarize(verb: &str, results: Vec<(String, Result<(), RegionError>)>) -> Result<Vec<String>, String> {
    let total = results.len();
    let (done, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(|(_, result)| result.is_ok());
    if failed.is_empty() {
        return Ok(done.into_iter().map(|(region, _)| region).collect());
    }
    let details: Vec<String> = failed
        .into_iter()
        .filter_map(|(region, result)| result.err().map(|error| format!("{region}: {error}")))
        .collect();
    Err(format!("{verb} failed in {} of {total} regions: {}", details.len(), details.join("; ")))
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
        let reason = summarize("Enrollment", results).unwrap_err();
        assert_eq!(
            reason,
            "Enrollment failed in 2 of 3 regions: ap-south-1: InviteMembers: boom in ap-south-1; eu-west-1: InviteMembers: boom in eu-west-1"
        );
    }
}
