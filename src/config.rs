//! The Lambda's configuration, from its environment variables.

use std::collections::BTreeSet;
use std::num::NonZeroUsize;

use crate::ids::AccountId;

/// Regions worked on at once per request when `MAX_CONCURRENT_REGIONS` is unset: every region of a
/// partition at once. Security Hub's rate limits are per account and region, so regions do not
/// compete; a smaller bound runs regions in waves, each adding the whole per-region chain.
pub const DEFAULT_MAX_CONCURRENT_REGIONS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Also accept http(s) response URLs on 127.0.0.1, ::1 and localhost (local emulation only).
    pub allow_loopback_response_url: bool,
    pub max_concurrent_regions: NonZeroUsize,
    /// `ADMINISTRATOR_ACCOUNT_IDS`: the administrators this provider may enroll into; empty refuses all.
    pub administrators: BTreeSet<AccountId>,
    /// `TRUSTED_ACCOUNT_IDS`: accounts whose stacks may act on any account; `None` means the provider's own.
    pub trusted_accounts: Option<BTreeSet<AccountId>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {variable}: expected {expected}, got {value:?}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub expected: &'static str,
    pub value: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so that tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let allow_loopback_response_url = match lookup("ALLOW_LOOPBACK_RESPONSE_URL") {
            None => false,
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "" | "false" | "0" => false,
                "true" | "1" => true,
                _ => return Err(invalid("ALLOW_LOOPBACK_RESPONSE_URL", "true or false", value)),
            },
        };
        let max_concurrent_regions = match lookup("MAX_CONCURRENT_REGIONS") {
            None => NonZeroUsize::new(DEFAULT_MAX_CONCURRENT_REGIONS).unwrap_or(NonZeroUsize::MIN),
            Some(value) => value
                .trim()
                .parse::<NonZeroUsize>()
                .ok()
                .filter(|n| n.get() <= 256)
                .ok_or_else(|| invalid("MAX_CONCURRENT_REGIONS", "a whole number from 1 to 256", value))?,
        };
        let administrators = account_ids(&lookup, "ADMINISTRATOR_ACCOUNT_IDS")?.unwrap_or_default();
        let trusted_accounts = account_ids(&lookup, "TRUSTED_ACCOUNT_IDS")?;
        Ok(Self { allow_loopback_response_url, max_concurrent_regions, administrators, trusted_accounts })
    }
}

/// A comma-separated list of account ids; `None` when unset or blank.
fn account_ids(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<BTreeSet<AccountId>>, ConfigError> {
    let Some(value) = lookup(variable).filter(|value| !value.trim().is_empty()) else { return Ok(None) };
    let ids: Option<BTreeSet<AccountId>> =
        value.split(',').map(str::trim).filter(|id| !id.is_empty()).map(AccountId::parse).collect();
    ids.map(Some).ok_or_else(|| invalid(variable, "comma-separated 12-digit account ids", value))
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
    fn values_and_errors_name_the_variable() {
        let config = config(&[("ALLOW_LOOPBACK_RESPONSE_URL", "TRUE"), ("MAX_CONCURRENT_REGIONS", "1")]).unwrap();
        assert!(config.allow_loopback_response_url);
        assert_eq!(config.max_concurrent_regions.get(), 1);
        for (name, value) in [
            ("MAX_CONCURRENT_REGIONS", "0"),
            ("MAX_CONCURRENT_REGIONS", "many"),
            ("ALLOW_LOOPBACK_RESPONSE_URL", "yes"),
            ("TRUSTED_ACCOUNT_IDS", "me"),
        ] {
            let error = super::tests::config(&[(name, value)]).unwrap_err();
            assert!(error.to_string().contains(name));
        }
    }
}
