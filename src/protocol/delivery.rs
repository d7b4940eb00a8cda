//! Delivering the response to CloudFormation: one PUT, retried on transient failures until a deadline.

use reqwest::{header::CONTENT_TYPE, StatusCode, Url};
use std::time::Duration;
use tokio::time::{sleep_until, timeout_at, Instant};

const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
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
pub async fn deliver(
    client: &reqwest::Client,
    url: &Url,
    body: Vec<u8>,
    deadline: Instant,
) -> Result<u32, DeliveryError> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let request = client.put(url.clone()).header(CONTENT_TYPE, "").body(body.clone()).send();
        let last = match timeout_at(deadline, request).await {
            Ok(Ok(response)) if response.status().is_success() => return Ok(attempts),
            Ok(Ok(response)) if is_transient(response.status()) => {
                format!("HTTP {}", response.status())
            }
            Ok(Ok(response)) => return Err(DeliveryError::Rejected(response.status())),
            // reqwest errors quote the URL, and with it the presigned signature: never log that.
            Ok(Err(error)) => error.without_url().to_string(),
            Err(_) => "timed out".to_owned(),
        };
        tracing::warn!(attempt = attempts, error = %last, "response delivery failed; retrying");
        let next = Instant::now() + backoff;
        if next >= deadline {
            return Err(DeliveryError::OutOfTime { attempts, last });
        }
        sleep_until(next).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn is_transient(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}
