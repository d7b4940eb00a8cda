//! One way to try again: every retry and poll loop of the crate runs through [`Retry::run`].
//!
//! A [`Retry`] is a schedule of pauses ([`Pauses`]) and a limit ([`Limit`]). It calls an operation until
//! the operation succeeds, fails with an error that the caller's classifier does not find worth another
//! try, or the limit is reached; then it returns the last error. It never sleeps past a deadline: a try
//! that could only start at or after the deadline is not made, and the last error is returned at once.
//!
//! The AWS SDK retries throttling, 5xx and dropped connections of each call by itself; this is for the
//! retries that only the crate can judge (a role not assumable yet, an invitation not arrived yet, a
//! creation still in progress) and for the response PUT, which does not go through the SDK.

use std::future::Future;
use std::time::Duration;
use tokio::time::{sleep_until, Instant};

/// How long to wait between one try and the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pauses {
    /// Capped exponential backoff with full jitter, for tries that failed: after the n-th try, a pause
    /// drawn uniformly between zero and `min(cap, base × 2ⁿ⁻¹)`. Callers that failed together (a StackSet
    /// enrolling an OU's accounts at once, two runs of one request) then spread over the whole window
    /// instead of coming back in step: of the schemes compared in the AWS Architecture Blog's
    /// "Exponential Backoff And Jitter" (Marc Brooker, 2015), full jitter did the least work and
    /// finished soonest.
    Backoff { base: Duration, cap: Duration },
    /// A poll of something that is expected to take a while: the second try `first` after the first
    /// one started, then one every `every`. Measured from one try's start to the next, so that the
    /// try's own round trip does not stretch the cadence (a try that took longer than the pause is
    /// followed at once).
    Cadence { first: Duration, every: Duration },
}

/// When to stop trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// At most this many tries, the first one included.
    Attempts(u32),
    /// No try starts at or after this instant.
    Deadline(Instant),
}

/// A schedule of pauses and a limit; made by [`Pauses::attempts`] or [`Pauses::until`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Retry {
    pauses: Pauses,
    limit: Limit,
}

impl Pauses {
    /// At most `attempts` tries on this schedule.
    pub(crate) const fn attempts(self, attempts: u32) -> Retry {
        Retry { pauses: self, limit: Limit::Attempts(attempts) }
    }

    /// Tries on this schedule that start before `deadline`.
    pub(crate) const fn until(self, deadline: Instant) -> Retry {
        Retry { pauses: self, limit: Limit::Deadline(deadline) }
    }

    /// The pause after the `attempt`-th try (1 for the first); drawn anew on every call for a backoff.
    pub(crate) fn after(&self, attempt: u32) -> Duration {
        match *self {
            Pauses::Backoff { base, cap } => full_jitter(backoff_ceiling(base, cap, attempt)),
            Pauses::Cadence { first, every } => {
                if attempt <= 1 {
                    first
                } else {
                    every
                }
            }
        }
    }
}

impl Retry {
    /// Calls `operation` (with the try's number, 1 for the first) until it succeeds, it fails with an
    /// error for which `worth_another_try` says no, or the limit is reached; returns the last error.
    pub(crate) async fn run<T, E, Operation, Attempt>(
        &self,
        mut operation: Operation,
        mut worth_another_try: impl FnMut(&E) -> bool,
    ) -> Result<T, E>
    where
        Operation: FnMut(u32) -> Attempt,
        Attempt: Future<Output = Result<T, E>>,
    {
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let error = match operation(attempt).await {
                Ok(done) => return Ok(done),
                Err(error) => error,
            };
            if !worth_another_try(&error) {
                return Err(error);
            }
            let Some(next) = self.next_try(attempt, started) else { return Err(error) };
            sleep_until(next).await;
            attempt += 1;
        }
    }

    /// When the try after the `attempt`-th (which started at `started`) begins; `None` when there is none.
    fn next_try(&self, attempt: u32, started: Instant) -> Option<Instant> {
        if let Limit::Attempts(most) = self.limit {
            if attempt >= most {
                return None;
            }
        }
        let pause = self.pauses.after(attempt);
        let next = match self.pauses {
            Pauses::Backoff { .. } => Instant::now().checked_add(pause)?,
            Pauses::Cadence { .. } => started.checked_add(pause)?.max(Instant::now()),
        };
        match self.limit {
            Limit::Deadline(deadline) if next >= deadline => None,
            _ => Some(next),
        }
    }
}

/// `min(cap, base × 2ⁿ⁻¹)` for the n-th try, without overflowing however many tries there were.
fn backoff_ceiling(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(31);
    base.checked_mul(1 << doublings).map_or(cap, |grown| grown.min(cap))
}

/// A duration drawn uniformly between zero and `ceiling`, both included.
fn full_jitter(ceiling: Duration) -> Duration {
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    const BACKOFF: Pauses = Pauses::Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(1) };

    #[derive(Debug, PartialEq, Eq)]
    enum Failure {
        Transient(u32),
        Permanent(u32),
    }

    fn is_transient(failure: &Failure) -> bool {
        matches!(failure, Failure::Transient(_))
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_attempts_with_the_last_error() {
        let tries = RefCell::new(0);
        let outcome: Result<(), _> = BACKOFF
            .attempts(4)
            .run(
                |attempt| {
                    *tries.borrow_mut() += 1;
                    async move { Err(Failure::Transient(attempt)) }
                },
                is_transient,
            )
            .await;
        assert_eq!(outcome, Err(Failure::Transient(4)));
        assert_eq!(*tries.borrow(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn stops_trying_once_it_succeeds() {
        let outcome = BACKOFF
            .attempts(10)
            .run(
                |attempt| async move {
                    if attempt < 3 {
                        Err(Failure::Transient(attempt))
                    } else {
                        Ok(attempt)
                    }
                },
                is_transient,
            )
            .await;
        assert_eq!(outcome, Ok(3));
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_not_worth_another_try_stops_at_once() {
        let start = Instant::now();
        let outcome: Result<(), _> =
            BACKOFF.attempts(10).run(|attempt| async move { Err(Failure::Permanent(attempt)) }, is_transient).await;
        assert_eq!(outcome, Err(Failure::Permanent(1)));
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn no_try_starts_at_or_after_the_deadline() {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(5);
        let starts = RefCell::new(Vec::new());
        let outcome: Result<(), _> = BACKOFF
            .until(deadline)
            .run(
                |attempt| {
                    starts.borrow_mut().push(Instant::now());
                    async move {
                        // Each try takes a while, as a request does.
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        Err(Failure::Transient(attempt))
                    }
                },
                is_transient,
            )
            .await;
        let starts = starts.into_inner();
        assert!(starts.len() > 1, "tried only {} times", starts.len());
        assert!(starts.iter().all(|at| *at < deadline));
        assert_eq!(outcome, Err(Failure::Transient(starts.len() as u32)));
        // It gave up when the last try ended, not after a pause that would have crossed the deadline.
        assert_eq!(Instant::now(), starts[starts.len() - 1] + Duration::from_millis(300));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_already_here_allows_one_try() {
        let start = Instant::now();
        let tries = RefCell::new(0);
        let outcome: Result<(), _> = BACKOFF
            .until(start)
            .run(
                |attempt| {
                    *tries.borrow_mut() += 1;
                    async move { Err(Failure::Transient(attempt)) }
                },
                is_transient,
            )
            .await;
        assert_eq!(outcome, Err(Failure::Transient(1)));
        assert_eq!((*tries.borrow(), start.elapsed()), (1, Duration::ZERO));
    }

    #[test]
    fn backoff_pauses_are_jittered_within_their_ceiling() {
        let pauses = Pauses::Backoff { base: Duration::from_millis(200), cap: Duration::from_secs(3) };
        let ceilings = [200, 400, 800, 1600, 3000, 3000].map(Duration::from_millis);
        for (attempt, ceiling) in (1..).zip(ceilings) {
            let drawn: Vec<Duration> = (0..500).map(|_| pauses.after(attempt)).collect();
            assert!(drawn.iter().all(|pause| *pause <= ceiling), "attempt {attempt}: above {ceiling:?}");
            // Full jitter: the whole window is used, the lower half as much as the upper.
            assert!(drawn.iter().any(|pause| *pause < ceiling / 4), "attempt {attempt}: none in the first quarter");
            assert!(drawn.iter().any(|pause| *pause > ceiling * 3 / 4), "attempt {attempt}: none in the last quarter");
        }
        assert!(pauses.after(u32::MAX) <= Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cadence_is_kept_from_one_start_to_the_next() {
        let start = Instant::now();
        let polls = Pauses::Cadence { first: Duration::from_millis(500), every: Duration::from_millis(1500) };
        let starts = RefCell::new(Vec::new());
        let outcome: Result<(), _> = polls
            .until(start + Duration::from_millis(5000))
            .run(
                |attempt| {
                    starts.borrow_mut().push(start.elapsed());
                    async move {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        Err(Failure::Transient(attempt))
                    }
                },
                is_transient,
            )
            .await;
        // The poll's own 200 ms do not push the next one back; 5.0 s, at the deadline, is not polled.
        let expected = [0, 500, 2000, 3500].map(Duration::from_millis);
        assert_eq!(starts.into_inner(), expected);
        assert_eq!(outcome, Err(Failure::Transient(4)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_try_longer_than_the_cadence_is_followed_at_once() {
        let start = Instant::now();
        let polls = Pauses::Cadence { first: Duration::from_millis(100), every: Duration::from_millis(100) };
        let starts = RefCell::new(Vec::new());
        let _: Result<(), _> = polls
            .attempts(3)
            .run(
                |attempt| {
                    starts.borrow_mut().push(start.elapsed());
                    async move {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                        Err(Failure::Transient(attempt))
                    }
                },
                is_transient,
            )
            .await;
        assert_eq!(starts.into_inner(), [0, 250, 500].map(Duration::from_millis));
    }
}
