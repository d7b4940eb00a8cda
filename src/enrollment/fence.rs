//! A fence between a Delete and a Create of the same resource that overlap in time.
//!
//! CloudFormation can send a resource's Delete while a run of its Create is still working: another run of
//! the same request (Lambda and SNS deliver at least once) answered first, or the stack gave up on it. The
//! two runs share nothing but AWS. CloudFormation sets the stack's status (DELETE_IN_PROGRESS, or a
//! ROLLBACK state) before it sends the Delete, and the Delete leaves each region after that. So a Create
//! reads its stack again once every region has accepted the invitation: if the stack is being deleted or
//! rolled back, or no longer holds the resource, a Delete may have left a region before this Create joined
//! it, and the Create leaves its regions again and answers FAILED. A Delete that begins after that read
//! finds the joins in place and leaves them itself.
//!
//! The read is one CloudFormation call beside the regions' last step: no administrator call, and nothing
//! for the Delete to write.

use tokio::sync::Semaphore;

use super::origin::Seen;

/// Counts the regions of one join that have got past accepting, so that the fence's read comes after all.
#[derive(Debug)]
pub(crate) struct Joined {
    passed: Semaphore,
    regions: u32,
}

impl Joined {
    pub(crate) fn new(regions: usize) -> Self {
        Self { passed: Semaphore::new(0), regions: u32::try_from(regions).unwrap_or(u32::MAX) }
    }

    /// One region's signal: fired once that region has accepted, or when it ends whatever happened.
    pub(crate) fn signal(&self) -> Signal<'_> {
        Signal(Some(&self.passed))
    }

    /// Waits until every region's signal has fired.
    pub(crate) async fn all(&self) {
        if let Ok(permits) = self.passed.acquire_many(self.regions).await {
            permits.forget();
        }
    }
}

/// Fired at most once; a signal dropped unfired fires then.
#[derive(Debug)]
pub(crate) struct Signal<'a>(Option<&'a Semaphore>);

impl Signal<'_> {
    /// A signal that counts for nothing (a join without a fence).
    pub(crate) const fn none() -> Self {
        Signal(None)
    }

    pub(crate) fn fire(&mut self) {
        if let Some(passed) = self.0.take() {
            passed.add_permits(1);
        }
    }
}

impl Drop for Signal<'_> {
    fn drop(&mut self) {
        self.fire();
    }
}

/// Whether what CloudFormation shows now means that a Delete of the resource may have begun: the stack is
/// gone or being deleted or rolled back (CloudFormation User Guide, "Stack status codes"), or it no longer
/// holds the resource.
pub(crate) fn deletion_begun(seen: &Seen) -> bool {
    match &seen.stack_status {
        None => true,
        Some(status) => status.contains("DELETE") || status.contains("ROLLBACK") || seen.resource.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrollment::origin::SeenResource;
    use std::time::Duration;

    fn seen(status: Option<&str>, holds_resource: bool) -> Seen {
        let resource = holds_resource.then(|| SeenResource {
            resource_type: "Custom::SecurityHubMemberAccount".to_owned(),
            ..SeenResource::default()
        });
        Seen { stack_status: status.map(str::to_owned), resource, ..Seen::default() }
    }

    #[test]
    fn a_stack_being_deleted_or_rolled_back_means_a_delete_may_have_begun() {
        for status in [
            "DELETE_IN_PROGRESS",
            "DELETE_COMPLETE",
            "ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        ] {
            assert!(deletion_begun(&seen(Some(status), true)), "{status}");
        }
        assert!(deletion_begun(&seen(None, false)), "no stack");
        assert!(deletion_begun(&seen(Some("UPDATE_IN_PROGRESS"), false)), "no resource");
    }

    #[test]
    fn a_stack_still_creating_or_done_means_none_has() {
        for status in ["CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "CREATE_COMPLETE", "UPDATE_COMPLETE"] {
            assert!(!deletion_begun(&seen(Some(status), true)), "{status}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_fence_waits_for_every_region_fired_or_dropped() {
        let joined = Joined::new(3);
        let mut first = joined.signal();
        let (second, third) = (joined.signal(), joined.signal());
        first.fire();
        first.fire(); // at most once
        drop(second);
        let waited = tokio::time::timeout(Duration::from_secs(1), joined.all()).await;
        assert!(waited.is_err(), "passed with one region still joining");
        drop(third);
        tokio::time::timeout(Duration::from_secs(1), joined.all()).await.expect("all regions passed");
    }
}
