//! The watch's own event, `{"SecurityHubMemberAccountWatch": {"AdministratorRoleName": "…"}}`, as the provider's
//! EventBridge schedule sends it: a direct invocation, which IAM guards (only principals allowed
//! `lambda:InvokeFunction`, and the schedule through the function's resource policy, may send one).
//!
//! An SNS notification carries its message as text inside `Records[0].Sns.Message` (Lambda Developer Guide,
//! "Invoking Lambda functions with Amazon SNS notifications"), never at the top level of the payload, so a watch
//! event published to the provider's topic is never opened here: it goes on to the request parser, which finds no
//! ResponseURL and answers nothing, as for a continuation envelope published to the topic. The event itself
//! grants nothing: the administrators are the operator's `ADMINISTRATOR_ACCOUNT_IDS`, healing is the operator's
//! `WATCH_HEALING`, and the role name is one the provider's IAM policy lets it assume anyway.

use serde_json::Value;

use crate::properties::DEFAULT_ROLE_NAME;

/// The top-level key of a watch event.
pub(crate) const KEY: &str = "SecurityHubMemberAccountWatch";
const ADMINISTRATOR_ROLE_NAME: &str = "AdministratorRoleName";

/// What a watch run is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WatchEvent {
    /// The role assumed in each administrator account to list its members (not when the administrator is the
    /// provider's own account): the provider template's `AdministratorRoleName`.
    pub(crate) administrator_role_name: String,
}

/// `Some` when the payload is a watch event (exactly one top-level member, [`KEY`]): the event, or why it is
/// not a valid one. `None` for anything else, SNS notifications included.
pub(crate) fn open(payload: &Value) -> Option<Result<WatchEvent, String>> {
    let fields = payload.as_object()?;
    let body = fields.get(KEY)?;
    if fields.len() != 1 {
        return Some(Err(format!("{KEY}: a watch event has no other top-level member")));
    }
    Some(read(body))
}

fn read(body: &Value) -> Result<WatchEvent, String> {
    let Some(body) = body.as_object() else { return Err(format!("{KEY}: expected an object")) };
    if let Some(unknown) = body.keys().find(|key| key.as_str() != ADMINISTRATOR_ROLE_NAME) {
        return Err(format!("{KEY}: unknown member {unknown}"));
    }
    let role = match body.get(ADMINISTRATOR_ROLE_NAME) {
        None => DEFAULT_ROLE_NAME,
        Some(Value::String(role)) if is_role_name(role) => role,
        Some(other) => return Err(format!("{KEY}.{ADMINISTRATOR_ROLE_NAME}: expected an IAM role name, got {other}")),
    };
    Ok(WatchEvent { administrator_role_name: role.to_owned() })
}

/// 1 to 64 of `A-Za-z0-9+=,.@_-` (IAM User Guide, "IAM object quotas": role names).
fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_schedule_s_event_opens_with_its_role_or_the_default() {
        let event = open(&json!({KEY: {"AdministratorRoleName": "AuditAccess"}})).unwrap().unwrap();
        assert_eq!(event.administrator_role_name, "AuditAccess");
        let default = open(&json!({KEY: {}})).unwrap().unwrap();
        assert_eq!(default.administrator_role_name, DEFAULT_ROLE_NAME);
    }

    #[test]
    fn a_watch_event_through_sns_is_not_opened() {
        let message = json!({KEY: {}}).to_string();
        let wrapped = json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": message}}]});
        assert_eq!(open(&wrapped), None);
        let parsed = crate::protocol::event::parse(wrapped);
        assert!(matches!(parsed, Err(crate::protocol::event::EventError::Unanswerable(_))), "{parsed:?}");
    }

    #[test]
    fn requests_and_other_payloads_are_not_watch_events() {
        assert_eq!(open(&json!({"RequestType": "Create"})), None);
        assert_eq!(open(&json!([KEY])), None);
        assert_eq!(open(&json!(KEY)), None);
    }

    #[test]
    fn a_malformed_watch_event_is_named() {
        for bad in [
            json!({KEY: {}, "RequestType": "Create"}),
            json!({KEY: "now"}),
            json!({KEY: {"Healing": true}}),
            json!({KEY: {"AdministratorRoleName": "a b"}}),
            json!({KEY: {"AdministratorRoleName": 7}}),
        ] {
            let error = open(&bad).unwrap().unwrap_err();
            assert!(error.starts_with(KEY), "{error}");
        }
    }
}
