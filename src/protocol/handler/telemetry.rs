//! What a request writes besides its answer: the log span, the `request refused` line, the throttled count in
//! the Reason, and the one metrics line.

use super::metrics::RequestMetrics;
use super::*;

pub(super) fn request_span(echo: &Echo, request_type: &str) -> tracing::Span {
    tracing::info_span!("request", RequestId = %echo.request_id, StackId = %echo.stack_id,
        LogicalResourceId = %echo.logical_resource_id, RequestType = request_type)
}

/// The request's metrics line, written last (see [`metrics`]); `measured` is None when no work was done.
pub(super) fn measure(
    echo: &Echo,
    request_type: &str,
    status: Status,
    measured: Option<&Measured>,
    invocation: &Invocation,
) {
    let regions = measured.and_then(|measured| measured.answer.data.get("Regions"));
    let metrics = RequestMetrics {
        request_type,
        status,
        request_id: &echo.request_id,
        stack_id: &echo.stack_id,
        logical_resource_id: &echo.logical_resource_id,
        duration: invocation.started.elapsed(),
        regions: metrics::regions_in(regions.map(String::as_str)),
        failed_regions: measured.map_or(0, |measured| measured.failed_regions),
        throttled_calls: measured.map_or(0, |measured| measured.throttled),
    };
    metrics::emit(&metrics, clock::epoch_millis(SystemTime::now()));
}

/// The regions a failure names, when the per-region work failed (the Reason lists them too).
pub(super) fn regions_failed(error: &LifecycleError) -> usize {
    match error {
        LifecycleError::InRegions(failures) => failures.failed.len(),
        _ => 0,
    }
}

/// A FAILED answer says how many AWS calls were throttled on the way: under a whole OU's rollout, that is
/// why time ran out, and what `MaxConcurrentCount` should be lowered for.
pub(super) fn with_throttling(mut answer: Answer, throttled: u32) -> Answer {
    if throttled > 0 {
        tracing::warn!(throttled, "AWS calls throttled during this request");
        if let Some(reason) = answer.reason.as_mut() {
            reason.push_str(&format!(" ({throttled} AWS calls were throttled and retried)"));
        }
    }
    answer
}

/// The one line every refusal writes (the provider template's metric filter counts it): what the request
/// claimed, and why it was refused.
pub(super) fn log_refusal(claims: &Claims, reason: &str) {
    tracing::error!(StackId = %claims.stack_id, RequestType = claims.request_type, AccountId = %claims.account_id,
        AdministratorAccountId = %claims.administrator_account_id, reason, "request refused");
}
