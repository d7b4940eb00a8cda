//! Work past one Lambda invocation (docs/design.md, "Long operations").
//!
//! A Lambda invocation lasts at most 15 minutes, while CloudFormation waits for a custom resource's answer
//! for its `ServiceTimeout` (up to an hour), and creating an account can take longer than one invocation.
//! So a request still working when its invocation's deadline nears is handed to a fresh asynchronous
//! invocation of the same function (Lambda API Reference, Invoke: `InvocationType` Event), which starts
//! the same idempotent work again, and this one stops without answering. Only when CloudFormation's own
//! deadline would come first does the request answer FAILED, in time for the answer to count.
//!
//! The hand-off carries the CloudFormation request as it arrived and two facts of its own: when the
//! request first arrived (from which CloudFormation's deadline follows) and how many hand-offs it has had.
//! A continuation is checked like any request (authorization and origin run again), so the envelope gives
//! nothing beyond time, and that is bounded: the arrival is never later than now, the ServiceTimeout is
//! CloudFormation's (at most an hour), and the hand-offs are counted. Only a direct invocation carries an
//! envelope: SNS, which every account of an organization may be able to publish to, cannot.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

/// The top-level key of a continuation's payload; the CloudFormation request is under [`REQUEST_KEY`].
pub(crate) const ENVELOPE_KEY: &str = "SecurityHubMemberAccountContinuation";
pub(crate) const REQUEST_KEY: &str = "Request";
/// A backstop on hand-offs. CloudFormation's longest ServiceTimeout (3,600 s) needs 4 with the
/// templates' 900 s Lambda timeout. Lambda's recursive-loop detection stops a chain of about 16
/// invocations of one event (Lambda Developer Guide, "Recursive loop detection"), so the chain stays shorter.
pub(crate) const MAX_HOPS: u32 = 12;
/// A hand-off is worth it only if the continuation has at least this long to work before it must answer.
const MIN_CONTINUATION: Duration = Duration::from_secs(2);

/// When a request first reached the provider, and how many invocations before this one worked on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Arrival {
    /// Milliseconds since the Unix epoch.
    pub(crate) first_arrival_ms: u64,
    pub(crate) hop: u32,
}

impl Arrival {
    /// A request arriving now for the first time.
    pub(crate) fn first(now_ms: u64) -> Self {
        Self { first_arrival_ms: now_ms, hop: 0 }
    }

    pub(crate) fn is_continuation(&self) -> bool {
        self.hop > 0
    }

    /// When CloudFormation stops waiting: `service_timeout` after the first arrival, in epoch milliseconds.
    pub(crate) fn cloudformation_deadline_ms(&self, service_timeout: Duration) -> u64 {
        let timeout_ms = u64::try_from(service_timeout.as_millis()).unwrap_or(u64::MAX);
        self.first_arrival_ms.saturating_add(timeout_ms)
    }
}

/// Splits a payload into the request and its arrival: a continuation's envelope is opened, anything else
/// is a request arriving now. A claimed arrival later than now counts as now.
pub(crate) fn open(payload: Value, now_ms: u64) -> (Value, Arrival) {
    let Value::Object(mut fields) = payload else { return (payload, Arrival::first(now_ms)) };
    let envelope =
        fields.get(ENVELOPE_KEY).cloned().and_then(|envelope| serde_json::from_value::<Arrival>(envelope).ok());
    match (envelope, fields.remove(REQUEST_KEY)) {
        (Some(arrival), Some(request)) if fields.len() == 1 && arrival.hop > 0 => {
            let first_arrival_ms = arrival.first_arrival_ms.min(now_ms);
            (request, Arrival { first_arrival_ms, hop: arrival.hop })
        }
        (_, request) => {
            if let Some(request) = request {
                fields.insert(REQUEST_KEY.to_owned(), request);
            }
            (Value::Object(fields), Arrival::first(now_ms))
        }
    }
}

/// The payload that hands `request` on to the next invocation.
pub(crate) fn envelope(request: &Value, arrival: &Arrival) -> Value {
    let next = Arrival { hop: arrival.hop.saturating_add(1), ..*arrival };
    serde_json::json!({ ENVELOPE_KEY: next, REQUEST_KEY: request })
}

/// When the work must stop, and what happens if it has not finished by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cutoff {
    pub(crate) answer_by: Instant,
    pub(crate) then: OnTimeout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnTimeout {
    /// Hand the request to a fresh invocation: CloudFormation waits long enough for it.
    HandOff,
    /// Answer FAILED, this deadline being the one that stops the work.
    Fail(Bound),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// This invocation's, with no hand-off worth making (none left, or too little time after it).
    Lambda,
    /// CloudFormation's: it stops waiting `ServiceTimeout` after the request first arrived.
    ServiceTimeout,
}

/// The decision: work until this invocation must stop or CloudFormation must have its answer, whichever
/// comes first; hand off only when the Lambda deadline comes first with time to spare after it.
pub(crate) fn cutoff(lambda_answer_by: Instant, cloudformation_answer_by: Instant, arrival: &Arrival) -> Cutoff {
    let spare = cloudformation_answer_by.saturating_duration_since(lambda_answer_by);
    if spare >= MIN_CONTINUATION && arrival.hop < MAX_HOPS {
        Cutoff { answer_by: lambda_answer_by, then: OnTimeout::HandOff }
    } else if cloudformation_answer_by <= lambda_answer_by {
        Cutoff { answer_by: cloudformation_answer_by, then: OnTimeout::Fail(Bound::ServiceTimeout) }
    } else {
        Cutoff { answer_by: lambda_answer_by, then: OnTimeout::Fail(Bound::Lambda) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW_MS: u64 = 1_800_000_000_000;

    fn request() -> Value {
        json!({"RequestType": "Create", "RequestId": "r1", "ResponseURL": "https://example.com/r"})
    }

    #[test]
    fn a_hand_off_carries_the_request_and_its_first_arrival() {
        let first = Arrival::first(NOW_MS - 60_000);
        let handed = envelope(&request(), &first);
        let (opened, arrival) = open(handed.clone(), NOW_MS);
        assert_eq!(opened, request());
        assert_eq!(arrival, Arrival { first_arrival_ms: NOW_MS - 60_000, hop: 1 });
        let (_, next) = open(envelope(&opened, &arrival), NOW_MS);
        assert_eq!(next.hop, 2, "every hand-off is counted");
    }

    #[test]
    fn a_plain_request_arrives_now() {
        let (opened, arrival) = open(request(), NOW_MS);
        assert_eq!(opened, request());
        assert_eq!(arrival, Arrival::first(NOW_MS));
        assert!(!arrival.is_continuation());
    }

    #[test]
    fn an_envelope_cannot_buy_time_or_hide_other_fields() {
        let future = json!({ENVELOPE_KEY: {"FirstArrivalMs": NOW_MS + 3_600_000, "Hop": 1}, REQUEST_KEY: request()});
        assert_eq!(open(future, NOW_MS).1.first_arrival_ms, NOW_MS, "an arrival after now counts as now");
        // Anything but exactly the envelope and the request is no continuation: it is parsed as a request.
        let extra =
            json!({ENVELOPE_KEY: {"FirstArrivalMs": 1, "Hop": 1}, REQUEST_KEY: request(), "RequestType": "Delete"});
        let (opened, arrival) = open(extra.clone(), NOW_MS);
        assert_eq!((opened, arrival), (extra, Arrival::first(NOW_MS)));
        let hop_zero = json!({ENVELOPE_KEY: {"FirstArrivalMs": 1, "Hop": 0}, REQUEST_KEY: request()});
        assert_eq!(open(hop_zero.clone(), NOW_MS), (hop_zero, Arrival::first(NOW_MS)));
        let garbled = json!({ENVELOPE_KEY: "soon", REQUEST_KEY: request()});
        assert_eq!(open(garbled.clone(), NOW_MS), (garbled, Arrival::first(NOW_MS)));
    }

    #[test]
    fn an_envelope_through_sns_is_no_request() {
        // What a principal allowed to publish to the provider's topic could send: a continuation's envelope.
        let envelope = json!({ENVELOPE_KEY: {"FirstArrivalMs": 1, "Hop": 1}, REQUEST_KEY: request()});
        let wrapped = json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": envelope.to_string()}}]});
        let (payload, arrival) = open(wrapped.clone(), NOW_MS);
        assert_eq!((&payload, arrival), (&wrapped, Arrival::first(NOW_MS)), "only a direct invocation continues");
        let parsed = super::super::event::parse(payload);
        assert!(matches!(parsed, Err(super::super::event::EventError::Unanswerable(_))), "{parsed:?}");
    }

    #[test]
    fn cloudformation_stops_waiting_a_service_timeout_after_the_first_arrival() {
        let arrival = Arrival { first_arrival_ms: NOW_MS, hop: 3 };
        assert_eq!(arrival.cloudformation_deadline_ms(Duration::from_secs(3600)), NOW_MS + 3_600_000);
    }

    #[tokio::test(start_paused = true)]
    async fn hands_off_only_while_cloudformation_waits_long_enough() {
        let now = Instant::now();
        let first = Arrival::first(NOW_MS);
        let lambda = now + Duration::from_secs(890);
        let long = cutoff(lambda, now + Duration::from_secs(3590), &first);
        assert_eq!(long, Cutoff { answer_by: lambda, then: OnTimeout::HandOff });
        let cloudformation = now + Duration::from_secs(300);
        let short = cutoff(lambda, cloudformation, &first);
        let fail = |bound| Cutoff { answer_by: cloudformation, then: OnTimeout::Fail(bound) };
        assert_eq!(short, fail(Bound::ServiceTimeout), "answers before CloudFormation gives up");
        let barely = cutoff(lambda, lambda + Duration::from_secs(1), &first);
        assert_eq!(barely, Cutoff { answer_by: lambda, then: OnTimeout::Fail(Bound::Lambda) }, "no hand-off for 1 s");
        let last = Arrival { hop: MAX_HOPS, ..first };
        assert_eq!(cutoff(lambda, now + Duration::from_secs(3590), &last).then, OnTimeout::Fail(Bound::Lambda));
    }
}
