//! AWS sessions: one base SDK configuration per process, and assumed-role configurations built from it.
//!
//! Every client comes from the base configuration, so `AWS_ENDPOINT_URL`, the retry policy, the
//! timeouts and the one shared HTTP connection pool reach assumed-role clients too.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::ids::AccountId;
use crate::retry::Pauses;

mod errors;
#[cfg(test)]
pub(crate) mod fake;
mod patience;
pub(crate) use errors::failure_reason;
pub(crate) use errors::is_already_our_member;
pub(crate) use patience::{OnThrottle, Patience};

const SESSION_PREFIX: &str = "securityhub-member-account";
/// IAM's limit on a role session name (STS API Reference, AssumeRole: RoleSessionName, `[\w+=,.@-]{2,64}`).
const SESSION_NAME_CHARS: usize = 64;
/// The SDK's first limit on attempts; [`patience`] sets each call's own after every failed attempt.
const MAX_ATTEMPTS: u32 = patience::OTHER_ATTEMPTS;
const RETRY_INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between two attempts: short enough that a queue behind a throttled account drains
/// without gaps, long enough that a whole OU's retries spread out.
const RETRY_MAX_BACKOFF: Duration = Duration::from_secs(3);
const MAX_MESSAGE_CHARS: usize = 300;
/// A new account refuses service calls until its services are active (SubscriptionRequiredException,
/// OptInRequired): for about a minute to a few minutes after CreateAccount SUCCEEDED, as public reports show.
/// Tried again every few seconds for up to this long; the request's own deadline cuts it shorter (a
/// continuation then goes on waiting).
const READY_PATIENCE: Duration = Duration::from_secs(15 * 60);
const READY_PAUSES: Pauses = Pauses::Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(5) };
/// A new account's role becomes assumable within minutes: tried again soon, then every few seconds.
const ROLE_PAUSES: Pauses = Pauses::Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(5) };

/// A failed AWS call, with what the caller needs to decide and to tell the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {message}")]
pub(crate) struct AwsError {
    pub(crate) operation: &'static str,
    pub(crate) code: Option<String>,
    pub(crate) message: String,
}

impl AwsError {
    pub(crate) fn new(operation: &'static str, message: impl Into<String>) -> Self {
        Self { operation, code: None, message: message.into() }
    }

    pub(crate) fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    fn from_sdk<E, R>(operation: &'static str, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        let code = error.code().map(str::to_owned);
        let message = match (&code, error.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            _ => aws_smithy_types::error::display::DisplayErrorContext(&error).to_string(),
        };
        let message = message.chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX_MESSAGE_CHARS).collect();
        Self { operation, code, message }
    }
}

/// Names the operation of a failed SDK call: `client.op().send().await.op("Op")?`.
pub(crate) trait Operation<T> {
    fn op(self, operation: &'static str) -> Result<T, AwsError>;
}

impl<T, E, R> Operation<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    fn op(self, operation: &'static str) -> Result<T, AwsError> {
        self.map_err(|error| AwsError::from_sdk(operation, error))
    }
}

/// The process's AWS access: its own credentials, loaded once on first use.
#[derive(Default)]
pub struct Aws {
    base: OnceCell<SdkConfig>,
    own_account: OnceCell<AccountId>,
    patience: Arc<Patience>,
    /// Added to every client of every session: none in the Lambda, SDK fakes in tests ([`Aws::with_base`]).
    interceptors: Arc<[SharedInterceptor]>,
}

/// Credentials acting as one account, and the clients made from them: each with the retry partition of its
/// service, account and region, and the request's patience with throttling.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    config: SdkConfig,
    account: AccountId,
    patience: Arc<Patience>,
    interceptors: Arc<[SharedInterceptor]>,
}

/// A client of `$sdk` for `$session` in `$region`.
macro_rules! client {
    ($sdk:ident, $session:expr, $region:expr) => {{
        let (session, region): (&Session, String) = ($session, $region);
        let partition = patience::partition(stringify!($sdk), session.account.as_str(), &region);
        let mut config = $sdk::config::Builder::from(&session.config)
            .region(Region::new(region))
            .retry_partition(partition)
            .interceptor(session.patience.interceptor());
        for interceptor in session.interceptors.iter() {
            config.push_interceptor(interceptor.clone());
        }
        $sdk::Client::from_conf(config.build())
    }};
}

impl Session {
    pub(crate) fn securityhub(&self, region: &str) -> aws_sdk_securityhub::Client {
        client!(aws_sdk_securityhub, self, region.to_owned())
    }

    pub(crate) fn cloudformation(&self, region: &str) -> aws_sdk_cloudformation::Client {
        client!(aws_sdk_cloudformation, self, region.to_owned())
    }

    pub(crate) fn lambda(&self, region: &str) -> aws_sdk_lambda::Client {
        client!(aws_sdk_lambda, self, region.to_owned())
    }

    /// Organizations, Account and STS: each through the session's own region's endpoint (the SDK sends the
    /// global ones to their partition's single endpoint).
    pub(crate) fn organizations(&self) -> aws_sdk_organizations::Client {
        client!(aws_sdk_organizations, self, self.home_region())
    }

    pub(crate) fn account_management(&self) -> aws_sdk_account::Client {
        client!(aws_sdk_account, self, self.home_region())
    }

    fn sts(&self) -> aws_sdk_sts::Client {
        client!(aws_sdk_sts, self, self.home_region())
    }

    /// `aws`, `aws-cn` or `aws-us-gov`: the partition the session works in.
    pub(crate) fn partition(&self) -> &'static str {
        partition(&self.home_region())
    }

    fn home_region(&self) -> String {
        self.config.region().map(|region| region.as_ref().to_owned()).unwrap_or_default()
    }
}

impl Aws {
    /// The provider's own AWS access; nothing is loaded until the first call needs it.
    pub fn new() -> Self {
        Self::default()
    }

    /// AWS access from a ready base configuration and a known own account, with `interceptors` on every client
    /// of every session: how tests reach the orchestrators with SDK fakes (an `aws_smithy_mocks` HTTP client in
    /// `base`, its `MockResponseInterceptor` here).
    #[cfg(test)]
    pub(crate) fn with_base(base: SdkConfig, own_account: AccountId, interceptors: Vec<SharedInterceptor>) -> Self {
        Self {
            base: OnceCell::new_with(Some(base)),
            own_account: OnceCell::new_with(Some(own_account)),
            patience: Arc::default(),
            interceptors: interceptors.into(),
        }
    }

    /// The throttling patience of the request being served.
    pub(crate) fn patience(&self) -> &Patience {
        &self.patience
    }

    /// The provider's own credentials, as a session of its own account.
    pub(crate) async fn own(&self) -> Result<Session, AwsError> {
        let account = self.own_account().await?.clone();
        Ok(Session {
            config: self.base().await.clone(),
            account,
            patience: Arc::clone(&self.patience),
            interceptors: Arc::clone(&self.interceptors),
        })
    }

    /// The base configuration from the Lambda environment. Loaded lazily so that a cold start
    /// reaches the Runtime API without reading credentials first.
    pub(crate) async fn base(&self) -> &SdkConfig {
        self.base.get_or_init(load_base).await
    }

    /// Learns the provider's account from the invoked function's ARN
    /// (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`), sparing a GetCallerIdentity round trip.
    pub(crate) fn learn_own_account(&self, function_arn: &str) {
        if let Some(account) = function_arn.split(':').nth(4).and_then(AccountId::parse) {
            // Already known is fine: it is the same account for the life of the process.
            let _ = self.own_account.set(account);
        }
    }

    /// The account the provider runs in: from the function ARN, else STS GetCallerIdentity, once.
    pub(crate) async fn own_account(&self) -> Result<&AccountId, AwsError> {
        self.own_account
            .get_or_try_init(|| async {
                let sts = aws_sdk_sts::Client::new(self.base().await);
                let identity = sts.get_caller_identity().send().await.op("GetCallerIdentity")?;
                identity
                    .account()
                    .and_then(AccountId::parse)
                    .ok_or_else(|| AwsError::new("GetCallerIdentity", "answered no account id"))
            })
            .await
    }

    /// A configuration acting as `account`: the provider's own credentials when it is the provider's
    /// account, else `role_name` assumed through the regional STS endpoint. AccessDenied is retried for
    /// up to `patience`, since a new account's role takes a while to become assumable.
    pub(crate) async fn session(
        &self,
        account: &AccountId,
        role_name: &str,
        patience: Duration,
        session_name: &str,
    ) -> Result<Session, AwsError> {
        let own = self.own().await?;
        if &own.account == account {
            return Ok(own);
        }
        let role_arn = format!("arn:{}:iam::{account}:role/{role_name}", partition(&own.home_region()));
        let credentials = assume_role(&own.sts(), &role_arn, patience, session_name).await?;
        let config = own.config.to_builder().credentials_provider(SharedCredentialsProvider::new(credentials)).build();
        Ok(Session { config, account: account.clone(), ..own })
    }
}

async fn load_base() -> SdkConfig {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build_https();
    // Adaptive: after a throttled answer, each retry partition's client-side rate limiter slows this
    // process's calls to what the account and region let through (AWS SDKs and Tools Reference Guide,
    // "Retry behavior": adaptive mode).
    let retry = RetryConfig::adaptive()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(RETRY_INITIAL_BACKOFF)
        .with_max_backoff(RETRY_MAX_BACKOFF);
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(30))
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .retry_config(retry)
        .timeout_config(timeouts)
        .load()
        .await
}

/// Credentials of `role_arn`. AccessDenied is tried again for up to `patience`; any other error, and
/// AccessDenied once the patience is spent, is returned naming the role.
async fn assume_role(
    sts: &aws_sdk_sts::Client,
    role_arn: &str,
    patience: Duration,
    session_name: &str,
) -> Result<Credentials, AwsError> {
    let assume = |attempt| async move {
        let answer = sts.assume_role().role_arn(role_arn).role_session_name(session_name).send().await.op("AssumeRole");
        if let Err(error) = &answer {
            tracing::info!(role = role_arn, attempt, error = %error, "role not assumed");
        }
        answer
    };
    let answer = ROLE_PAUSES
        .until(Instant::now() + patience)
        .run(assume, AwsError::is_role_refused)
        .await
        .map_err(|error| AwsError { message: format!("{role_arn}: {}", error.message), ..error })?;
    credentials_of(&answer, role_arn)
}

fn credentials_of(answer: &AssumeRoleOutput, role_arn: &str) -> Result<Credentials, AwsError> {
    let credentials = answer
        .credentials()
        .ok_or_else(|| AwsError::new("AssumeRole", format!("{role_arn}: answered no credentials")))?;
    let expiry = SystemTime::try_from(*credentials.expiration()).ok();
    Ok(Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_owned()),
        expiry,
        "AssumeRole",
    ))
}

/// `call`, tried again while the account refuses it as not ready yet ([`AwsError::is_not_ready`]).
pub(crate) async fn when_ready<T, F, Fut>(call: F) -> Result<T, AwsError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, AwsError>>,
{
    let attempt = |attempt| {
        let answer = call();
        async move {
            let answer = answer.await;
            if let Err(error) = &answer {
                if error.is_not_ready() {
                    tracing::info!(attempt, error = %error, "the account is not ready yet");
                }
            }
            answer
        }
    };
    READY_PAUSES.until(Instant::now() + READY_PATIENCE).run(attempt, AwsError::is_not_ready).await
}

/// The role session name of one request's sessions: the provider's name and the CloudFormation RequestId, so
/// that CloudTrail in each account ties every change to the stack operation that asked for it. The session name
/// appears in CloudTrail of every account the provider enters (IAM User Guide, "Logging IAM and AWS STS API calls
/// with AWS CloudTrail": the assumed role's session name is in `userIdentity.arn`), while a request's RequestId
/// is whatever its sender wrote: only a UUID, as CloudFormation's RequestIds are, is kept as it is; anything else
/// becomes a short hash of it, which the provider's log line for the request (it names the RequestId) ties back.
pub(crate) fn session_name(request_id: &str) -> String {
    let id = if is_uuid(request_id) { request_id.to_ascii_lowercase() } else { format!("h{:016x}", fnv1a(request_id)) };
    // 26 + 1 + 36 characters at most: within IAM's 64 (STS API Reference, AssumeRole: RoleSessionName).
    format!("{SESSION_PREFIX}-{id}").chars().take(SESSION_NAME_CHARS).collect()
}

/// `8-4-4-4-12` hexadecimal digits (RFC 4122's textual form).
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, len)| group.len() == len)
        && groups.iter().all(|group| group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// FNV-1a, 64 bits: a stable, dependency-free digest that names a caller's text without repeating it (no
/// security boundary: the text is the caller's anyway).
fn fnv1a(text: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    text.bytes().fold(OFFSET, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME))
}

/// `aws`, `aws-cn` or `aws-us-gov`: the partition of a region.
pub(crate) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests;
