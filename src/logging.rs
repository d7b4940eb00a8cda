//! Logs as JSON lines, one per event, carrying the request's span (RequestId, StackId, LogicalResourceId).

use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the JSON subscriber; the filter comes from `RUST_LOG` (default `info`).
///
/// `RUST_LOG` can raise this crate's own logs, never its dependencies' past `info`: at `debug` the SDK
/// logs the access key ids of its identities, and at `trace` the Lambda runtime logs the raw event with
/// the ResponseURL's signature. Neither may ever reach CloudWatch.
pub fn init() {
    let wanted = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let never_secrets =
        Targets::new().with_default(LevelFilter::INFO).with_target(env!("CARGO_CRATE_NAME"), LevelFilter::TRACE);
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .with_filter(wanted.and(never_secrets));
    tracing_subscriber::registry().with(json).init();
}
