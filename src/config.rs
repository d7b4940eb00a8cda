//! The Lambda's configuration, from its environment variables.

use std::num::NonZeroUsize;

/// Regions worked on at once per request when `MAX_CONCURRENT_REGIONS` is unset: every region of a
/// partition at once. Security Hub's rate limits are per account and region, so regions do not
/// compete; a smaller bound runs regions in waves, each adding the whole per-region chain.
pub const DEFAULT_MAX_CONCURRENT_REGIONS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Also accept http(s) response URLs on 127.0.0.1, ::1 and localhost (local emulation only).
    pub allow_loopback_response_url: bool,
    pub max_concurrent_regions: NonZeroUsize,
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
        Ok(Self { allow_loopback_response_url, max_concurrent_regions })
    }
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
        ] {
            let error = super::tests::config(&[(name, value)]).unwrap_err();
            assert!(error.to_string().contains(name));
        }
    }
}
