//! Patience with throttling: a throttled call is tried again for as long as the answer can wait.
//!
//! Security Hub allows an account about 10 requests per second per region (burst 30) and answers
//! `LimitExceededException` (HTTP 429) beyond (AWS Security Hub User Guide, "Quotas"). A StackSet rolling
//! out to an OU sends one request per account at once, all to one administrator, so its calls queue up for a
//! minute or more. A fixed number of attempts then fails requests that had plenty of time. So, on top of the
//! SDK's own retry machinery (capped exponential backoff with full jitter, the adaptive client-side rate
//! limiter):
//!
//! - after each failed attempt, an interceptor raises the SDK's attempt limit by one for a throttled call
//!   while a full backoff still fits before the answer must be sent, and keeps [`OTHER_ATTEMPTS`] for every
//!   other retryable error (a 500 that persists is not worth the whole Lambda time);
//! - every client of one account, region and service shares a retry partition ([`partition`]): one
//!   adaptive rate limiter per process learns the account's rate for all of them, and the SDK's retry quota
//!   (a token bucket that stops retries after about 100 throttled ones) is replaced by that deadline.
//!
//! The count of throttled answers goes into the Reason of a request that runs out of time.
//!
//! The membership watch is the exception: it must never crowd out requests, so it gives a throttled call up at
//! once ([`OnThrottle::GiveUp`]) and resumes at its next run.

use aws_smithy_runtime::client::retries::classifiers::run_classifiers_on_ctx;
use aws_smithy_runtime::client::retries::{ClientRateLimiter, RetryPartition, TokenBucket};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::retries::classifiers::{RetryAction, RetryReason};
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::{ErrorKind, RetryConfig};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Tries of a call that fails with a retryable error other than throttling (5xx, a dropped connection): as
/// many as the SDK's standard mode was given before, so that a fifth of attempts failing loses about one call
/// in ten million (0.2¹⁰), while a 500 that persists still ends within a minute.
pub(crate) const OTHER_ATTEMPTS: u32 = 10;
/// Tries of a throttled call when no answer time is known (outside a request).
const THROTTLED_ATTEMPTS_WITHOUT_DEADLINE: u32 = 10;

/// What a throttled call does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum OnThrottle {
    /// Tried again while a full pause fits before the answer is due: a request.
    #[default]
    Wait,
    /// Not tried again: the membership watch, which yields to requests and resumes at its next run.
    GiveUp,
}

/// The time one request has, and how often its calls were throttled.
#[derive(Debug, Default)]
pub(crate) struct Patience {
    answer_by: Mutex<Option<Instant>>,
    give_up: AtomicBool,
    throttled: AtomicU32,
}

impl Patience {
    /// A new request: its calls may wait until `answer_by`; the throttled count starts again.
    pub(crate) fn begin(&self, answer_by: Instant) {
        self.begin_with(answer_by, OnThrottle::Wait);
    }

    /// New work that must be done by `answer_by` and treats throttling as `on_throttle` says.
    pub(crate) fn begin_with(&self, answer_by: Instant, on_throttle: OnThrottle) {
        if let Ok(mut deadline) = self.answer_by.lock() {
            *deadline = Some(answer_by);
        }
        self.give_up.store(on_throttle == OnThrottle::GiveUp, Ordering::Relaxed);
        self.throttled.store(0, Ordering::Relaxed);
    }

    fn on_throttle(&self) -> OnThrottle {
        if self.give_up.load(Ordering::Relaxed) {
            OnThrottle::GiveUp
        } else {
            OnThrottle::Wait
        }
    }

    /// Throttled answers since the request began.
    pub(crate) fn throttled(&self) -> u32 {
        self.throttled.load(Ordering::Relaxed)
    }

    fn time_left(&self) -> Option<Duration> {
        let deadline = *self.answer_by.lock().ok()?;
        deadline.map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// The interceptor that applies this patience to a client's calls.
    pub(crate) fn interceptor(self: &Arc<Self>) -> PatienceInterceptor {
        PatienceInterceptor(Arc::clone(self))
    }
}

/// How many attempts the SDK may make of a call whose `attempts`-th attempt just failed with a retryable
/// error of `kind`, given the time left before the answer, the longest backoff pause, and what throttling does.
pub(crate) fn attempts_allowed(
    kind: ErrorKind,
    attempts: u32,
    time_left: Option<Duration>,
    max_backoff: Duration,
    on_throttle: OnThrottle,
) -> u32 {
    let pause_fits = time_left.map(|left| left > max_backoff);
    match (kind, pause_fits) {
        (_, Some(false)) => attempts,
        (ErrorKind::ThrottlingError, _) if on_throttle == OnThrottle::GiveUp => attempts,
        (ErrorKind::ThrottlingError, Some(true)) => attempts.saturating_add(1),
        (ErrorKind::ThrottlingError, None) => THROTTLED_ATTEMPTS_WITHOUT_DEADLINE,
        (_, _) => OTHER_ATTEMPTS,
    }
}

/// Sets the attempt limit of the SDK's retry strategy after every failed attempt (see the module).
#[derive(Debug)]
pub(crate) struct PatienceInterceptor(Arc<Patience>);

impl Intercept for PatienceInterceptor {
    fn name(&self) -> &'static str {
        "ThrottlingPatience"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The same classification the retry strategy makes next, from the same classifiers.
        let action = run_classifiers_on_ctx(runtime_components.retry_classifiers(), context.inner());
        let RetryAction::RetryIndicated(RetryReason::RetryableError { kind, .. }) = action else { return Ok(()) };
        if kind == ErrorKind::ThrottlingError {
            self.0.throttled.fetch_add(1, Ordering::Relaxed);
        }
        let (Some(config), Some(attempts)) = (cfg.load::<RetryConfig>(), cfg.load::<RequestAttempts>()) else {
            return Ok(());
        };
        let allowed =
            attempts_allowed(kind, attempts.attempts(), self.0.time_left(), config.max_backoff(), self.0.on_throttle());
        let config = config.clone().with_max_attempts(allowed);
        // The interceptor layer is read before the client's: the strategy sees this limit for this call only.
        cfg.interceptor_state().store_put(config);
        Ok(())
    }
}

/// The retry partition of one service in one account and region, the same for every client of the process:
/// its adaptive rate limiter is shared, and its retry quota is unlimited (the deadline bounds the retries).
pub(crate) fn partition(service: &str, account: &str, region: &str) -> RetryPartition {
    static PARTITIONS: OnceLock<Mutex<HashMap<String, RetryPartition>>> = OnceLock::new();
    let name = format!("{service}/{account}/{region}");
    let make = || {
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        RetryPartition::custom(name.clone())
            .token_bucket(TokenBucket::unlimited())
            .client_rate_limiter(ClientRateLimiter::new(now))
            .build()
    };
    match PARTITIONS.get_or_init(Default::default).lock() {
        Ok(mut partitions) => partitions.entry(name.clone()).or_insert_with(make).clone(),
        Err(_) => make(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: Duration = Duration::from_secs(3);

    #[test]
    fn a_throttled_call_gets_one_more_try_while_a_full_pause_fits() {
        let plenty = Some(Duration::from_secs(600));
        assert_eq!(attempts_allowed(ErrorKind::ThrottlingError, 1, plenty, CAP, OnThrottle::Wait), 2);
        // However many tries it already had.
        assert_eq!(attempts_allowed(ErrorKind::ThrottlingError, 250, plenty, CAP, OnThrottle::Wait), 251);
    }

    #[test]
    fn near_the_answer_no_call_is_tried_again() {
        let short = Some(Duration::from_secs(2));
        assert_eq!(attempts_allowed(ErrorKind::ThrottlingError, 7, short, CAP, OnThrottle::Wait), 7);
        assert_eq!(attempts_allowed(ErrorKind::ServerError, 1, short, CAP, OnThrottle::Wait), 1);
    }

    #[test]
    fn other_retryable_errors_keep_a_bounded_count() {
        let plenty = Some(Duration::from_secs(600));
        for kind in [ErrorKind::ServerError, ErrorKind::TransientError, ErrorKind::ClientError] {
            assert_eq!(attempts_allowed(kind, 1, plenty, CAP, OnThrottle::Wait), OTHER_ATTEMPTS);
            assert_eq!(attempts_allowed(kind, OTHER_ATTEMPTS, plenty, CAP, OnThrottle::GiveUp), OTHER_ATTEMPTS);
        }
    }

    #[test]
    fn outside_a_request_throttling_has_a_fixed_count() {
        assert_eq!(
            attempts_allowed(ErrorKind::ThrottlingError, 3, None, CAP, OnThrottle::Wait),
            THROTTLED_ATTEMPTS_WITHOUT_DEADLINE
        );
    }

    #[test]
    fn the_watch_gives_a_throttled_call_up_at_once_and_retries_the_rest() {
        let plenty = Some(Duration::from_secs(600));
        assert_eq!(attempts_allowed(ErrorKind::ThrottlingError, 1, plenty, CAP, OnThrottle::GiveUp), 1);
        assert_eq!(attempts_allowed(ErrorKind::ServerError, 1, plenty, CAP, OnThrottle::GiveUp), OTHER_ATTEMPTS);
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_request_starts_counting_again() {
        let patience = Patience::default();
        assert_eq!(patience.time_left(), None);
        patience.throttled.fetch_add(3, Ordering::Relaxed);
        patience.begin_with(Instant::now() + Duration::from_secs(60), OnThrottle::GiveUp);
        assert_eq!(patience.throttled(), 0);
        assert_eq!(patience.time_left(), Some(Duration::from_secs(60)));
        assert_eq!(patience.on_throttle(), OnThrottle::GiveUp);
        patience.begin(Instant::now() + Duration::from_secs(60));
        assert_eq!(patience.on_throttle(), OnThrottle::Wait, "a request after the watch waits again");
    }
}
