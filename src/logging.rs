//! Logs as JSON lines, one per event, carrying the request's span (RequestId, StackId, LogicalResourceId).

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber; the filter comes from `RUST_LOG` (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .init();
}
