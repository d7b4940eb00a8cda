//! The CloudFormation protocol: every request gets exactly one response PUT, whatever happens.
//!
//! The work runs in its own task so that a panic or the approaching deadline still leaves time to
//! answer. Near the Lambda deadline, a request CloudFormation still waits for is handed to a fresh
//! invocation ([`continuation`]) instead; only CloudFormation's own deadline makes it answer FAILED.
//! Once a response is delivered (or the request handed on) the handler returns Ok, so Lambda does not
//! retry finished work; only when nothing could be delivered does it return an error (a retry is
//! safe: the work is idempotent).

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::{timeout_at, Instant};
use tracing::Instrument;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use super::continuation::{self, Arrival, Bound, Limit, OnTimeout};
use super::delivery::{self, DeliveryError};
use super::event::{self, Action, Claims, EventError, Request};
use super::metrics::{self, RequestMetrics, Status};
use super::response::{self, Echo, Outcome, Oversized};
use super::response_url::{self, RefusedUrl};
use std::future::Future;

use crate::aws::{Aws, AwsError, Operation};
use crate::clock;
use crate::config::{Config, ConfigError};
use crate::enrollment::lifecycle::{self, Progress};
use crate::enrollment::{Ask, LifecycleError};

/// Kept back from the Lambda deadline to deliver the response: a tenth of the time, 1 to 10 s.
const MIN_ANSWER_MARGIN: Duration = Duration::from_secs(1);
const MAX_ANSWER_MARGIN: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("event not answered: {0}")]
    Unanswerable(String),
    #[error("response not sent: {0}")]
    Refused(#[from] RefusedUrl),
    #[error("response not delivered: {0}")]
    Undelivered(#[from] DeliveryError),
    #[error("response not sent: {0}")]
    Oversized(#[from] Oversized),
}

/// What the Lambda runtime reports when no response reached CloudFormation.
impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match error {
            HandlerError::Unanswerable(_) => "Unanswerable",
            HandlerError::Refused(_) => "ResponseUrlRefused",
            HandlerError::Undelivered(_) => "ResponseNotDelivered",
            HandlerError::Oversized(_) => "ResponseTooLarge",
        };
        Self { error_type: error_type.to_owned(), error_message: error.to_string() }
    }
}

/// What the work decided, and what the metrics line needs of it besides.
struct Worked {
    outcome: Outcome,
    /// The regions named in a per-region failure (0 when the work did not fail that way).
    failed_regions: usize,
    /// AWS calls of this request answered with throttling (the count of an earlier request stays behind
    /// in [`crate::aws::Patience`] until the next work begins, so it is read here, once).
    throttled: u32,
}

impl From<Outcome> for Worked {
    fn from(outcome: Outcome) -> Self {
        Self { outcome, failed_regions: 0, throttled: 0 }
    }
}

/// How a request's work ended in this invocation.
enum Finish {
    Answer(Worked),
    /// Handed to a fresh invocation, which answers.
    HandedOff,
    /// A continuation that CloudFormation no longer waits for: nothing to answer.
    NotAwaited,
}

impl From<Outcome> for Finish {
    fn from(outcome: Outcome) -> Self {
        Finish::Answer(outcome.into())
    }
}

/// One invocation's context: when it began, when it must be done, where its logs go, which function it is.
struct Invocation {
    started: Instant,
    deadline: Instant,
    log_stream: String,
    function_arn: String,
}

/// Long-lived state shared by every invocation of one Lambda process.
pub struct Provider {
    config: Result<Config, ConfigError>,
    http: reqwest::Client,
    aws: Arc<Aws>,
}

impl Provider {
    pub fn new(config: Result<Config, ConfigError>, http: reqwest::Client, aws: Aws) -> Self {
        Self { config, http, aws: Arc::new(aws) }
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<(), HandlerError> {
        let invocation = Invocation {
            started: Instant::now(),
            // The Runtime API gives the deadline in milliseconds since the epoch.
            deadline: clock::instant_of_epoch_millis(event.context.deadline),
            log_stream: event.context.env_config.log_stream.clone(),
            function_arn: event.context.invoked_function_arn.clone(),
        };
        self.aws.learn_own_account(&invocation.function_arn);
        // The scheduled membership watch: a direct invocation of its own shape, never a request (src/watch/).
        if let Some(opened) = crate::watch::event::open(&event.payload) {
            let context =
                crate::watch::Context { request_id: event.context.request_id.clone(), deadline: invocation.deadline };
            crate::watch::serve(opened, self.config.clone(), self.aws.clone(), context).await;
            return Ok(());
        }
        let now_ms = u64::try_from(clock::epoch_millis(SystemTime::now())).unwrap_or(u64::MAX);
        let (payload, arrival) = continuation::open(event.payload, now_ms);
        // What a hand-off passes on: the request as it arrived (SNS-wrapped or not).
        let arrived = payload.clone();
        match event::parse(payload) {
            Ok(request) => {
                let request_type = request.action.name();
                let span = request_span(&request.echo, request_type);
                let worked = async {
                    if arrival.is_continuation() {
                        tracing::info!(
                            continuation = arrival.hop,
                            first_arrival_ms = arrival.first_arrival_ms,
                            "request received, continued from an earlier invocation"
                        );
                    } else {
                        tracing::info!("request received");
                    }
                    self.work(&request, &arrived, &arrival, &invocation).await
                };
                let claims = request.claims();
                self.respond(&request.response_url, &request.echo, &claims, request_type, worked, &invocation)
                    .instrument(span)
                    .await
            }
            Err(EventError::Malformed(malformed)) => {
                let span = request_span(&malformed.echo, "Malformed");
                let physical_id = malformed.physical_id.clone().unwrap_or_else(|| failed_id(&malformed.echo));
                let worked = async { Finish::from(Outcome::failed(physical_id, malformed.problem.clone())) };
                let claims = Claims { stack_id: malformed.echo.stack_id.clone(), ..Claims::default() };
                self.respond(&malformed.response_url, &malformed.echo, &claims, "Malformed", worked, &invocation)
                    .instrument(span)
                    .await
            }
            Err(EventError::Unanswerable(problem)) => {
                tracing::error!(problem = %problem, "event has no ResponseURL to answer at");
                measure(&Echo::default(), "Unanswerable", Status::NotAnswered, None, &invocation);
                Err(HandlerError::Unanswerable(problem))
            }
        }
    }

    /// Checks the ResponseURL first (a URL that would be refused must not cause AWS changes), then
    /// works out the outcome and delivers it.
    async fn respond(
        &self,
        raw_url: &str,
        echo: &Echo,
        claims: &Claims,
        request_type: &str,
        worked: impl Future<Output = Finish>,
        invocation: &Invocation,
    ) -> Result<(), HandlerError> {
        let url = match response_url::check(raw_url, self.allow_loopback()) {
            Ok(url) => url,
            Err(refused) => {
                log_refusal(claims, &format!("{refused}; the request is not answered"));
                measure(echo, request_type, Status::NotAnswered, None, invocation);
                return Err(refused.into());
            }
        };
        let worked = match worked.await {
            Finish::Answer(worked) => worked,
            Finish::HandedOff | Finish::NotAwaited => {
                measure(echo, request_type, Status::Continued, None, invocation);
                return Ok(());
            }
        };
        let outcome = &worked.outcome;
        tracing::info!(status = if outcome.success { "SUCCESS" } else { "FAILED" }, physical_id = %outcome.physical_id,
            reason = outcome.reason.as_deref().unwrap_or(""), "answering");
        let delivered = self.deliver(&url, echo, outcome, invocation).await;
        let status = match (&delivered, outcome.success) {
            (Err(_), _) => Status::NotAnswered,
            (Ok(()), true) => Status::Success,
            (Ok(()), false) => Status::Failed,
        };
        measure(echo, request_type, status, Some(&worked), invocation);
        delivered
    }

    /// Runs the lifecycle in its own task, bounded by the answer time, catching panics.
    async fn work(&self, request: &Request, arrived: &Value, arrival: &Arrival, invocation: &Invocation) -> Finish {
        let config = match &self.config {
            Ok(config) => config.clone(),
            Err(error) => return Outcome::failed(fallback_id(request, &Progress::default()), error.to_string()).into(),
        };
        let progress = Progress::default();
        let limit = limit_of(request, arrival, invocation.deadline);
        let ask = Ask {
            action: request.action.clone(),
            properties: request.properties.clone(),
            stack_id: request.echo.stack_id.clone(),
            logical_id: request.echo.logical_resource_id.clone(),
            resource_type: request.resource_type.clone(),
            request_id: request.echo.request_id.clone(),
            continued: arrival.is_continuation(),
            channel: request.channel.clone(),
        };
        // Throttled calls are retried until the answer is due, not for a fixed number of attempts.
        self.aws.patience().begin(limit.answer_by);
        let work = lifecycle::run(self.aws.clone(), config, ask, progress.clone());
        let mut task = tokio::spawn(work.in_current_span());
        let mut failed_regions = 0;
        let outcome = match timeout_at(limit.answer_by, &mut task).await {
            Ok(Ok(Ok(done))) => Outcome::success(done.physical_id, done.attributes),
            Ok(Ok(Err(error))) if error.is_not_awaited() => {
                // Refused like any request (the alarm counts every refusal), though not answered.
                log_refusal(&request.claims(), &format!("{error}; the continuation is not answered"));
                return Finish::NotAwaited;
            }
            Ok(Ok(Err(error))) => {
                failed_regions = regions_failed(&error);
                failed(request, &progress, &error)
            }
            Ok(Err(failure)) => {
                let why = panic_message(failure);
                tracing::error!(panic = %why, "the work panicked");
                Outcome::failed(fallback_id(request, &progress), format!("internal error in the provider: {why}"))
            }
            Err(_) => {
                task.abort();
                let Some(outcome) = self.out_of_time(request, arrived, arrival, &limit, &progress, invocation).await
                else {
                    return Finish::HandedOff;
                };
                outcome
            }
        };
        let throttled = self.aws.patience().throttled();
        Finish::Answer(Worked { outcome: with_throttling(outcome, throttled), failed_regions, throttled })
    }

    /// The work did not finish in time: hands the request on (None), or the FAILED answer saying what stopped
    /// it and what was still under way.
    async fn out_of_time(
        &self,
        request: &Request,
        arrived: &Value,
        arrival: &Arrival,
        limit: &Limit,
        progress: &Progress,
        invocation: &Invocation,
    ) -> Option<Outcome> {
        let reason = match limit.then {
            OnTimeout::HandOff => {
                // Half the margin for the hand-off, so that a FAILED answer still has time if it fails.
                let hand_off_by = limit.answer_by + invocation.deadline.saturating_duration_since(limit.answer_by) / 2;
                let handed = timeout_at(hand_off_by, self.hand_off(arrived, arrival, &invocation.function_arn)).await;
                match handed.unwrap_or_else(|_| Err(AwsError::new("Invoke", "no answer in time"))) {
                    Ok(()) => {
                        tracing::info!(
                            next = arrival.hop + 1,
                            "not finished before the Lambda deadline: handed to a fresh invocation"
                        );
                        return None;
                    }
                    Err(error) => {
                        tracing::error!(error = %error, "the work could not be handed to a fresh invocation");
                        format!("timed out: the work did not finish within the Lambda time limit and could not be continued in a fresh invocation ({error}); it is safe to retry")
                    }
                }
            }
            OnTimeout::Fail(bound) => {
                tracing::error!(?bound, "the work did not finish in time; stopped");
                timed_out(bound, request.service_timeout, progress)
            }
        };
        Some(Outcome::failed(fallback_id(request, progress), reason))
    }

    /// Invokes this function again, asynchronously, with the request and its first arrival.
    async fn hand_off(&self, arrived: &Value, arrival: &Arrival, function_arn: &str) -> Result<(), AwsError> {
        let region = function_arn.split(':').nth(3).filter(|region| !region.is_empty());
        let region = region.ok_or_else(|| AwsError::new("Invoke", "the invoked function's ARN names no region"))?;
        let payload = continuation::envelope(arrived, arrival).to_string();
        let lambda = self.aws.own().await?.lambda(region);
        let invoke = lambda.invoke().function_name(function_arn).invocation_type(InvocationType::Event);
        invoke.payload(Blob::new(payload)).send().await.op("Invoke")?;
        Ok(())
    }

    async fn deliver(
        &self,
        url: &reqwest::Url,
        echo: &Echo,
        outcome: &Outcome,
        invocation: &Invocation,
    ) -> Result<(), HandlerError> {
        let body = response::render(outcome, echo, &invocation.log_stream).inspect_err(|error| {
            tracing::error!(error = %error, "response cannot be sent");
        })?;
        match delivery::deliver(&self.http, url, body, invocation.deadline).await {
            Ok(attempts) => {
                tracing::info!(attempts, target = %response_url::loggable(url), "response delivered");
                Ok(())
            }
            Err(error) => {
                tracing::error!(error = %error, target = %response_url::loggable(url), "response not delivered");
                Err(error.into())
            }
        }
    }

    fn allow_loopback(&self) -> bool {
        self.config.as_ref().is_ok_and(|config| config.allow_loopback_response_url)
    }
}

fn request_span(echo: &Echo, request_type: &str) -> tracing::Span {
    tracing::info_span!("request", RequestId = %echo.request_id, StackId = %echo.stack_id,
        LogicalResourceId = %echo.logical_resource_id, RequestType = request_type)
}

/// The lifecycle's error becomes the Reason here, once; a refusal also writes its error line.
fn failed(request: &Request, progress: &Progress, error: &LifecycleError) -> Outcome {
    let reason = error.to_string();
    if error.is_refusal() {
        log_refusal(&request.claims(), &reason);
    }
    Outcome::failed(fallback_id(request, progress), reason)
}

/// The request's metrics line, written last (see [`metrics`]); `worked` is None when no work was done.
fn measure(echo: &Echo, request_type: &str, status: Status, worked: Option<&Worked>, invocation: &Invocation) {
    let regions = worked.and_then(|worked| worked.outcome.data.get("Regions"));
    let metrics = RequestMetrics {
        request_type,
        status,
        request_id: &echo.request_id,
        stack_id: &echo.stack_id,
        logical_resource_id: &echo.logical_resource_id,
        duration: invocation.started.elapsed(),
        regions: metrics::regions_in(regions.map(String::as_str)),
        failed_regions: worked.map_or(0, |worked| worked.failed_regions),
        throttled_calls: worked.map_or(0, |worked| worked.throttled),
    };
    metrics::emit(&metrics, clock::epoch_millis(SystemTime::now()));
}

/// The regions a failure names, when the per-region work failed (the Reason lists them too).
fn regions_failed(error: &LifecycleError) -> usize {
    match error {
        LifecycleError::InRegions(failures) => failures.failed.len(),
        _ => 0,
    }
}

/// A FAILED answer says how many AWS calls were throttled on the way: under a whole OU's rollout, that is
/// why time ran out, and what `MaxConcurrentCount` should be lowered for.
fn with_throttling(mut outcome: Outcome, throttled: u32) -> Outcome {
    if throttled > 0 {
        tracing::warn!(throttled, "AWS calls throttled during this request");
        if let Some(reason) = outcome.reason.as_mut() {
            reason.push_str(&format!(" ({throttled} AWS calls were throttled and retried)"));
        }
    }
    outcome
}

/// The one line every refusal writes (the provider template's metric filter counts it): what the request
/// claimed, and why it was refused.
fn log_refusal(claims: &Claims, reason: &str) {
    tracing::error!(StackId = %claims.stack_id, RequestType = claims.request_type, AccountId = %claims.account_id,
        AdministratorAccountId = %claims.administrator_account_id, reason, "request refused");
}

/// The physical id of a FAILED answer: the account when one is known, else the request's own.
fn fallback_id(request: &Request, progress: &Progress) -> String {
    match &request.action {
        Action::Create => progress.account().unwrap_or_else(|| failed_id(&request.echo)),
        Action::Update { physical_id, .. } | Action::Delete { physical_id } => physical_id.clone(),
    }
}

/// An id that is never 12 digits, so that the rollback's Delete is recognised and makes no AWS call.
pub fn failed_id(echo: &Echo) -> String {
    let request: String = echo.request_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect();
    format!("failed-create-{request}")
}

/// Until when this invocation works on `request`, and what then: the Lambda deadline and CloudFormation's
/// (`ServiceTimeout` after the first arrival) each less the time kept back to answer.
fn limit_of(request: &Request, arrival: &Arrival, lambda_deadline: Instant) -> Limit {
    let lambda_answer_by = lambda_deadline - answer_margin(lambda_deadline);
    let cloudformation = clock::instant_of_epoch_millis(arrival.cloudformation_deadline_ms(request.service_timeout));
    continuation::limit(lambda_answer_by, cloudformation - answer_margin(cloudformation), arrival)
}

/// The Reason of a request stopped by `bound`. A creation still under way goes on in Organizations: the
/// Reason says how to take the account on, since this resource answers without it (its rollback Delete
/// makes no AWS call).
fn timed_out(bound: Bound, service_timeout: Duration, progress: &Progress) -> String {
    let mut reason = match bound {
        Bound::ServiceTimeout => format!(
            "timed out: the work could not finish before CloudFormation stops waiting (ServiceTimeout, {} s) and was stopped",
            service_timeout.as_secs()
        ),
        Bound::Lambda => "timed out: the work did not finish within the Lambda time limit and was stopped".to_owned(),
    };
    match (progress.account(), progress.creation()) {
        (None, Some(creation)) => reason.push_str(&format!(
            "; AWS Organizations is still creating the account (CreateAccount request {creation}): it will appear in the organization. To enroll it, read its id with DescribeCreateAccountStatus for {creation} and give AccountId instead of AccountName and Email"
        )),
        _ => reason.push_str("; it is safe to retry"),
    }
    reason
}

fn answer_margin(deadline: Instant) -> Duration {
    let remaining = deadline.saturating_duration_since(Instant::now());
    (remaining / 10).clamp(MIN_ANSWER_MARGIN, MAX_ANSWER_MARGIN)
}

fn panic_message(failure: tokio::task::JoinError) -> String {
    if !failure.is_panic() {
        return failure.to_string();
    }
    let payload = failure.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_ids_are_never_account_ids() {
        for request_id in ["123456789012", "", "a/b\nc", &"9".repeat(500)] {
            let echo = Echo { request_id: request_id.to_owned(), ..Echo::default() };
            let id = failed_id(&echo);
            assert!(crate::ids::AccountId::parse(&id).is_none());
            assert!(id.len() <= 80 && !id.contains('\n'));
        }
    }

    #[test]
    fn a_creation_cut_short_is_named_with_how_to_take_the_account_on() {
        let progress = Progress::default();
        let plain = timed_out(Bound::ServiceTimeout, Duration::from_secs(1200), &progress);
        assert!(plain.contains("ServiceTimeout, 1200 s") && plain.ends_with("it is safe to retry"), "{plain}");
        progress.set_creation("car-0123456789abcdef");
        let creating = timed_out(Bound::ServiceTimeout, Duration::from_secs(1200), &progress);
        assert!(creating.contains("CreateAccount request car-0123456789abcdef"), "{creating}");
        assert!(creating.contains("give AccountId instead of AccountName and Email"), "{creating}");
        let lambda = timed_out(Bound::Lambda, Duration::from_secs(1200), &progress);
        assert!(lambda.contains("Lambda time limit") && lambda.contains("car-0123456789abcdef"), "{lambda}");
    }

    #[test]
    fn margin_is_bounded() {
        let now = Instant::now();
        assert_eq!(answer_margin(now + Duration::from_secs(900)), MAX_ANSWER_MARGIN);
        assert_eq!(answer_margin(now + Duration::from_secs(3)), MIN_ANSWER_MARGIN);
    }
}
