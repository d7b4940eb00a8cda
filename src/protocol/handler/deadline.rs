//! Time: until when a request works in this invocation ([`cutoff_of`]), and what happens then: the hand-off to a
//! fresh invocation (Lambda Invoke with the request as it arrived), or the FAILED answer before CloudFormation's
//! deadline ([`timed_out`]).

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use super::*;

impl Provider {
    /// The work did not finish in time: hands the request on (None), or the FAILED answer saying what stopped
    /// it and what was still under way.
    pub(super) async fn out_of_time(
        &self,
        request: &Request,
        arrived: &Value,
        arrival: &Arrival,
        cutoff: &Cutoff,
        progress: &Progress,
        invocation: &Invocation,
    ) -> Option<Answer> {
        let reason = match cutoff.then {
            OnTimeout::HandOff => {
                // Half the margin for the hand-off, so that a FAILED answer still has time if it fails.
                let hand_off_by =
                    cutoff.answer_by + invocation.deadline.saturating_duration_since(cutoff.answer_by) / 2;
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
        Some(Answer::failed(fallback_id(request, progress), reason))
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
}

/// Kept back from the Lambda deadline to deliver the response: a tenth of the time, 1 to 10 s.
pub(super) const MIN_ANSWER_MARGIN: Duration = Duration::from_secs(1);

pub(super) const MAX_ANSWER_MARGIN: Duration = Duration::from_secs(10);

/// Until when this invocation works on `request`, and what then: the Lambda deadline and CloudFormation's
/// (`ServiceTimeout` after the first arrival) each less the time kept back to answer.
pub(super) fn cutoff_of(request: &Request, arrival: &Arrival, lambda_deadline: Instant) -> Cutoff {
    let lambda_answer_by = lambda_deadline - answer_margin(lambda_deadline);
    let cloudformation = clock::instant_of_epoch_millis(arrival.cloudformation_deadline_ms(request.service_timeout));
    continuation::cutoff(lambda_answer_by, cloudformation - answer_margin(cloudformation), arrival)
}

/// The Reason of a request stopped by `bound`. A creation still under way goes on in Organizations: the
/// Reason says how to take the account on, since this resource answers without it (its rollback Delete
/// makes no AWS call).
pub(super) fn timed_out(bound: Bound, service_timeout: Duration, progress: &Progress) -> String {
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

pub(super) fn answer_margin(deadline: Instant) -> Duration {
    let remaining = deadline.saturating_duration_since(Instant::now());
    (remaining / 10).clamp(MIN_ANSWER_MARGIN, MAX_ANSWER_MARGIN)
}
