//! The Lambda's configuration, from its environment variables.

use std::collections::BTreeSet;
use std::num::NonZeroUsize;

use crate::ids::AccountId;

/// Regions worked on at once per request when `MAX_CONCURRENT_REGIONS` is unset: every region of a
/// partition at once. Security Hub's rate limits are per account and region, so regions do not
/// compete; a smaller bound runs regions in waves, each adding the whole per-region chain.
pub(crate) const DEFAULT_MAX_CONCURRENT_REGIONS: usize = 64;
/// The resource type this provider serves when `RESOURCE_TYPES` is unset.
pub(crate) const DEFAULT_RESOURCE_TYPE: &str = "Custom::SecurityHubMemberAccount";
/// The generic custom resource type (CloudFormation User Guide, "AWS::CloudFormation::CustomResource").
pub(crate) const GENERIC_CUSTOM_RESOURCE_TYPE: &str = "AWS::CloudFormation::CustomResource";

/// The provider's configuration: its Lambda environment variables, each checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Also accept http(s) response URLs on 127.0.0.1, ::1 and localhost (local emulation only).
    pub(crate) allow_loopback_response_url: bool,
    pub(crate) max_concurrent_regions: NonZeroUsize,
    /// `ADMINISTRATOR_ACCOUNT_IDS`: the administrators this provider may enroll into; empty refuses all.
    pub(crate) administrators: BTreeSet<AccountId>,
    /// `TRUSTED_ACCOUNT_IDS`: accounts whose stacks may act on any account; `None` means the provider's own.
    pub(crate) trusted_accounts: Option<BTreeSet<AccountId>>,
    /// `TRUSTED_TOPIC_ARNS`: SNS topics whose notifications count as direct invocations (a trusted account's own
    /// topic, whose policy names exact principals); empty by default: every SNS request is untrusted.
    pub(crate) trusted_topics: BTreeSet<String>,
    /// `RESOURCE_TYPES`: the resource types whose requests this provider serves.
    pub(crate) resource_types: BTreeSet<String>,
    /// `ALLOW_UNVERIFIED_HARMFUL_PROPERTIES`: an untrusted request may ask for what widens harm when the stack's
    /// template cannot show whether it asks for it too (a YAML template, an intrinsic other than Ref). A value the
    /// template shows otherwise is refused all the same.
    pub(crate) allow_unverified_harmful_properties: bool,
    /// `WATCH_HEALING`: the membership watch joins this provider's members that left again (docs/watch.md); off,
    /// it only reports them.
    pub(crate) watch_healing: bool,
}

/// An environment variable with a value the provider cannot use: every request is then answered FAILED naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {variable}: expected {expected}, got {value:?}")]
pub struct ConfigError {
    pub(crate) variable: &'static str,
    pub(crate) expected: &'static str,
    pub(crate) value: String,
}

impl Config {
    /// Reads the configuration from the process's environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so that tests need not touch the process environment.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let max_concurrent_regions = match lookup("MAX_CONCURRENT_REGIONS") {
            None => NonZeroUsize::new(DEFAULT_MAX_CONCURRENT_REGIONS).unwrap_or(NonZeroUsize::MIN),
            Some(value) => value
                .trim()
                .parse::<NonZeroUsize>()
                .ok()
                .filter(|n| n.get() <= 256)
                .ok_or_else(|| invalid("MAX_CONCURRENT_REGIONS", "a whole number from 1 to 256", value))?,
        };
        let resource_types = list(&lookup, "RESOURCE_TYPES", "comma-separated custom resource types", is_custom_type)?
            .unwrap_or_else(|| BTreeSet::from([DEFAULT_RESOURCE_TYPE.to_owned()]));
        Ok(Self {
            allow_loopback_response_url: flag(&lookup, "ALLOW_LOOPBACK_RESPONSE_URL")?,
            max_concurrent_regions,
            administrators: account_ids(&lookup, "ADMINISTRATOR_ACCOUNT_IDS")?.unwrap_or_default(),
            trusted_accounts: account_ids(&lookup, "TRUSTED_ACCOUNT_IDS")?,
            trusted_topics: list(&lookup, "TRUSTED_TOPIC_ARNS", "comma-separated SNS topic ARNs", is_topic_arn)?
                .unwrap_or_default(),
            resource_types,
            allow_unverified_harmful_properties: flag(&lookup, "ALLOW_UNVERIFIED_HARMFUL_PROPERTIES")?,
            watch_healing: flag(&lookup, "WATCH_HEALING")?,
        })
    }
}

/// `true`/`1` or `false`/`0`/empty, any case; unset is false.
fn flag(lookup: &impl Fn(&str) -> Option<String>, variable: &'static str) -> Result<bool, ConfigError> {
    let Some(value) = lookup(variable) else { return Ok(false) };
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "0" => Ok(false),
        "true" | "1" => Ok(true),
        _ => Err(invalid(variable, "true or false", value)),
    }
}

/// A comma-separated list of account ids; `None` when unset or blank.
fn account_ids(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<BTreeSet<AccountId>>, ConfigError> {
    let ids = list(lookup, variable, "comma-separated 12-digit account ids", |id| AccountId::parse(id).is_some())?;
    Ok(ids.map(|ids| ids.iter().filter_map(|id| AccountId::parse(id)).collect()))
}

/// A comma-separated list whose every item passes `valid`; `None` when unset or blank.
fn list(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    expected: &'static str,
    valid: impl Fn(&str) -> bool,
) -> Result<Option<BTreeSet<String>>, ConfigError> {
    let Some(value) = lookup(variable).filter(|value| !value.trim().is_empty()) else { return Ok(None) };
    let items: BTreeSet<String> =
        value.split(',').map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect();
    if items.iter().all(|item| valid(item)) {
        Ok(Some(items))
    } else {
        Err(invalid(variable, expected, value))
    }
}

/// `Custom::Name` (name: up to 60 of A-Za-z0-9_@-; CloudFormation User Guide, "AWS::CloudFormation::CustomResource":
/// "Custom::MyCustomResourceTypeName") or the generic type itself.
fn is_custom_type(resource_type: &str) -> bool {
    let name_ok = |name: &str| {
        (1..=60).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "_@-".contains(c))
    };
    resource_type == GENERIC_CUSTOM_RESOURCE_TYPE || resource_type.strip_prefix("Custom::").is_some_and(name_ok)
}

/// `arn:PARTITION:sns:REGION:ACCOUNT:NAME` (SNS Developer Guide, topic ARNs; a name of up to 256 of A-Za-z0-9_-,
/// `.fifo` allowed at the end).
fn is_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, name] = parts.as_slice() else { return false };
    let name_ok = (1..=256).contains(&name.len())
        && name.trim_end_matches(".fifo").chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
    *prefix == "arn"
        && ["aws", "aws-cn", "aws-us-gov"].contains(partition)
        && *service == "sns"
        && crate::ids::is_region(region)
        && AccountId::parse(account).is_some()
        && name_ok
}

fn invalid(variable: &'static str, expected: &'static str, value: String) -> ConfigError {
    ConfigError { variable, expected, value }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults() {
        let config = config(&[]).unwrap();
        assert!(!config.allow_loopback_response_url);
        assert_eq!(config.max_concurrent_regions.get(), 64);
        assert!(config.administrators.is_empty(), "no administrator unless listed: every request refused");
        assert_eq!(config.trusted_accounts, None);
        assert!(config.trusted_topics.is_empty(), "no SNS topic is trusted unless listed");
        assert_eq!(config.resource_types, BTreeSet::from([DEFAULT_RESOURCE_TYPE.to_owned()]));
        assert!(!config.allow_unverified_harmful_properties);
        assert!(!config.watch_healing, "the membership watch only reports unless asked to heal");
    }

    #[test]
    fn account_lists() {
        let config = config(&[
            ("ADMINISTRATOR_ACCOUNT_IDS", " 111111111111, 222222222222,"),
            ("TRUSTED_ACCOUNT_IDS", "333333333333"),
        ])
        .unwrap();
        let ids: Vec<&str> = config.administrators.iter().map(AccountId::as_str).collect();
        assert_eq!(ids, ["111111111111", "222222222222"]);
        assert_eq!(config.trusted_accounts.unwrap().len(), 1);
        let error = super::tests::config(&[("ADMINISTRATOR_ACCOUNT_IDS", "111111111111,12345")]).unwrap_err();
        assert!(error.to_string().contains("ADMINISTRATOR_ACCOUNT_IDS"), "{error}");
    }

    #[test]
    fn topics_and_resource_types() {
        let topic = "arn:aws:sns:eu-west-1:111111111111:management-requests";
        let config = config(&[
            ("TRUSTED_TOPIC_ARNS", &format!("{topic}, arn:aws-cn:sns:cn-north-1:222222222222:t.fifo")),
            ("RESOURCE_TYPES", "Custom::SecurityHubMemberAccount,AWS::CloudFormation::CustomResource"),
            ("ALLOW_UNVERIFIED_HARMFUL_PROPERTIES", "true"),
        ])
        .unwrap();
        assert!(config.trusted_topics.contains(topic) && config.trusted_topics.len() == 2);
        assert!(config.resource_types.contains(GENERIC_CUSTOM_RESOURCE_TYPE));
        assert!(config.allow_unverified_harmful_properties);
        for (name, value) in [
            ("TRUSTED_TOPIC_ARNS", "arn:aws:sqs:eu-west-1:111111111111:queue"),
            ("TRUSTED_TOPIC_ARNS", "arn:aws:sns:eu-west-1:1111:t"),
            ("RESOURCE_TYPES", "AWS::S3::Bucket"),
            ("RESOURCE_TYPES", "Custom::"),
            ("ALLOW_UNVERIFIED_HARMFUL_PROPERTIES", "maybe"),
        ] {
            let error = super::tests::config(&[(name, value)]).unwrap_err();
            assert_eq!(error.variable, name, "{value}");
        }
    }

    #[test]
    fn values_and_errors_name_the_variable() {
        let config =
            config(&[("ALLOW_LOOPBACK_RESPONSE_URL", "TRUE"), ("MAX_CONCURRENT_REGIONS", "1"), ("WATCH_HEALING", "1")])
                .unwrap();
        assert!(config.allow_loopback_response_url);
        assert!(config.watch_healing);
        assert_eq!(config.max_concurrent_regions.get(), 1);
        for (name, value) in [
            ("MAX_CONCURRENT_REGIONS", "0"),
            ("MAX_CONCURRENT_REGIONS", "many"),
            ("ALLOW_LOOPBACK_RESPONSE_URL", "yes"),
            ("TRUSTED_ACCOUNT_IDS", "me"),
            ("WATCH_HEALING", "sometimes"),
        ] {
            let error = super::tests::config(&[(name, value)]).unwrap_err();
            assert!(error.to_string().contains(name));
        }
    }
}
