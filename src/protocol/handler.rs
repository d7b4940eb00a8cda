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
use tokio::task::{JoinError, JoinHandle};
use tokio::time::{timeout_at, Instant};
use tracing::Instrument;

use super::continuation::{self, Arrival, Bound, Cutoff, OnTimeout};
use super::delivery::{self, DeliveryError};
use super::event::{self, Action, Claims, EventError, Request};
use super::metrics::{self, Status};
use super::response::{self, Answer, Echo, Oversized};
use super::response_url::{self, RefusedUrl};
use std::future::Future;

use crate::aws::{Aws, AwsError, Operation};
use crate::clock;
use crate::config::{Config, ConfigError};
use crate::enrollment::lifecycle::{self, Done, Progress};
use crate::enrollment::{LifecycleError, Work};

mod deadline;
mod telemetry;

use deadline::*;
use telemetry::*;

/// Why no response reached CloudFormation: what [`Provider::handle`] reports to the Lambda runtime, which
/// then retries the event (safe: the work is idempotent).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct HandlerError(#[from] Unanswered);

/// Why a request was not answered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unanswered {
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
    fn from(HandlerError(error): HandlerError) -> Self {
        let error_type = match error {
            Unanswered::Unanswerable(_) => "Unanswerable",
            Unanswered::Refused(_) => "ResponseUrlRefused",
            Unanswered::Undelivered(_) => "ResponseNotDelivered",
            Unanswered::Oversized(_) => "ResponseTooLarge",
        };
        Self { error_type: error_type.to_owned(), error_message: error.to_string() }
    }
}

/// What the work decided, and what the metrics line needs of it besides.
struct Measured {
    answer: Answer,
    /// The regions named in a per-region failure (0 when the work did not fail that way).
    failed_regions: usize,
    /// AWS calls of this request answered with throttling (the count of an earlier request stays behind
    /// in [`crate::aws::Patience`] until the next work begins, so it is read here, once).
    throttled: u32,
}

impl From<Answer> for Measured {
    fn from(answer: Answer) -> Self {
        Self { answer, failed_regions: 0, throttled: 0 }
    }
}

/// How a request's work ended in this invocation.
enum Ending {
    Answered(Measured),
    /// Handed to a fresh invocation, which answers.
    HandedOff,
    /// A continuation that CloudFormation no longer waits for: nothing to answer.
    NotAwaited,
}

impl From<Answer> for Ending {
    fn from(answer: Answer) -> Self {
        Ending::Answered(answer.into())
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
    /// The provider of one Lambda process: a bad configuration is kept, and every request then answered FAILED
    /// naming it.
    pub fn new(config: Result<Config, ConfigError>, http: reqwest::Client, aws: Aws) -> Self {
        Self { config, http, aws: Arc::new(aws) }
    }

    /// Serves one invocation: a request (exactly one answer, or a hand-off), or the membership watch's event.
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
                let ending = async {
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
                self.respond(&request.response_url, &request.echo, &claims, request_type, ending, &invocation)
                    .instrument(span)
                    .await
                    .map_err(HandlerError::from)
            }
            Err(EventError::Malformed(malformed)) => {
                let span = request_span(&malformed.echo, "Malformed");
                let physical_id = malformed.physical_id.clone().unwrap_or_else(|| failed_id(&malformed.echo));
                let ending = async { Ending::from(Answer::failed(physical_id, malformed.problem.clone())) };
                let claims = Claims { stack_id: malformed.echo.stack_id.clone(), ..Claims::default() };
                self.respond(&malformed.response_url, &malformed.echo, &claims, "Malformed", ending, &invocation)
                    .instrument(span)
                    .await
                    .map_err(HandlerError::from)
            }
            Err(EventError::Unanswerable(problem)) => {
                tracing::error!(problem = %problem, "event has no ResponseURL to answer at");
                measure(&Echo::default(), "Unanswerable", Status::NotAnswered, None, &invocation);
                Err(Unanswered::Unanswerable(problem).into())
            }
        }
    }

    /// Checks the ResponseURL first (a URL that would be refused must not cause AWS changes), then
    /// works out the answer and delivers it.
    async fn respond(
        &self,
        raw_url: &str,
        echo: &Echo,
        claims: &Claims,
        request_type: &str,
        ending: impl Future<Output = Ending>,
        invocation: &Invocation,
    ) -> Result<(), Unanswered> {
        let url = match response_url::check(raw_url, self.allow_loopback()) {
            Ok(url) => url,
            Err(refused) => {
                log_refusal(claims, &format!("{refused}; the request is not answered"));
                measure(echo, request_type, Status::NotAnswered, None, invocation);
                return Err(refused.into());
            }
        };
        let measured = match ending.await {
            Ending::Answered(measured) => measured,
            Ending::HandedOff | Ending::NotAwaited => {
                measure(echo, request_type, Status::Continued, None, invocation);
                return Ok(());
            }
        };
        let answer = &measured.answer;
        tracing::info!(status = if answer.success { "SUCCESS" } else { "FAILED" }, physical_id = %answer.physical_id,
            reason = answer.reason.as_deref().unwrap_or(""), "answering");
        let delivered = self.deliver(&url, echo, answer, invocation).await;
        let status = match (&delivered, answer.success) {
            (Err(_), _) => Status::NotAnswered,
            (Ok(()), true) => Status::Success,
            (Ok(()), false) => Status::Failed,
        };
        measure(echo, request_type, status, Some(&measured), invocation);
        delivered
    }

    /// Runs the lifecycle in its own task, bounded by the answer time, catching panics.
    async fn work(&self, request: &Request, arrived: &Value, arrival: &Arrival, invocation: &Invocation) -> Ending {
        let config = match &self.config {
            Ok(config) => config.clone(),
            Err(error) => return Answer::failed(fallback_id(request, &Progress::default()), error.to_string()).into(),
        };
        let progress = Progress::default();
        let cutoff = cutoff_of(request, arrival, invocation.deadline);
        let work = Work {
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
        self.aws.patience().begin(cutoff.answer_by);
        let running = lifecycle::run(self.aws.clone(), config, work, progress.clone());
        let mut task = tokio::spawn(running.in_current_span());
        let mut failed_regions = 0;
        let answer = match finish(&mut task, cutoff.answer_by).await {
            Ok(done) => Answer::success(done.physical_id, done.attributes),
            Err(Stopped::Failed(error)) if error.is_not_awaited() => {
                // Refused like any request (the alarm counts every refusal), though not answered.
                log_refusal(&request.claims(), &format!("{error}; the continuation is not answered"));
                return Ending::NotAwaited;
            }
            Err(Stopped::Failed(error)) => {
                failed_regions = regions_failed(&error);
                failed(request, &progress, &error)
            }
            Err(Stopped::Panicked(failure)) => {
                let why = panic_message(failure);
                tracing::error!(panic = %why, "the work panicked");
                Answer::failed(fallback_id(request, &progress), format!("internal error in the provider: {why}"))
            }
            Err(Stopped::OutOfTime) => {
                task.abort();
                let Some(answer) = self.out_of_time(request, arrived, arrival, &cutoff, &progress, invocation).await
                else {
                    return Ending::HandedOff;
                };
                answer
            }
        };
        let throttled = self.aws.patience().throttled();
        Ending::Answered(Measured { answer: with_throttling(answer, throttled), failed_regions, throttled })
    }

    async fn deliver(
        &self,
        url: &reqwest::Url,
        echo: &Echo,
        answer: &Answer,
        invocation: &Invocation,
    ) -> Result<(), Unanswered> {
        let body = response::render(answer, echo, &invocation.log_stream).inspect_err(|error| {
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

/// Why the work gave no result: it failed, it panicked, or the answer became due first.
enum Stopped {
    Failed(LifecycleError),
    Panicked(JoinError),
    OutOfTime,
}

/// The work's result by `answer_by`, or why there is none (the task goes on running when out of time).
async fn finish(task: &mut JoinHandle<Result<Done, LifecycleError>>, answer_by: Instant) -> Result<Done, Stopped> {
    let joined = timeout_at(answer_by, task).await.map_err(|_| Stopped::OutOfTime)?;
    joined.map_err(Stopped::Panicked)?.map_err(Stopped::Failed)
}

/// The lifecycle's error becomes the Reason here, once; a refusal also writes its error line.
fn failed(request: &Request, progress: &Progress, error: &LifecycleError) -> Answer {
    let reason = error.to_string();
    if error.is_refusal() {
        log_refusal(&request.claims(), &reason);
    }
    Answer::failed(fallback_id(request, progress), reason)
}

/// The physical id of a FAILED answer: the account when one is known, else the request's own.
fn fallback_id(request: &Request, progress: &Progress) -> String {
    match &request.action {
        Action::Create => progress.account().unwrap_or_else(|| failed_id(&request.echo)),
        Action::Update { physical_id, .. } | Action::Delete { physical_id } => physical_id.clone(),
    }
}

/// An id that is never 12 digits, so that the rollback's Delete is recognised and makes no AWS call.
pub(crate) fn failed_id(echo: &Echo) -> String {
    let request: String = echo.request_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect();
    format!("failed-create-{request}")
}

fn panic_message(failure: JoinError) -> String {
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
mod tests;
