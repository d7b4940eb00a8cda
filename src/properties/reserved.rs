//! CloudFormation's own properties, `ServiceToken` and `ServiceTimeout`: never the resource's.
//!
//! CloudFormation sends every property of the template's resource "verbatim" in `ResourceProperties`
//! (and `OldResourceProperties` on Update), its own two included, and repeats them at the top level of
//! the event (AWS CloudFormation User Guide, "Custom resource request objects"). `ServiceTimeout` is "an
//! integer from 1 to 3600", typed String, default 3600 seconds: how long CloudFormation waits for the
//! answer.

use serde_json::Value;
use std::time::Duration;

use super::FieldError;

pub(crate) const SERVICE_TOKEN: &str = "ServiceToken";
pub(crate) const SERVICE_TIMEOUT: &str = "ServiceTimeout";
pub(crate) const RESERVED: [&str; 2] = [SERVICE_TOKEN, SERVICE_TIMEOUT];

/// How long CloudFormation waits when the template does not set `ServiceTimeout`.
pub(crate) const DEFAULT_SERVICE_TIMEOUT: Duration = Duration::from_secs(3600);
const MAX_SERVICE_TIMEOUT_S: u64 = 3600;

/// The `ServiceTimeout` of a request: from `ResourceProperties`, else the event's top level, else 3600 s.
pub(crate) fn service_timeout(event: &Value) -> Result<Duration, FieldError> {
    let in_properties = event.get("ResourceProperties").and_then(|properties| properties.get(SERVICE_TIMEOUT));
    match in_properties.or_else(|| event.get(SERVICE_TIMEOUT)) {
        None | Some(Value::Null) => Ok(DEFAULT_SERVICE_TIMEOUT),
        Some(value) => seconds(value).map(Duration::from_secs).ok_or_else(|| FieldError {
            field: SERVICE_TIMEOUT.to_owned(),
            problem: format!("expected a whole number of seconds from 1 to {MAX_SERVICE_TIMEOUT_S}, got {value}"),
        }),
    }
}

/// CloudFormation sends the number as a string ("1200"); SDK callers may send a JSON number.
fn seconds(value: &Value) -> Option<u64> {
    let seconds = match value {
        Value::String(text) => text.trim().parse::<u64>().ok(),
        Value::Number(number) => number.as_u64(),
        _ => None,
    }?;
    (1..=MAX_SERVICE_TIMEOUT_S).contains(&seconds).then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn read_where_cloudformation_puts_it() {
        let both = json!({"ServiceTimeout": "1200", "ResourceProperties": {"ServiceTimeout": "1200"}});
        assert_eq!(service_timeout(&both), Ok(Duration::from_secs(1200)));
        let top_only = json!({"ServiceTimeout": 60, "ResourceProperties": {}});
        assert_eq!(service_timeout(&top_only), Ok(Duration::from_secs(60)));
        assert_eq!(service_timeout(&json!({"ResourceProperties": {}})), Ok(DEFAULT_SERVICE_TIMEOUT));
    }

    #[test]
    fn out_of_range_or_not_a_number_is_named() {
        for bad in [json!("0"), json!("3601"), json!("ten"), json!(12.5), json!(-1), json!(["60"])] {
            let event = json!({"ResourceProperties": {"ServiceTimeout": bad}});
            let error = service_timeout(&event).unwrap_err();
            assert_eq!(error.field, "ServiceTimeout", "{bad}");
        }
    }
}
