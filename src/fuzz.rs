//! Property-based fuzzing of everything that reads untrusted input: the event, the properties, the
//! ResponseURL, and the response built from them. `make fuzz` runs these with many more cases
//! (`PROPTEST_CASES`); any failure proptest finds is kept in `proptest-regressions/` and replayed first.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::properties::{Properties, KNOWN};
use crate::protocol::event::{self, EventError};
use crate::protocol::response::{self, Answer, Echo, MAX_BODY_BYTES};
use crate::protocol::response_url;

/// Any JSON value, nested a few levels, with strings that include control characters and unicode.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[0-9]{10,14}".prop_map(Value::String),
        Just(json!("true")),
        Just(json!("us-east-1,eu-west-1")),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Property maps made mostly of known keys, so that validation gets past the unknown-key check.
fn properties() -> impl Strategy<Value = Value> {
    let key = prop_oneof![9 => prop::sample::select(KNOWN).prop_map(str::to_owned), 1 => any::<String>()];
    prop::collection::btree_map(key, json_value(), 0..8).prop_map(|map| Value::Object(map.into_iter().collect()))
}

fn request(properties: Value, request_type: Value) -> Value {
    json!({
        "RequestType": request_type,
        "ResponseURL": "https://bucket.s3.amazonaws.com/key",
        "StackId": "arn:aws:cloudformation:us-east-1:111111111111:stack/s/1",
        "RequestId": "r",
        "ResourceType": "Custom::SecurityHubMemberAccount",
        "LogicalResourceId": "Member",
        "PhysicalResourceId": "222222222222",
        "ResourceProperties": properties,
        "OldResourceProperties": {},
    })
}

proptest! {
    #[test]
    fn fuzz_any_event_parses_or_says_why(payload in json_value()) {
        match event::parse(payload) {
            Ok(_) | Err(EventError::Unanswerable(_)) => {}
            Err(EventError::Malformed(malformed)) => prop_assert!(!malformed.problem.is_empty()),
        }
    }

    #[test]
    fn fuzz_requests_with_any_properties(props in properties(), kind in prop_oneof![
        Just(json!("Create")), Just(json!("Update")), Just(json!("Delete")), json_value()]) {
        if let Ok(request) = event::parse(request(props, kind)) {
            if let Err(error) = Properties::parse(&request.properties) {
                // Every problem names a field, and the message stays short enough to quote.
                for problem in &error.0 {
                    prop_assert!(!problem.field.is_empty());
                }
                prop_assert!(error.to_string().len() < 2_000 + 200 * error.0.len());
            }
        }
    }

    #[test]
    fn fuzz_any_reason_fits_the_body(reason in any::<String>(), repeat in 1usize..400, stream in any::<String>()) {
        let reason = reason.repeat(repeat);
        let echo = Echo { stack_id: "s".into(), request_id: "r".into(), logical_resource_id: "l".into() };
let stream: String = stream.chars().take(200).collect();
        let body = response::render(&Answer::failed("failed-create-r", reason), &echo, &stream)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(body.len() <= MAX_BODY_BYTES, "{} bytes", body.len());
        let parsed: Value = serde_json::from_slice(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(!parsed["Reason"].as_str().unwrap_or_default().chars().any(char::is_control));
    }

    #[test]
    fn fuzz_response_urls_are_refused_unless_aws(url in any::<String>(), host in "[a-z0-9.@:-]{0,40}") {
        let _ = response_url::check(&url, true);
        let crafted = format!("https://{host}/key");
        if let Ok(parsed) = response_url::check(&crafted, false) {
            let host = parsed.host_str().unwrap_or_default().trim_end_matches('.').to_owned();
            prop_assert!(host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"), "{}", host);
        }
    }
}
