//! The incoming event: a CloudFormation custom-resource request, sent directly or wrapped in SNS.

use aws_lambda_events::cloudformation::CloudFormationCustomResourceRequest as CfnRequest;
use serde_json::Value;
use std::time::Duration;

use super::response::Echo;
pub(crate) use crate::enrollment::{Action, Channel};
use crate::properties::reserved;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    pub(crate) action: Action,
    pub(crate) response_url: String,
    pub(crate) echo: Echo,
    pub(crate) properties: Value,
    /// How long CloudFormation waits for the answer (its `ServiceTimeout`).
    pub(crate) service_timeout: Duration,
    pub(crate) resource_type: String,
    /// Direct, or through SNS (with the notification's topic).
    pub(crate) channel: Channel,
}

impl Request {
    /// What a refusal's log line names: the values the request claims, unchecked.
    pub(crate) fn claims(&self) -> Claims {
        let property = |name: &str| self.properties.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
        let account_id = match (&self.action, property("AccountId")) {
            (Action::Update { physical_id, .. } | Action::Delete { physical_id }, claimed) if claimed.is_empty() => {
                physical_id.clone()
            }
            (_, claimed) => claimed,
        };
        Claims {
            stack_id: self.echo.stack_id.clone(),
            request_type: self.action.name(),
            account_id,
            administrator_account_id: property("AdministratorAccountId"),
        }
    }
}

/// The claimed identity of a request, for the one error line every refusal writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Claims {
    pub(crate) stack_id: String,
    pub(crate) request_type: &'static str,
    pub(crate) account_id: String,
    pub(crate) administrator_account_id: String,
}

/// A request that is malformed but still says where to answer: it gets a FAILED response.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Malformed {
    pub(crate) response_url: String,
    pub(crate) echo: Echo,
    pub(crate) physical_id: Option<String>,
    pub(crate) problem: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum EventError {
    /// Answerable with FAILED at the URL it names.
    #[error("malformed request: {}", .0.problem)]
    Malformed(Box<Malformed>),
    /// Nothing says where a response would go.
    #[error("not a CloudFormation custom-resource request: {0}")]
    Unanswerable(String),
}

/// Parses an event payload, unwrapping SNS delivery first.
pub(crate) fn parse(payload: Value) -> Result<Request, EventError> {
    let (payload, channel) = unwrap_sns(payload)?;
    check_echo_sizes(&payload).map_err(EventError::Unanswerable)?;
    check_envelope(&payload).map_err(|problem| malformed(&payload, problem))?;
    let service_timeout =
        reserved::service_timeout(&payload).map_err(|problem| malformed(&payload, problem.to_string()))?;
    match serde_json::from_value::<CfnRequest>(payload.clone()) {
        Ok(request) => {
            let request = from_cfn(request, service_timeout, channel);
            request.ok_or_else(|| malformed(&payload, "unknown RequestType".into()))
        }
        Err(error) => Err(malformed(&payload, error.to_string())),
    }
}

/// The fields a response echoes, with CloudFormation's own limits: a longer value is no CloudFormation
/// request, and echoing it could not fit the 4,096-byte response.
const ECHOED: [(&str, usize); 4] =
    [("RequestId", 256), ("StackId", 1024), ("LogicalResourceId", 255), ("PhysicalResourceId", 1024)];
const TEXT_FIELDS: [&str; 6] =
    ["RequestId", "StackId", "LogicalResourceId", "PhysicalResourceId", "ResponseURL", "ResourceType"];

/// A field longer than CloudFormation ever sends cannot be echoed within the response's 4,096 bytes, and
/// an answer with it cut would match no request: such an event is not answered at all.
fn check_echo_sizes(payload: &Value) -> Result<(), String> {
    for (field, limit) in ECHOED {
        let length = payload.get(field).and_then(Value::as_str).map_or(0, |text| text.chars().count());
        if length > limit {
            return Err(format!("{field}: {length} characters, over CloudFormation's {limit}"));
        }
    }
    Ok(())
}

/// Checks the top-level fields by hand, so that the Reason names the field (serde's messages do not).
fn check_envelope(payload: &Value) -> Result<(), String> {
    match payload.get("RequestType") {
        Some(Value::String(kind)) if ["Create", "Update", "Delete"].contains(&kind.as_str()) => {}
        other => return Err(format!("RequestType: expected Create, Update or Delete, got {}", shown(other))),
    }
    for field in TEXT_FIELDS {
        match payload.get(field) {
            None | Some(Value::String(_)) => {}
            other => return Err(format!("{field}: expected a string, got {}", shown(other))),
        }
    }
    Ok(())
}

/// A short, printable rendering of a rejected value.
fn shown(value: Option<&Value>) -> String {
    match value {
        None => "nothing".to_owned(),
        Some(Value::String(text)) => {
            let head: String = text.chars().take(40).flat_map(char::escape_debug).collect();
            format!("\"{head}\"")
        }
        Some(other) => {
            let text = other.to_string();
            let head: String = text.chars().take(40).collect();
            format!("{head}{}", if text.len() > head.len() { "…" } else { "" })
        }
    }
}

/// SNS-backed ServiceTokens deliver `{"Records":[{"Sns":{"TopicArn":"...","Message":"<the request as JSON
/// text>"}}]}` (Lambda Developer Guide, "Invoking Lambda functions with Amazon SNS notifications", example
/// event). The topic is SNS's own field; the Message is whatever a publisher wrote.
fn unwrap_sns(payload: Value) -> Result<(Value, Channel), EventError> {
    let Some(message) = payload.pointer("/Records/0/Sns/Message") else {
        return Ok((payload, Channel::Direct));
    };
    let topic_arn = payload.pointer("/Records/0/Sns/TopicArn").and_then(Value::as_str).map(str::to_owned);
    let text = message.as_str().ok_or_else(|| EventError::Unanswerable("SNS Message is not a string".into()))?;
    let request = serde_json::from_str(text)
        .map_err(|error| EventError::Unanswerable(format!("SNS Message is not JSON: {error}")))?;
    Ok((request, Channel::Sns { topic_arn }))
}

fn from_cfn(request: CfnRequest, service_timeout: Duration, channel: Channel) -> Option<Request> {
    let echo = |stack_id, request_id, logical_resource_id| Echo { stack_id, request_id, logical_resource_id };
    let request = match request {
        CfnRequest::Create(r) => Request {
            action: Action::Create,
            response_url: r.response_url,
            echo: echo(r.stack_id, r.request_id, r.logical_resource_id),
            properties: r.resource_properties,
            service_timeout,
            resource_type: r.resource_type,
            channel,
        },
        CfnRequest::Update(r) => Request {
            action: Action::Update { physical_id: r.physical_resource_id, old_properties: r.old_resource_properties },
            response_url: r.response_url,
            echo: echo(r.stack_id, r.request_id, r.logical_resource_id),
            properties: r.resource_properties,
            service_timeout,
            resource_type: r.resource_type,
            channel,
        },
        CfnRequest::Delete(r) => Request {
            action: Action::Delete { physical_id: r.physical_resource_id },
            response_url: r.response_url,
            echo: echo(r.stack_id, r.request_id, r.logical_resource_id),
            properties: r.resource_properties,
            service_timeout,
            resource_type: r.resource_type,
            channel,
        },
        _ => return None,
    };
    Some(request)
}

/// Salvages what a FAILED response needs from a request that did not parse.
fn malformed(payload: &Value, problem: String) -> EventError {
    let text = |field: &str| payload.get(field).and_then(Value::as_str).map(str::to_owned);
    match text("ResponseURL") {
        None => EventError::Unanswerable(problem),
        Some(response_url) => EventError::Malformed(Box::new(Malformed {
            response_url,
            echo: Echo {
                stack_id: text("StackId").unwrap_or_default(),
                request_id: text("RequestId").unwrap_or_default(),
                logical_resource_id: text("LogicalResourceId").unwrap_or_default(),
            },
            physical_id: text("PhysicalResourceId"),
            problem: describe(&problem),
        })),
    }
}

/// serde's messages name the field in backquotes; CloudFormation users know the field names.
fn describe(problem: &str) -> String {
    let problem = problem.replace('`', "");
    format!("the request is not a valid CloudFormation custom-resource request: {problem}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create() -> Value {
        json!({
            "RequestType": "Create",
            "ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:p",
            "ResponseURL": "https://bucket.s3.amazonaws.com/key?X-Amz-Signature=s",
            "StackId": "arn:aws:cloudformation:us-east-1:111111111111:stack/s/1",
            "RequestId": "r1",
            "ResourceType": "Custom::SecurityHubMemberAccount",
            "LogicalResourceId": "Member",
            "ResourceProperties": {"ServiceToken": "t", "AccountId": "222222222222"}
        })
    }

    #[test]
    fn direct_and_sns_wrapped_requests_parse_alike_but_for_their_channel() {
        let direct = parse(create()).unwrap();
        assert_eq!(direct.channel, Channel::Direct);
        let topic = "arn:aws:sns:us-east-1:111111111111:provider";
        let wrapped = json!({"Records": [{"EventSource": "aws:sns",
            "Sns": {"TopicArn": topic, "Message": create().to_string()}}]});
        let via_sns = parse(wrapped).unwrap();
        assert_eq!(via_sns.channel, Channel::Sns { topic_arn: Some(topic.to_owned()) });
        assert_eq!(Request { channel: Channel::Direct, ..via_sns }, direct);
        let no_topic = json!({"Records": [{"Sns": {"Message": create().to_string()}}]});
        assert_eq!(parse(no_topic).unwrap().channel, Channel::Sns { topic_arn: None }, "never direct");
        // A Message that claims a direct channel, or a topic, is still the Message.
        let mut claiming = create();
        claiming["Records"] = json!([{"Sns": {"TopicArn": "arn:aws:sns:us-east-1:111111111111:trusted"}}]);
        let forged = json!({"Records": [{"Sns": {"TopicArn": topic, "Message": claiming.to_string()}}]});
        assert_eq!(parse(forged).unwrap().channel, Channel::Sns { topic_arn: Some(topic.to_owned()) });
        assert_eq!(direct.action, Action::Create);
        assert_eq!(direct.echo.request_id, "r1");
        assert_eq!(direct.properties["AccountId"], "222222222222");
    }

    #[test]
    fn update_and_delete_carry_physical_id() {
        let mut update = create();
        update["RequestType"] = json!("Update");
        update["PhysicalResourceId"] = json!("222222222222");
        update["OldResourceProperties"] = json!({"AccountId": "333333333333"});
        let Action::Update { physical_id, old_properties } = parse(update).unwrap().action else { panic!() };
        assert_eq!(physical_id, "222222222222");
        assert_eq!(old_properties["AccountId"], "333333333333");
    }

    #[test]
    fn service_timeout_is_read_from_where_cloudformation_puts_it() {
        assert_eq!(parse(create()).unwrap().service_timeout, reserved::DEFAULT_SERVICE_TIMEOUT);
        let mut event = create();
        event["ServiceTimeout"] = json!("1200");
        event["ResourceProperties"]["ServiceTimeout"] = json!("1200");
        assert_eq!(parse(event.clone()).unwrap().service_timeout, Duration::from_secs(1200));
        event["ResourceProperties"]["ServiceTimeout"] = json!("forever");
        let EventError::Malformed(malformed) = parse(event).unwrap_err() else { panic!() };
        assert!(malformed.problem.contains("ServiceTimeout: "), "{}", malformed.problem);
    }

    #[test]
    fn malformed_but_answerable() {
        let mut event = create();
        event["RequestType"] = json!("Destroy");
        let EventError::Malformed(malformed) = parse(event).unwrap_err() else { panic!() };
        assert_eq!(malformed.echo.request_id, "r1");
        assert!(malformed.problem.contains("Destroy"), "{}", malformed.problem);
    }

    #[test]
    fn each_bad_envelope_field_is_named() {
        let cases = [
            ("RequestType", json!("Destroy")),
            ("RequestType", json!(1)),
            ("RequestId", json!(7)),
            ("LogicalResourceId", json!(["Member"])),
        ];
        for (field, value) in cases {
            let mut event = create();
            event[field] = value;
            let EventError::Malformed(malformed) = parse(event).unwrap_err() else { panic!("{field}") };
            assert!(malformed.problem.contains(&format!("{field}: ")), "{field}: {}", malformed.problem);
        }
    }

    #[test]
    fn ids_longer_than_cloudformation_sends_are_not_answered() {
        let mut event = create();
        event["StackId"] = json!("s".repeat(1025));
        let EventError::Unanswerable(problem) = parse(event).unwrap_err() else { panic!() };
        assert!(problem.starts_with("StackId: 1025 characters"), "{problem}");
    }

    #[test]
    fn without_a_response_url_nothing_can_answer() {
        assert!(matches!(parse(json!({"hello": "world"})), Err(EventError::Unanswerable(_))));
        assert!(matches!(parse(json!([1, 2])), Err(EventError::Unanswerable(_))));
        let bad_sns = json!({"Records": [{"Sns": {"Message": "{not json"}}]});
        assert!(matches!(parse(bad_sns), Err(EventError::Unanswerable(_))));
    }
}
