//! Test support: an [`Aws`] whose every client answers from `aws_smithy_mocks` rules, and the log of the calls
//! made, so that the orchestrators (the lifecycle, the handler) can be tested in process.
//!
//! This reuses what `aws_smithy_mocks::mock_client!` builds for one client: its mock HTTP client goes into the
//! base configuration, its `MockResponseInterceptor` (rules matched in any order; a call no rule matches
//! panics) onto every client a [`super::Session`] makes, assumed-role sessions included.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_mocks::{create_mock_http_client, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Aws;
use crate::ids::AccountId;

/// The operations called, in order, by name (`CreateMembers`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Calls(Arc<Mutex<Vec<String>>>);

impl Calls {
    pub(crate) fn all(&self) -> Vec<String> {
        self.0.lock().map(|calls| calls.clone()).unwrap_or_default()
    }

    /// How often `operation` was called.
    pub(crate) fn count(&self, operation: &str) -> usize {
        self.all().iter().filter(|call| *call == operation).count()
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let (Some(metadata), Ok(mut calls)) = (cfg.load::<Metadata>(), self.0.lock()) {
            calls.push(metadata.name().to_owned());
        }
        Ok(())
    }
}

/// AWS access for `own_account` in `us-east-1` whose calls answer from `rules`, and the log of its calls.
pub(crate) fn aws(own_account: &str, rules: &[&Rule]) -> (Aws, Calls) {
    let mocks = rules
        .iter()
        .fold(MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny), |mocks, rule| mocks.with_rule(rule));
    let base = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new("AKID", "SECRET", None, None, "fake")))
        .http_client(create_mock_http_client())
        .retry_config(RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(1)))
        .build();
    let calls = Calls::default();
    let account = AccountId::parse(own_account).expect("an account id");
    let interceptors = vec![SharedInterceptor::new(calls.clone()), SharedInterceptor::new(mocks)];
    (Aws::with_base(base, account, interceptors), calls)
}
