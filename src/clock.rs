//! Epoch time as AWS and the Lambda Runtime API write it, and the tokio clock that times the work.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// No invocation lasts more than 15 minutes: a deadline farther away than this is not a real one, and
/// capping it keeps the instant from overflowing.
const FARTHEST_DEADLINE: Duration = Duration::from_secs(24 * 60 * 60);

/// Milliseconds since the Unix epoch; a time before the epoch counts as the epoch.
pub(crate) fn epoch_millis(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis())
}

/// The tokio instant of a deadline in milliseconds since the epoch, as the Runtime API gives it
/// (`Lambda-Runtime-Deadline-Ms`). A deadline already past is now.
pub(crate) fn instant_of_epoch_millis(deadline_ms: u64) -> Instant {
    let left_ms = u128::from(deadline_ms).saturating_sub(epoch_millis(SystemTime::now()));
    let left = Duration::from_millis(u64::try_from(left_ms).unwrap_or(u64::MAX)).min(FARTHEST_DEADLINE);
    Instant::now() + left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_millis_counts_from_the_epoch() {
        assert_eq!(epoch_millis(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)), 1_700_000_000_123);
        assert_eq!(epoch_millis(UNIX_EPOCH - Duration::from_secs(1)), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_becomes_the_instant_as_far_away() {
        let now_ms = u64::try_from(epoch_millis(SystemTime::now())).expect("a time of this era");
        let now = Instant::now();
        let deadline = instant_of_epoch_millis(now_ms + 30_000);
        // The wall clock moved on a little between the two readings, the paused tokio clock did not.
        let left = deadline - now;
        assert!(left <= Duration::from_secs(30) && left > Duration::from_millis(29_900), "{left:?}");
        assert_eq!(instant_of_epoch_millis(now_ms - 5_000), now);
        assert_eq!(instant_of_epoch_millis(u64::MAX), now + FARTHEST_DEADLINE);
    }
}
