//! Delivering the response to CloudFormation: one PUT, retried on transient failures until a deadline.

use reqwest::{header::CONTENT_TYPE, StatusCode, Url};
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

use crate::retry::Pauses;

/// From a fifth of a second up to 3 s: a response endpoint that failed is given a moment, and a
/// deadline minutes away still sees many tries.
const PAUSES: Pauses = Pauses::Backoff { base: Duration::from_millis(200), cap: Duration::from_secs(3) };

#[derive(Debug, thiserror::Error)]
pub(crate) enum DeliveryError {
    #[error("the response endpoint refused the response with HTTP {0}")]
    Rejected(StatusCode),
    #[error("no response could be delivered before the deadline ({attempts} attempts; last: {last})")]
    OutOfTime { attempts: u32, last: String },
}

/// An HTTP client for responses. Redirects are not followed: a presigned URL answers directly.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .build()
}

/// PUTs `body` to `url`, retrying connection errors, 5xx and 429 with backoff until `deadline`.
///
/// The body goes with an empty Content-Type, as CloudFormation's own helpers send it: the presigned
/// URL was signed without one.
pub(crate) async fn deliver(
    client: &reqwest::Client,
    url: &Url,
    body: Vec<u8>,
    deadline: Instant,
) -> Result<u32, DeliveryError> {
    let put = |attempt| put_once(client, url, &body, deadline, attempt);
    PAUSES.until(deadline).run(put, Failure::is_transient).await.map_err(DeliveryError::from)
}

/// How one PUT failed.
#[derive(Debug)]
enum Failure {
    Rejected(StatusCode),
    Transient { attempt: u32, last: String },
}

impl Failure {
    fn is_transient(&self) -> bool {
        matches!(self, Failure::Transient { .. })
    }
}

impl From<Failure> for DeliveryError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Rejected(status) => DeliveryError::Rejected(status),
            Failure::Transient { attempt, last } => DeliveryError::OutOfTime { attempts: attempt, last },
        }
    }
}

/// The `attempt`-th PUT, bounded by the deadline; the attempt's number when it was delivered.
async fn put_once(
    client: &reqwest::Client,
    url: &Url,
    body: &[u8],
    deadline: Instant,
    attempt: u32,
) -> Result<u32, Failure> {
    let request = client.put(url.clone()).header(CONTENT_TYPE, "").body(body.to_vec()).send();
    let last = match timeout_at(deadline, request).await {
        Ok(Ok(response)) if response.status().is_success() => return Ok(attempt),
        Ok(Ok(response)) if is_transient_status(response.status()) => format!("HTTP {}", response.status()),
        Ok(Ok(response)) => return Err(Failure::Rejected(response.status())),
        // reqwest errors quote the URL, and with it the presigned signature: never log that.
        Ok(Err(error)) => error.without_url().to_string(),
        Err(_) => "timed out".to_owned(),
    };
    tracing::warn!(attempt, error = %last, "response delivery failed");
    Err(Failure::Transient { attempt, last })
}

fn is_transient_status(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}
