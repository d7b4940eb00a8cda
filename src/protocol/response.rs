//! The body PUT to CloudFormation's ResponseURL: at most 4,096 bytes, Reason shortened to fit.

use aws_lambda_events::cloudformation::{
    CloudFormationCustomResourceResponse as Body, CloudFormationCustomResourceResponseStatus as Status,
};
use std::collections::{BTreeMap, HashMap};

/// CloudFormation rejects response bodies above this size.
pub(crate) const MAX_BODY_BYTES: usize = 4096;

const ELLIPSIS: &str = " […]";

/// A response that cannot fit even with Reason cut away: the echoed request fields are too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the echoed request fields alone exceed CloudFormation's {MAX_BODY_BYTES}-byte response limit")]
pub(crate) struct Oversized;

/// What the work decided, before it is addressed to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) success: bool,
    pub(crate) physical_id: String,
    pub(crate) reason: Option<String>,
    pub(crate) data: BTreeMap<String, String>,
}

impl Answer {
    pub(crate) fn success(physical_id: impl Into<String>, data: BTreeMap<String, String>) -> Self {
        Self { success: true, physical_id: physical_id.into(), reason: None, data }
    }

    pub(crate) fn failed(physical_id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { success: false, physical_id: physical_id.into(), reason: Some(reason.into()), data: BTreeMap::new() }
    }
}

/// The request fields a response echoes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Echo {
    pub(crate) stack_id: String,
    pub(crate) request_id: String,
    pub(crate) logical_resource_id: String,
}

/// Serialises the response, shortening Reason (never Data) to stay within [`MAX_BODY_BYTES`].
///
/// The log stream is appended after shortening so that it is always named. If Data alone is too
/// large the response turns FAILED with a Reason saying so, rather than dropping attributes silently.
pub(crate) fn render(answer: &Answer, echo: &Echo, log_stream: &str) -> Result<Vec<u8>, Oversized> {
    let suffix = if log_stream.is_empty() { String::new() } else { format!(" (log stream: {log_stream})") };
    let reason = answer.reason.as_deref().map(strip_control);
    let body = body(answer, echo, reason.as_deref(), &suffix);
    if body.len() <= MAX_BODY_BYTES {
        return Ok(body);
    }
    let Some(reason) = reason else {
        let oversized = Answer::failed(
            answer.physical_id.clone(),
            format!(
                "the response attributes take {} bytes, over CloudFormation's limit of {MAX_BODY_BYTES}",
                body.len()
            ),
        );
        return render(&oversized, echo, log_stream);
    };
    // JSON escaping makes bytes count differently in the body, so search for the longest head that fits.
    let fits = |keep: usize| {
        let shortened = format!("{}{ELLIPSIS}", head(&reason, keep));
        let body = self::body(answer, echo, Some(&shortened), &suffix);
        (body.len() <= MAX_BODY_BYTES).then_some(body)
    };
    let (mut low, mut high) = (0, reason.len());
    while low + 1 < high {
        let middle = (low + high) / 2;
        if fits(middle).is_some() {
            low = middle;
        } else {
            high = middle;
        }
    }
    // With nothing of the Reason kept, echoed fields alone may be too large: CloudFormation would reject it.
    fits(low).ok_or(Oversized)
}

fn body(answer: &Answer, echo: &Echo, reason: Option<&str>, suffix: &str) -> Vec<u8> {
    let mut body = Body::default();
    body.status = if answer.success { Status::Success } else { Status::Failed };
    body.reason = reason.map(|reason| format!("{reason}{suffix}"));
    body.physical_resource_id = answer.physical_id.clone();
    body.stack_id = echo.stack_id.clone();
    body.request_id = echo.request_id.clone();
    body.logical_resource_id = echo.logical_resource_id.clone();
    body.data = answer.data.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<HashMap<_, _>>();
    // Serialising plain strings and maps cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Reason is shown in the console and event stream: control characters only garble it.
fn strip_control(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The first `bytes` bytes of `text`, cut back to a character boundary.
fn head(text: &str, bytes: usize) -> &str {
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn echo() -> Echo {
        Echo {
            stack_id: "arn:aws:cloudformation:us-east-1:111111111111:stack/s/1".into(),
            request_id: "req".into(),
            logical_resource_id: "Member".into(),
        }
    }

    fn parse(body: &[u8]) -> Value {
        serde_json::from_slice(body).expect("valid JSON")
    }

    #[test]
    fn success_carries_data_and_no_reason() {
        let data = BTreeMap::from([("AccountId".to_owned(), "222222222222".to_owned())]);
        let body = parse(&render(&Answer::success("222222222222", data), &echo(), "stream").unwrap());
        assert_eq!(body["Status"], "SUCCESS");
        assert_eq!(body["Data"]["AccountId"], "222222222222");
        assert_eq!(body["PhysicalResourceId"], "222222222222");
        assert_eq!(body["RequestId"], "req");
    }

    #[test]
    fn long_reason_is_cut_to_fit_keeping_head_and_log_stream() {
        for filler in ["a", "\"", "é", "\u{1F600}", "\\"] {
            let reason = format!("Regions: first problem. {}", filler.repeat(10_000));
            let body = render(&Answer::failed("x", reason), &echo(), "2026/11/23/[$LATEST]abc").unwrap();
            assert!(body.len() <= MAX_BODY_BYTES, "{filler}: {}", body.len());
            let reason = parse(&body)["Reason"].as_str().unwrap().to_owned();
            assert!(reason.starts_with("Regions: first problem."));
            assert!(reason.ends_with("(log stream: 2026/11/23/[$LATEST]abc)"));
        }
    }

    #[test]
    fn control_characters_are_stripped() {
        let body = render(&Answer::failed("x", "a\u{0}b\nc\u{1b}[31m"), &echo(), "").unwrap();
        let reason = parse(&body)["Reason"].as_str().unwrap().to_owned();
        assert!(!reason.chars().any(char::is_control), "{reason:?}");
        assert!(reason.starts_with("a b c"));
    }

    #[test]
    fn oversized_data_is_never_dropped_silently() {
        let data = (0..400).map(|i| (format!("Key{i}"), "v".repeat(20))).collect();
        let body = parse(&render(&Answer::success("id", data), &echo(), "s").unwrap());
        assert_eq!(body["Status"], "FAILED");
        assert!(body["Reason"].as_str().unwrap().contains("limit of 4096"));
    }

    #[test]
    fn a_body_that_cannot_fit_is_not_rendered() {
        let huge = Echo { stack_id: "s".repeat(5000), ..echo() };
        assert_eq!(render(&Answer::failed("x", "why"), &huge, "s"), Err(Oversized));
    }
}
