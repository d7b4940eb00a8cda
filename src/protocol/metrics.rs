//! One CloudWatch embedded metric format (EMF) line per request: what it cost and how it ended.
//!
//! EMF is a JSON object on one log line whose root member `_aws` holds the `Timestamp` (milliseconds since
//! the epoch) and `CloudWatchMetrics` (namespace, dimension sets, metric names and units), and whose root
//! also holds each metric's value and each dimension's value; CloudWatch Logs extracts the metrics from the
//! line, and every other root member stays a searchable property (Amazon CloudWatch User Guide,
//! "Specification: Embedded metric format"). The line is written to stdout as it is, not through the JSON
//! log subscriber, which nests an event's fields under `fields`: the members must be at the root.

use serde_json::{json, Value};
use std::io::Write;
use std::time::Duration;

/// The metrics' CloudWatch namespace.
pub(crate) const NAMESPACE: &str = "SecurityHubMemberAccount";
/// The most characters of an id the line carries: CloudFormation's longest (StackId, PhysicalResourceId) is
/// 1,024, and a malformed event's may be longer; the line must stay one small log event.
const MAX_ID_CHARS: usize = 1024;

/// How a request ended, as the metrics line says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// A SUCCESS answer was delivered.
    Success,
    /// A FAILED answer was delivered.
    Failed,
    /// Nothing reached CloudFormation: the ResponseURL was refused, the event had none, or the PUT failed.
    NotAnswered,
    /// Not answered here on purpose: handed to a fresh invocation, or CloudFormation no longer waits for it.
    Continued,
}

impl Status {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
            Status::NotAnswered => "NOT_ANSWERED",
            Status::Continued => "CONTINUED",
        }
    }
}

/// What one request measured. The ids are properties of the line (searchable, not dimensions); the
/// ResponseURL is never among them, since its query string is a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestMetrics<'a> {
    /// `Create`, `Update`, `Delete`, or `Malformed` / `Unanswerable` for an event that is not a request:
    /// a small set, so a dimension.
    pub(crate) request_type: &'a str,
    pub(crate) status: Status,
    pub(crate) request_id: &'a str,
    pub(crate) stack_id: &'a str,
    pub(crate) logical_resource_id: &'a str,
    pub(crate) duration: Duration,
    /// The regions of the answer's `Regions` attribute.
    pub(crate) regions: usize,
    /// The regions named in a failure of the per-region work.
    pub(crate) failed_regions: usize,
    pub(crate) throttled_calls: u32,
}

/// The metrics line: one JSON object, no newline.
pub(crate) fn line(metrics: &RequestMetrics<'_>, timestamp_ms: u128) -> String {
    let failed = u32::from(matches!(metrics.status, Status::Failed | Status::NotAnswered));
    // Milliseconds as a float keep sub-millisecond requests (a refusal) from reading as 0.
    let duration_ms = metrics.duration.as_micros() as f64 / 1000.0;
    let line: Value = json!({
        "_aws": {
            "Timestamp": u64::try_from(timestamp_ms).unwrap_or(u64::MAX),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["RequestType"]],
                "Metrics": [
                    {"Name": "Duration", "Unit": "Milliseconds"},
                    {"Name": "Regions", "Unit": "Count"},
                    {"Name": "FailedRegions", "Unit": "Count"},
                    {"Name": "ThrottledCalls", "Unit": "Count"},
                    {"Name": "Failed", "Unit": "Count"},
                ],
            }],
        },
        "RequestType": metrics.request_type,
        "Duration": duration_ms,
        "Regions": metrics.regions,
        "FailedRegions": metrics.failed_regions,
        "ThrottledCalls": metrics.throttled_calls,
        "Failed": failed,
        "Status": metrics.status.name(),
        "RequestId": clip(metrics.request_id),
        "StackId": clip(metrics.stack_id),
        "LogicalResourceId": clip(metrics.logical_resource_id),
    });
    line.to_string()
}

fn clip(id: &str) -> &str {
    id.char_indices().nth(MAX_ID_CHARS).map_or(id, |(end, _)| &id[..end])
}

/// The number of regions in a `Regions` attribute (sorted, comma-separated; empty when none).
pub(crate) fn regions_in(attribute: Option<&str>) -> usize {
    attribute.map_or(0, |regions| regions.split(',').filter(|region| !region.is_empty()).count())
}

/// Writes the line to stdout, where Lambda sends it to CloudWatch Logs as one event. A failed write is only
/// logged: the metrics must never fail the request.
pub(crate) fn emit(metrics: &RequestMetrics<'_>, timestamp_ms: u128) {
    let line = line(metrics, timestamp_ms);
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        tracing::warn!(error = %error, "metrics line not written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(status: Status) -> RequestMetrics<'static> {
        RequestMetrics {
            request_type: "Create",
            status,
            request_id: "req-1",
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
            logical_resource_id: "Member",
            duration: Duration::from_millis(1234),
            regions: 3,
            failed_regions: 1,
            throttled_calls: 7,
        }
    }

    fn parsed(metrics: &RequestMetrics<'_>) -> Value {
        let text = line(metrics, 1_700_000_000_123);
        assert!(!text.contains('\n'), "one line: {text}");
        serde_json::from_str(&text).expect("the line is JSON")
    }

    #[test]
    fn every_declared_metric_and_dimension_is_at_the_root() {
        let line = parsed(&sample(Status::Failed));
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        for metric in directive["Metrics"].as_array().expect("Metrics") {
            let name = metric["Name"].as_str().expect("Name");
            assert!(line[name].is_number(), "{name} is not a number at the root: {line}");
        }
        for set in directive["Dimensions"].as_array().expect("Dimensions") {
            for dimension in set.as_array().expect("a dimension set") {
                let name = dimension.as_str().expect("a dimension name");
                assert!(line[name].is_string(), "{name} is not a string at the root: {line}");
            }
        }
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_123_u64);
    }

    #[test]
    fn values_are_those_of_the_request() {
        let line = parsed(&sample(Status::Failed));
        assert_eq!(line["RequestType"], "Create");
        assert_eq!(line["Duration"], 1234.0);
        assert_eq!(line["Regions"], 3);
        assert_eq!(line["FailedRegions"], 1);
        assert_eq!(line["ThrottledCalls"], 7);
        assert_eq!(line["Failed"], 1);
        assert_eq!(line["Status"], "FAILED");
        assert_eq!(line["RequestId"], "req-1");
        assert_eq!(line["LogicalResourceId"], "Member");
        assert!(line["StackId"].as_str().is_some_and(|id| id.contains(":stack/")));
    }

    #[test]
    fn failed_counts_the_failed_and_unanswered_not_the_continued() {
        assert_eq!(parsed(&sample(Status::Success))["Failed"], 0);
        assert_eq!(parsed(&sample(Status::NotAnswered))["Failed"], 1);
        assert_eq!(parsed(&sample(Status::NotAnswered))["Status"], "NOT_ANSWERED");
        assert_eq!(parsed(&sample(Status::Continued))["Failed"], 0, "a hand-off is no failure");
        assert_eq!(parsed(&sample(Status::Continued))["Status"], "CONTINUED");
    }

    #[test]
    fn ids_are_escaped_not_spliced() {
        let hostile = RequestMetrics { request_id: "\"},\"Failed\":0,\"x\":{\"", ..sample(Status::Failed) };
        let line = parsed(&hostile);
        assert_eq!(line["Failed"], 1);
        assert_eq!(line["RequestId"], hostile.request_id);
    }

    #[test]
    fn long_ids_are_clipped() {
        let long = "é".repeat(5000);
        let line = parsed(&RequestMetrics { stack_id: &long, ..sample(Status::Failed) });
        assert_eq!(line["StackId"].as_str().map(|id| id.chars().count()), Some(MAX_ID_CHARS));
    }

    #[test]
    fn regions_are_counted_from_the_attribute() {
        assert_eq!(regions_in(None), 0);
        assert_eq!(regions_in(Some("")), 0);
        assert_eq!(regions_in(Some("eu-west-1")), 1);
        assert_eq!(regions_in(Some("eu-west-1,us-east-1")), 2);
    }
}
