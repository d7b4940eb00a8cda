//! The Delete of a replaced physical id during a cleanup, bound to the stack's events.
//!
//! In `UPDATE_COMPLETE_CLEANUP_IN_PROGRESS` CloudFormation deletes the physical resource a replacement left
//! behind ("CloudFormation creates the new resources first and then deletes the old resources": User Guide,
//! "Stack status codes"; for a custom resource, a new physical id in the Update's answer is the replacement:
//! aws/aws-cdk PR 4458 quotes the guide), and in `UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS` what a failed
//! update made. The resource's own physical id is then another one, so only the events tie the Delete to the
//! operation: DescribeStackEvents answers newest first (API Reference, DescribeStackEvents: "in reverse
//! chronological order"), each event with its LogicalResourceId and PhysicalResourceId, and the stack's own
//! events carry the stack's ARN as PhysicalResourceId and `AWS::CloudFormation::Stack` as ResourceType (real
//! output in serverless/serverless issue 9144, and in a rollback cleanup quoted in docs/origin-statuses.md).
//! The Delete is awaited when the newest event of that logical id and physical id, after the latest event of
//! the stack itself entering an `*_IN_PROGRESS` status (the current operation, or its cleanup phase), is
//! DELETE_IN_PROGRESS. The resource's type in those events is not compared: a rollback cleanup was seen to
//! report `AWS::CloudFormation::CustomResource` for a `Custom::` resource.

/// One stack event, as the check needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SeenEvent {
    pub(crate) logical_id: String,
    pub(crate) physical_id: String,
    pub(crate) resource_type: String,
    pub(crate) status: String,
}

const STACK_TYPE: &str = "AWS::CloudFormation::Stack";
const DELETE_IN_PROGRESS: &str = "DELETE_IN_PROGRESS";

impl SeenEvent {
    /// The stack itself entering an operation or a phase of one.
    fn starts_a_phase(&self, stack_id: &str) -> bool {
        self.resource_type == STACK_TYPE && self.physical_id == stack_id && self.status.ends_with("_IN_PROGRESS")
    }
}

/// Whether `events` (newest first) show CloudFormation deleting `physical_id` of `logical_id` right now, in the
/// current phase of the stack's operation.
pub(crate) fn delete_in_progress(events: &[SeenEvent], stack_id: &str, logical_id: &str, physical_id: &str) -> bool {
    for event in events {
        if event.starts_a_phase(stack_id) {
            return false;
        }
        if event.logical_id == logical_id && event.physical_id == physical_id {
            return event.status == DELETE_IN_PROGRESS;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str = "arn:aws:cloudformation:us-east-1:111122223333:stack/member/guid";
    const OLD: &str = "444455556666";
    const NEW: &str = "111122223333";

    fn stack(status: &str) -> SeenEvent {
        SeenEvent {
            logical_id: "member".into(),
            physical_id: STACK.into(),
            resource_type: STACK_TYPE.into(),
            status: status.into(),
        }
    }

    fn resource(logical_id: &str, physical_id: &str, status: &str) -> SeenEvent {
        SeenEvent {
            logical_id: logical_id.into(),
            physical_id: physical_id.into(),
            resource_type: "AWS::CloudFormation::CustomResource".into(),
            status: status.into(),
        }
    }

    /// A replacement's events, newest first: the Update answered a new id, then the cleanup deletes the old.
    fn replacement(then: &[SeenEvent]) -> Vec<SeenEvent> {
        let mut events = then.to_vec();
        events.extend([
            stack("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            resource("Member", NEW, "UPDATE_COMPLETE"),
            resource("Member", OLD, "UPDATE_IN_PROGRESS"),
            stack("UPDATE_IN_PROGRESS"),
            resource("Member", OLD, "CREATE_COMPLETE"),
            stack("CREATE_IN_PROGRESS"),
        ]);
        events
    }

    #[test]
    fn the_cleanup_delete_of_the_replaced_id_is_awaited() {
        let events = replacement(&[resource("Member", OLD, "DELETE_IN_PROGRESS")]);
        assert!(delete_in_progress(&events, STACK, "Member", OLD));
    }

    #[test]
    fn another_id_or_logical_id_or_a_finished_delete_is_not() {
        let events = replacement(&[resource("Member", OLD, "DELETE_IN_PROGRESS")]);
        assert!(!delete_in_progress(&events, STACK, "Member", "777788889999"), "an id the stack never had");
        assert!(!delete_in_progress(&events, STACK, "Other", OLD));
        let done =
            replacement(&[resource("Member", OLD, "DELETE_COMPLETE"), resource("Member", OLD, "DELETE_IN_PROGRESS")]);
        assert!(!delete_in_progress(&done, STACK, "Member", OLD), "answered already");
    }

    #[test]
    fn a_delete_of_an_earlier_operation_does_not_count() {
        // The cleanup has not reached the resource yet; an old operation once deleted that id.
        let mut events = replacement(&[]);
        events.push(resource("Member", OLD, "DELETE_IN_PROGRESS"));
        assert!(!delete_in_progress(&events, STACK, "Member", OLD));
        // Another stack's (a nested stack's) event with an _IN_PROGRESS status is no phase of this one.
        let nested = SeenEvent {
            physical_id: "arn:aws:cloudformation:us-east-1:111122223333:stack/nested/x".into(),
            ..stack("UPDATE_IN_PROGRESS")
        };
        let events =
            [nested, resource("Member", OLD, "DELETE_IN_PROGRESS"), stack("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")];
        assert!(delete_in_progress(&events, STACK, "Member", OLD));
        assert!(!delete_in_progress(&[], STACK, "Member", OLD), "no events: not shown");
    }
}
