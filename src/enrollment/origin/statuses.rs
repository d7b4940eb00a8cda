//! The statuses CloudFormation shows while it waits for a custom resource's answer: the stack's and the
//! resource's own, per request type. The table, with its sources, is docs/origin-statuses.md.
//!
//! - Create: the stack creates (CREATE_IN_PROGRESS), or an update adds the resource (UPDATE_IN_PROGRESS); the
//!   resource is CREATE_IN_PROGRESS until the answer (User Guide, "Custom resources": "CloudFormation ... waits
//!   for the response"; stack events of real creations show the resource CREATE_IN_PROGRESS with an empty
//!   physical id first). An update rollback never creates: what a failed update created is deleted in
//!   UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS, and what it replaced is kept until the cleanup (User Guide,
//!   "Stack status codes"), so there is nothing to create again.
//! - Update: the stack updates (UPDATE_IN_PROGRESS), or rolls an update back (UPDATE_ROLLBACK_IN_PROGRESS: the
//!   rollback sends an Update with the properties swapped; aws-cloudformation/custom-resource-helper issue 71,
//!   aws/aws-cdk PR 29581); the resource is UPDATE_IN_PROGRESS (convox/rack PR 525 shows a custom resource's
//!   rollback Update ending UPDATE_FAILED during UPDATE_ROLLBACK_IN_PROGRESS). The API's resource status enum
//!   also has UPDATE_ROLLBACK_IN_PROGRESS (StackResourceDetail, ResourceStatus): accepted during a rollback.
//! - Delete: the stack is deleted (DELETE_IN_PROGRESS), a failed creation rolls back (ROLLBACK_IN_PROGRESS), an
//!   update rolls back (UPDATE_ROLLBACK_IN_PROGRESS), or a cleanup removes what an update replaced or dropped
//!   (UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS: stack events of a real
//!   rollback cleanup show DELETE_IN_PROGRESS of the custom resources a failed update created); the resource is
//!   DELETE_IN_PROGRESS (ROLLBACK_IN_PROGRESS too during a creation's rollback: the API's enum lists it).
//!   During a cleanup, a replaced physical id is no longer the resource's: that Delete is bound by the stack's
//!   events instead (see `super::events`).
//! - REVIEW_IN_PROGRESS (a change set not executed) and every `*_COMPLETE` / `*_FAILED` status: nothing waits.

use crate::enrollment::Action;

/// The request types, as the table has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Create,
    Update,
    Delete,
}

impl Kind {
    pub(crate) fn of(action: &Action) -> Self {
        match action {
            Action::Create => Kind::Create,
            Action::Update { .. } => Kind::Update,
            Action::Delete { .. } => Kind::Delete,
        }
    }
}

/// (stack status, resource statuses) while CloudFormation waits for a Create.
const CREATE: &[(&str, &[&str])] =
    &[("CREATE_IN_PROGRESS", &["CREATE_IN_PROGRESS"]), ("UPDATE_IN_PROGRESS", &["CREATE_IN_PROGRESS"])];
/// ... for an Update.
const UPDATE: &[(&str, &[&str])] = &[
    ("UPDATE_IN_PROGRESS", &["UPDATE_IN_PROGRESS"]),
    ("UPDATE_ROLLBACK_IN_PROGRESS", &["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"]),
];
/// ... for a Delete.
const DELETE: &[(&str, &[&str])] = &[
    ("DELETE_IN_PROGRESS", &["DELETE_IN_PROGRESS"]),
    ("ROLLBACK_IN_PROGRESS", &["DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"]),
    ("UPDATE_ROLLBACK_IN_PROGRESS", &["DELETE_IN_PROGRESS"]),
    ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", &["DELETE_IN_PROGRESS"]),
    ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", &["DELETE_IN_PROGRESS"]),
];

fn table(kind: Kind) -> &'static [(&'static str, &'static [&'static str])] {
    match kind {
        Kind::Create => CREATE,
        Kind::Update => UPDATE,
        Kind::Delete => DELETE,
    }
}

/// Whether the stack is in any operation that sends requests at all (REVIEW_IN_PROGRESS sends none).
pub(crate) fn in_progress(stack_status: &str) -> bool {
    stack_status.ends_with("_IN_PROGRESS") && stack_status != "REVIEW_IN_PROGRESS"
}

/// Whether CloudFormation, showing `stack_status` and the resource `resource_status`, waits for a `kind` request.
pub(crate) fn awaits(kind: Kind, stack_status: &str, resource_status: &str) -> bool {
    table(kind).iter().any(|(stack, resources)| *stack == stack_status && resources.contains(&resource_status))
}

/// Whether a stack in `stack_status` may be deleting a physical id that is no longer its resource's (the
/// resource a replacement left behind, or the replacement a rolled-back update made).
pub(crate) fn cleaning_up(stack_status: &str) -> bool {
    matches!(stack_status, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" | "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_type_is_awaited_only_with_its_own_resource_status() {
        assert!(awaits(Kind::Create, "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS"));
        assert!(awaits(Kind::Create, "UPDATE_IN_PROGRESS", "CREATE_IN_PROGRESS"), "a resource an update adds");
        assert!(awaits(Kind::Update, "UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"));
        assert!(awaits(Kind::Update, "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_IN_PROGRESS"));
        assert!(awaits(Kind::Update, "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"));
        for stack in ["DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"] {
            assert!(awaits(Kind::Delete, stack, "DELETE_IN_PROGRESS"), "{stack}");
        }
        for stack in ["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"] {
            assert!(awaits(Kind::Delete, stack, "DELETE_IN_PROGRESS"), "{stack}");
        }
        assert!(awaits(Kind::Delete, "ROLLBACK_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"));
    }

    #[test]
    fn a_resource_whose_own_status_shows_no_such_operation_is_not_awaited() {
        // The stack updates something else: this resource is untouched (UPDATE_COMPLETE or CREATE_COMPLETE).
        for resource in ["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_IN_PROGRESS"] {
            assert!(!awaits(Kind::Delete, "UPDATE_IN_PROGRESS", resource), "{resource}");
        }
        assert!(!awaits(Kind::Update, "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"));
        assert!(!awaits(Kind::Update, "UPDATE_IN_PROGRESS", "CREATE_IN_PROGRESS"));
        assert!(!awaits(Kind::Create, "UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"));
        assert!(!awaits(Kind::Create, "UPDATE_ROLLBACK_IN_PROGRESS", "CREATE_IN_PROGRESS"), "rollbacks never create");
        assert!(!awaits(Kind::Update, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_IN_PROGRESS"));
        assert!(!awaits(Kind::Delete, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE"));
        assert!(!awaits(Kind::Delete, "DELETE_IN_PROGRESS", "DELETE_COMPLETE"), "answered already");
    }

    #[test]
    fn no_request_is_awaited_in_review_or_when_done() {
        for stack in ["REVIEW_IN_PROGRESS", "CREATE_COMPLETE", "UPDATE_COMPLETE", "ROLLBACK_COMPLETE", "DELETE_FAILED"]
        {
            for kind in [Kind::Create, Kind::Update, Kind::Delete] {
                for resource in ["CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS"] {
                    assert!(!awaits(kind, stack, resource), "{stack} {resource}");
                }
            }
        }
        assert!(!in_progress("REVIEW_IN_PROGRESS") && !in_progress("UPDATE_COMPLETE"));
        assert!(in_progress("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"));
        assert!(cleaning_up("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS") && !cleaning_up("DELETE_IN_PROGRESS"));
    }
}
