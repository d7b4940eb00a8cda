//! What CloudFormation must show for each request, and what is refused.
use super::*;
use serde_json::json;

const STACK: &str = "arn:aws:cloudformation:us-east-1:111122223333:stack/member/guid";
const TYPE: &str = "Custom::SecurityHubMemberAccount";
const MEMBER: &str = "111122223333";
const OLD: &str = "444455556666";

fn types() -> BTreeSet<String> {
    BTreeSet::from([TYPE.to_owned()])
}

fn expected<'a>(action: &'a Action, types: &'a BTreeSet<String>) -> Expectation<'a> {
    Expectation { stack_id: STACK, logical_id: "Member", resource_type: TYPE, action, resource_types: types }
}

fn seen(stack: &str, resource: &str, physical_id: Option<&str>) -> Seen {
    let resource = SeenResource {
        resource_type: TYPE.to_owned(),
        physical_id: physical_id.map(str::to_owned),
        status: resource.to_owned(),
    };
    Seen { stack_status: Some(stack.to_owned()), parameters: BTreeMap::new(), resource: Some(resource) }
}

fn update(physical_id: &str) -> Action {
    Action::Update { physical_id: physical_id.to_owned(), old_properties: json!({}) }
}

fn delete(physical_id: &str) -> Action {
    Action::Delete { physical_id: physical_id.to_owned() }
}

fn decide(action: &Action, seen: &Seen) -> Result<Awaited, OriginRefusal> {
    let types = types();
    check(&expected(action, &types), seen)
}

#[test]
fn each_request_while_cloudformation_waits_for_it() {
    let cases = [
        (Action::Create, seen("CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", None)),
        (Action::Create, seen("UPDATE_IN_PROGRESS", "CREATE_IN_PROGRESS", None)),
        (update(MEMBER), seen("UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", Some(MEMBER))),
        (update(MEMBER), seen("UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_IN_PROGRESS", Some(MEMBER))),
        (delete(MEMBER), seen("DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS", Some(MEMBER))),
        (delete(MEMBER), seen("ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS", Some(MEMBER))),
        (delete(MEMBER), seen("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "DELETE_IN_PROGRESS", Some(MEMBER))),
    ];
    for (action, seen) in cases {
        assert_eq!(decide(&action, &seen), Ok(Awaited::Yes), "{action:?} {seen:?}");
    }
}

#[test]
fn a_resource_whose_own_status_shows_no_such_request_is_refused() {
    // The stack updates something else: a forged Delete of this resource, or an Update of an untouched one.
    let refused = decide(&delete(MEMBER), &seen("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", Some(MEMBER))).unwrap_err();
    assert!(matches!(refused, OriginRefusal::NotAwaited { request: "Delete", .. }), "{refused}");
    assert!(refused.to_string().starts_with("RequestType: CloudFormation is not waiting for a Delete"), "{refused}");
    assert!(refused.to_string().contains("UPDATE_COMPLETE, the stack UPDATE_IN_PROGRESS"), "{refused}");
    let refused = decide(&update(MEMBER), &seen("UPDATE_IN_PROGRESS", "CREATE_COMPLETE", Some(MEMBER))).unwrap_err();
    assert!(matches!(refused, OriginRefusal::NotAwaited { request: "Update", .. }), "{refused}");
    let refused = decide(&Action::Create, &seen("UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", Some(MEMBER)));
    assert!(matches!(refused, Err(OriginRefusal::NotAwaited { request: "Create", .. })));
    // A cleanup deletes other resources; this one, UPDATE_COMPLETE under its own id, is not being deleted.
    let cleanup = seen("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE", Some(MEMBER));
    assert!(matches!(decide(&delete(MEMBER), &cleanup), Err(OriginRefusal::NotAwaited { .. })));
}

#[test]
fn a_replaced_id_is_deleted_only_during_cleanup_and_only_as_the_events_show() {
    for status in ["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"] {
        let awaited = decide(&delete(OLD), &seen(status, "UPDATE_COMPLETE", Some(MEMBER)));
        assert_eq!(awaited, Ok(Awaited::IfEventsShowDelete { physical_id: OLD.to_owned() }), "{status}");
    }
    let refused = decide(&delete(OLD), &seen("DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS", Some(MEMBER))).unwrap_err();
    assert!(matches!(refused, OriginRefusal::OtherPhysicalId { .. }), "{refused}");
    let refused = decide(&update(OLD), &seen("UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", Some(MEMBER)));
    assert!(matches!(refused, Err(OriginRefusal::OtherPhysicalId { .. })));
    let none = decide(&update(MEMBER), &seen("UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", None)).unwrap_err();
    assert!(none.to_string().contains("not created yet"), "{none}");
}

#[test]
fn no_operation_in_progress_is_refused() {
    for status in ["CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"] {
        let refused = decide(&delete(MEMBER), &seen(status, "DELETE_IN_PROGRESS", Some(MEMBER))).unwrap_err();
        assert_eq!(refused, OriginRefusal::NotInProgress(status.to_owned()));
    }
}

#[test]
fn a_stack_or_resource_that_is_not_there_or_of_another_type() {
    let none = Seen::default();
    assert!(matches!(decide(&Action::Create, &none), Err(OriginRefusal::NoStack(_))));
    let no_resource = Seen { stack_status: Some("CREATE_IN_PROGRESS".into()), ..Seen::default() };
    assert!(matches!(decide(&Action::Create, &no_resource), Err(OriginRefusal::NoResource(_))));
    let mut bucket = seen("DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS", Some(MEMBER));
    if let Some(resource) = bucket.resource.as_mut() {
        resource.resource_type = "AWS::S3::Bucket".into();
    }
    let refused = decide(&delete(MEMBER), &bucket).unwrap_err();
    assert!(refused.to_string().starts_with("ResourceType: the stack's Member is a AWS::S3::Bucket"), "{refused}");
}

#[test]
fn only_the_configured_types_are_served() {
    let action = Action::Create;
    let types = types();
    let other = Expectation { resource_type: "Custom::Other", ..expected(&action, &types) };
    let refused = check(&other, &seen("CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", None)).unwrap_err();
    assert!(matches!(refused, OriginRefusal::NotServed { .. }), "{refused}");
    assert!(refused.to_string().contains("RESOURCE_TYPES: Custom::SecurityHubMemberAccount"), "{refused}");
    let generic_types = BTreeSet::from([TYPE.to_owned(), GENERIC_CUSTOM_RESOURCE_TYPE.to_owned()]);
    let generic = Expectation { resource_type: GENERIC_CUSTOM_RESOURCE_TYPE, ..expected(&action, &generic_types) };
    let mut held = seen("CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", None);
    if let Some(resource) = held.resource.as_mut() {
        resource.resource_type = GENERIC_CUSTOM_RESOURCE_TYPE.into();
    }
    assert_eq!(check(&generic, &held), Ok(Awaited::Yes));
    assert!(matches!(check(&expected(&action, &types), &held), Err(OriginRefusal::OtherType { .. })));
}

#[test]
fn a_cleanup_may_show_the_resource_as_the_generic_custom_type() {
    let mut cleanup = seen("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "DELETE_IN_PROGRESS", Some(MEMBER));
    if let Some(resource) = cleanup.resource.as_mut() {
        resource.resource_type = GENERIC_CUSTOM_RESOURCE_TYPE.into();
    }
    assert_eq!(decide(&delete(MEMBER), &cleanup), Ok(Awaited::Yes));
    // Only there: an Update, or a Delete outside a cleanup, needs the type itself.
    let mut deleting = cleanup.clone();
    deleting.stack_status = Some("DELETE_IN_PROGRESS".into());
    assert!(matches!(decide(&delete(MEMBER), &deleting), Err(OriginRefusal::OtherType { .. })));
}
