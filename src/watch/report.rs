//! What a watch run tells: one log line per member of this provider's that is no longer Enabled (a member is one
//! account in one region, as Security Hub keeps it), naming its stack and logical id, and one CloudWatch embedded
//! metric format line per run, in the namespace of the requests' own metrics, whose `DepartedMembers` the provider
//! template's alarm watches.
//!
//! The EMF line is a JSON object whose root member `_aws` declares the metrics (namespace, dimension sets, names,
//! units) and whose root holds their values (Amazon CloudWatch User Guide, "Specification: Embedded metric
//! format"); it is written to stdout as it is, like the requests' own line (src/protocol/metrics.rs), since the
//! JSON log subscriber would nest its members under `fields`.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use super::decide::{Departed, Departure, Status};
use super::owner::Ownership;
use crate::ids::AccountId;

/// The requests' namespace: one place for the provider's metrics.
pub(crate) const NAMESPACE: &str = "SecurityHubMemberAccount";
/// The `RequestType` dimension's value of a watch run.
pub(crate) const REQUEST_TYPE: &str = "Watch";
/// The statuses counted each under its own metric; any other goes to `OtherStatus`.
const COUNTED: [&str; 5] = ["Resigned", "Removed", "Deleted", "AccountSuspended", "Missing"];
const OTHER_STATUS: &str = "OtherStatus";

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) administrators: usize,
    /// Administrator regions listed to the end (no hub, or denied, included).
    pub(crate) regions_read: usize,
    /// Administrator regions not listed to the end: throttled, failed, out of time, or the administrator not reached.
    pub(crate) regions_unread: usize,
    pub(crate) list_members_calls: u32,
    /// Accounts whose marks were worth reading and were read, or were not (throttled, out of time).
    pub(crate) marks_read: usize,
    pub(crate) marks_unread: usize,
    /// Members reported, by status.
    pub(crate) departed: BTreeMap<String, u32>,
    /// Members not Enabled whose stack is in an operation: looked at next run.
    pub(crate) busy: u32,
    /// Marks of resources CloudFormation no longer holds, taken off.
    pub(crate) stale_marks: u32,
    pub(crate) healed: u32,
    pub(crate) heal_failed: u32,
    pub(crate) throttled_calls: u32,
    pub(crate) duration: Duration,
    pub(crate) healing: bool,
    /// Ended before it could read anything (the event, the configuration, Organizations).
    pub(crate) failure: Option<String>,
    /// Ended at its deadline with members still to confirm or heal.
    pub(crate) out_of_time: bool,
}

impl Summary {
    pub(crate) fn failed(problem: impl Into<String>) -> Self {
        Self { failure: Some(problem.into()), ..Self::default() }
    }

    /// Counts one reported member.
    pub(crate) fn count(&mut self, status: &Status) {
        let name = if COUNTED.contains(&status.name()) { status.name() } else { OTHER_STATUS };
        *self.departed.entry(name.to_owned()).or_default() += 1;
    }

    pub(crate) fn departed_members(&self) -> u32 {
        self.departed.values().sum()
    }

    /// `COMPLETE`: everything was read; `PARTIAL`: some regions or marks wait for the next run; `FAILED`.
    pub(crate) fn status(&self) -> &'static str {
        if self.failure.is_some() {
            "FAILED"
        } else if self.regions_unread > 0 || self.marks_unread > 0 || self.out_of_time {
            "PARTIAL"
        } else {
            "COMPLETE"
        }
    }
}

/// The metrics line: one JSON object, no newline.
pub(crate) fn line(summary: &Summary, request_id: &str, timestamp_ms: u128) -> String {
    let mut metrics = vec![
        ("DepartedMembers", summary.departed_members(), "Count"),
        ("Healed", summary.healed, "Count"),
        ("HealFailed", summary.heal_failed, "Count"),
        ("ListMembersCalls", summary.list_members_calls, "Count"),
        ("ThrottledCalls", summary.throttled_calls, "Count"),
        ("UnreadRegions", u32::try_from(summary.regions_unread).unwrap_or(u32::MAX), "Count"),
    ];
    let other = summary.departed.get(OTHER_STATUS).copied().unwrap_or_default();
    metrics
        .extend(COUNTED.iter().map(|name| (*name, summary.departed.get(*name).copied().unwrap_or_default(), "Count")));
    metrics.push((OTHER_STATUS, other, "Count"));
    let mut root = Map::new();
    let mut declared: Vec<Value> = metrics.iter().map(|(name, _, unit)| json!({"Name": name, "Unit": unit})).collect();
    for (name, value, _) in &metrics {
        root.insert((*name).to_owned(), json!(value));
    }
    declared.push(json!({"Name": "Duration", "Unit": "Milliseconds"}));
    root.insert("Duration".to_owned(), json!(summary.duration.as_micros() as f64 / 1000.0));
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": u64::try_from(timestamp_ms).unwrap_or(u64::MAX),
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["RequestType"]], "Metrics": declared}],
        }),
    );
    root.insert("RequestType".to_owned(), json!(REQUEST_TYPE));
    root.insert("Status".to_owned(), json!(summary.status()));
    root.insert("RequestId".to_owned(), json!(request_id));
    root.insert("Healing".to_owned(), json!(summary.healing));
    root.insert("Administrators".to_owned(), json!(summary.administrators));
    root.insert("RegionsRead".to_owned(), json!(summary.regions_read));
    root.insert("MarksRead".to_owned(), json!(summary.marks_read));
    root.insert("MarksUnread".to_owned(), json!(summary.marks_unread));
    root.insert("BusyMembers".to_owned(), json!(summary.busy));
    root.insert("StaleMarks".to_owned(), json!(summary.stale_marks));
    if let Some(failure) = &summary.failure {
        root.insert("Failure".to_owned(), json!(failure));
    }
    Value::Object(root).to_string()
}

/// Writes the run's log line and its metrics line (stdout; a failed write is only logged).
pub(crate) fn finish(summary: &Summary, request_id: &str, timestamp_ms: u128) {
    tracing::info!(
        status = summary.status(),
        departed = summary.departed_members(),
        healed = summary.healed,
        heal_failed = summary.heal_failed,
        regions_unread = summary.regions_unread,
        marks_unread = summary.marks_unread,
        throttled = summary.throttled_calls,
        failure = summary.failure.as_deref().unwrap_or(""),
        "membership watch run ended"
    );
    let line = line(summary, request_id, timestamp_ms);
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        tracing::warn!(error = %error, "metrics line not written");
    }
}

/// The line of one member of this provider's that is no longer Enabled.
pub(crate) fn departure(administrator: &AccountId, departed: &Departed, departure: &Departure, ownership: &Ownership) {
    let why = match ownership {
        Ownership::Unconfirmed(why) | Ownership::Busy(why) | Ownership::Gone(why) => why.as_str(),
        Ownership::Held => "",
    };
    tracing::warn!(AccountId = %departed.account, Region = %departure.region, MemberStatus = departure.status.name(),
        AdministratorAccountId = %administrator, StackId = %departed.mark.owner.stack_id,
        LogicalResourceId = %departed.mark.owner.logical_id, Owner = ownership.name(), OwnerDetail = why,
        "member no longer enabled");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(summary: &Summary) -> Value {
        let text = line(summary, "run-1", 1_700_000_000_000);
        assert!(!text.contains('\n'));
        serde_json::from_str(&text).expect("JSON")
    }

    #[test]
    fn the_namespace_is_the_requests_one() {
        assert_eq!(NAMESPACE, crate::protocol::metrics::NAMESPACE);
    }

    #[test]
    fn every_declared_metric_is_a_number_at_the_root_counted_by_status() {
        let mut summary = Summary { list_members_calls: 8, healing: true, ..Summary::default() };
        for status in [Status::Resigned, Status::Resigned, Status::Missing, Status::Invited] {
            summary.count(&status);
        }
        let line = parsed(&summary);
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["RequestType"]]));
        for metric in directive["Metrics"].as_array().expect("Metrics") {
            let name = metric["Name"].as_str().expect("Name");
            assert!(line[name].is_number(), "{name}: {line}");
        }
        assert_eq!(line["RequestType"], REQUEST_TYPE);
        assert_eq!(line["DepartedMembers"], 4);
        assert_eq!(
            (line["Resigned"].clone(), line["Missing"].clone(), line["OtherStatus"].clone()),
            (json!(2), json!(1), json!(1))
        );
        assert_eq!(line["Removed"], 0);
        assert_eq!(line["Status"], "COMPLETE");
        assert_eq!(line["Healing"], true);
    }

    #[test]
    fn a_run_that_could_not_read_everything_says_so() {
        assert_eq!(Summary { regions_unread: 1, ..Summary::default() }.status(), "PARTIAL");
        assert_eq!(Summary { marks_unread: 3, ..Summary::default() }.status(), "PARTIAL");
        let failed = parsed(&Summary::failed("no organization"));
        assert_eq!((failed["Status"].clone(), failed["Failure"].clone()), (json!("FAILED"), json!("no organization")));
    }
}
