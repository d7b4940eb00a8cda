//! The statuses a stack shows while CloudFormation waits for a custom resource, and what is refused.
use super::*;
use serde_json::json;

const STACK: &str = "arn:aws:cloudformation:us-east-1:111122223333:stack/member/guid";
const TYPE: &str = "Custom::SecurityHubMemberAccount";
const MEMBER: &str = "111122223333";

fn claimed(action: &Action) -> Claimed<'_> {
    Claimed { stack_id: STACK, logical_id: "Member", resource_type: TYPE, action }
}

fn seen(status: &str, physical_id: Option<&str>) -> Seen {
    Seen { stack_status: Some(status.to_owned()), resource: Some((TYPE.to_owned(), physical_id.map(str::to_owned))) }
}

fn update(physical_id: &str) -> Action {
    Action::Update { physical_id: physical_id.to_owned(), old_properties: json!({}) }
}

fn delete(physical_id: &str) -> Action {
    Action::Delete { physical_id: physical_id.to_owned() }
}

#[test]
fn create_while_the_stack_creates_or_updates() {
    for status in ["CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"] {
        assert_eq!(check(&claimed(&Action::Create), &seen(status, None)), Ok(()), "{status}");
    }
}

#[test]
fn update_and_delete_of_the_resource_s_own_physical_id() {
    let cases = [
        (update(MEMBER), "UPDATE_IN_PROGRESS"),
        (update(MEMBER), "UPDATE_ROLLBACK_IN_PROGRESS"),
        (delete(MEMBER), "DELETE_IN_PROGRESS"),
        (delete(MEMBER), "ROLLBACK_IN_PROGRESS"),
        (delete(MEMBER), "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
    ];
    for (action, status) in cases {
        assert_eq!(check(&claimed(&action), &seen(status, Some(MEMBER))), Ok(()), "{status}");
    }
}

#[test]
fn a_replaced_id_is_deleted_only_during_cleanup() {
    let old = delete("444455556666");
    for status in ["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"] {
        assert_eq!(check(&claimed(&old), &seen(status, Some(MEMBER))), Ok(()), "{status}");
    }
    let refused = check(&claimed(&old), &seen("DELETE_IN_PROGRESS", Some(MEMBER))).unwrap_err();
    assert!(matches!(refused, OriginRefusal::OtherPhysicalId { .. }), "{refused}");
    let refused = check(&claimed(&update("444455556666")), &seen("UPDATE_IN_PROGRESS", Some(MEMBER)));
    assert!(matches!(refused, Err(OriginRefusal::OtherPhysicalId { .. })));
}

#[test]
fn no_operation_in_progress_is_refused() {
    for status in ["CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"] {
        let refused = check(&claimed(&delete(MEMBER)), &seen(status, Some(MEMBER))).unwrap_err();
        assert_eq!(refused, OriginRefusal::NotInProgress(status.to_owned()));
    }
}

#[test]
fn a_stack_or_resource_that_is_not_there_or_of_another_type() {
    let none = Seen::default();
    assert!(matches!(check(&claimed(&Action::Create), &none), Err(OriginRefusal::NoStack(_))));
    let no_resource = Seen { stack_status: Some("CREATE_IN_PROGRESS".into()), resource: None };
    assert!(matches!(check(&claimed(&Action::Create), &no_resource), Err(OriginRefusal::NoResource(_))));
    let bucket = Seen {
        stack_status: Some("DELETE_IN_PROGRESS".into()),
        resource: Some(("AWS::S3::Bucket".into(), Some(MEMBER.into()))),
    };
    let refused = check(&claimed(&delete(MEMBER)), &bucket).unwrap_err();
    assert!(refused.to_string().starts_with("ResourceType: the stack's Member is a AWS::S3::Bucket"), "{refused}");
    let action = Action::Create;
    let not_custom = Claimed { resource_type: "AWS::S3::Bucket", ..claimed(&action) };
    assert!(matches!(check(&not_custom, &seen("CREATE_IN_PROGRESS", None)), Err(OriginRefusal::NotCustom(_))));
    let generic = Claimed { resource_type: "AWS::CloudFormation::CustomResource", ..claimed(&action) };
    let seen_generic = Seen {
        stack_status: Some("CREATE_IN_PROGRESS".into()),
        resource: Some(("AWS::CloudFormation::CustomResource".into(), None)),
    };
    assert_eq!(check(&generic, &seen_generic), Ok(()));
}
