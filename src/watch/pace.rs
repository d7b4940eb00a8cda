//! The watch's own pace: a few calls per second, well below what the administrator's account allows, so that
//! the enrollments sharing that budget never wait for the watch.
//!
//! Security Hub allows an account "RateLimit of 10 requests per second. BurstLimit of 30 requests per second" per
//! region for the operations the provider calls (Security Hub API Reference, "Welcome"), and a StackSet rollout's
//! enrollments need all of it. The watch takes [`SECURITY_HUB_EVERY`] (2 calls a second, a fifth) per
//! administrator and region, and Organizations calls [`ORGANIZATIONS_EVERY`] apart (Organizations publishes no
//! request rate; the management account's CreateAccount and tag calls of enrollments share it). A pace is a token
//! bucket of one token: the first call goes at once, each next one a full interval after the previous.

use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::{sleep_until, Instant};

/// The interval between two watch calls to one administrator's Security Hub in one region.
pub(crate) const SECURITY_HUB_EVERY: Duration = Duration::from_millis(500);
/// The interval between two watch calls to Organizations.
pub(crate) const ORGANIZATIONS_EVERY: Duration = Duration::from_millis(500);

/// Calls spaced at least `every` apart, whoever makes them.
#[derive(Debug)]
pub(crate) struct Pace {
    every: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pace {
    pub(crate) fn new(every: Duration) -> Self {
        Self { every, next: Mutex::new(None) }
    }

    /// Waits for the turn of `calls` calls (a step that makes several, as joining a region does, takes them all).
    pub(crate) async fn take(&self, calls: u32) {
        let start = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let start = next.map_or(now, |next| next.max(now));
            *next = Some(start + self.every * calls.max(1));
            start
        };
        sleep_until(start).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn calls_are_spaced_whoever_makes_them() {
        let pace = Arc::new(Pace::new(SECURITY_HUB_EVERY));
        let began = Instant::now();
        pace.take(1).await;
        assert_eq!(began.elapsed(), Duration::ZERO, "the first call goes at once");
        let waits = (0..4).map(|_| {
            let pace = pace.clone();
            tokio::spawn(async move {
                pace.take(1).await;
                began.elapsed()
            })
        });
        let mut elapsed: Vec<Duration> = futures_util::future::join_all(waits).await.into_iter().flatten().collect();
        elapsed.sort();
        assert_eq!(elapsed, [500, 1000, 1500, 2000].map(Duration::from_millis));
        pace.take(3).await;
        pace.take(1).await;
        assert_eq!(began.elapsed(), Duration::from_millis(4000), "three calls take three turns");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_pace_does_not_save_up_turns() {
        let pace = Pace::new(ORGANIZATIONS_EVERY);
        pace.take(1).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let began = Instant::now();
        pace.take(1).await;
        pace.take(1).await;
        assert_eq!(began.elapsed(), ORGANIZATIONS_EVERY, "no burst after a pause");
    }
}
