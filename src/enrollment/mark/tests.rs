//! The mark as tags and back, what writing and removing it changes, and the calls they make.
use super::*;
use aws_sdk_organizations::operation::{
    list_tags_for_resource::ListTagsForResourceOutput, tag_resource::TagResourceOutput,
    untag_resource::UntagResourceOutput,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use std::sync::{Arc, Mutex};

const ADMIN: &str = "111111111111";
const OTHER_ADMIN: &str = "333333333333";
const MEMBER: &str = "222222222222";
const STACK: &str = "arn:aws:cloudformation:eu-west-1:444444444444:stack/members/4f9c1c6e-0b5a-11ef-9f8e-0a1b2c3d4e5f";

fn owner() -> Owner {
    Owner { stack_id: STACK.to_owned(), logical_id: "Member".to_owned() }
}

fn mark(administrator: &str, regions: &[&str]) -> Mark {
    Mark {
        administrator: AccountId::parse(administrator).unwrap(),
        owner: owner(),
        regions: regions.iter().map(|region| region.to_string()).collect(),
        member_role_name: "OrganizationAccountAccessRole".to_owned(),
        enable_default_standards: false,
    }
}

fn every_region() -> Vec<String> {
    let names = ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"];
    let mut regions: Vec<String> = names
        .iter()
        .flat_map(|area| {
            ["east", "west", "south", "north", "central", "southeast", "northeast"].map(|d| format!("{area}-{d}-1"))
        })
        .collect();
    regions.sort();
    regions
}

#[test]
fn a_mark_reads_back_as_it_was_written() {
    let written = mark(ADMIN, &["eu-west-1", "us-east-1"]);
    let tags = written.tags().unwrap();
    assert_eq!(tags[&format!("{KEY_PREFIX}{ADMIN}:stack-id")], STACK);
    assert_eq!(tags[&format!("{KEY_PREFIX}{ADMIN}:regions")], "eu-west-1,us-east-1");
    assert_eq!(
        tags[&format!("{KEY_PREFIX}{ADMIN}:settings")],
        "MemberRoleName=OrganizationAccountAccessRole;EnableDefaultStandards=false"
    );
    assert!(tags.keys().all(|key| key.len() <= 128), "Organizations tag keys are at most 128 characters");
    assert_eq!(marks_in(&tags), [written]);
}

#[test]
fn many_regions_spread_over_several_values_of_at_most_256_characters() {
    let regions = every_region();
    let written = Mark { regions: regions.clone(), ..mark(ADMIN, &[]) };
    let tags = written.tags().unwrap();
    assert!(tags.values().all(|value| value.chars().count() <= MAX_VALUE_CHARS));
    assert!(tags.contains_key(&format!("{KEY_PREFIX}{ADMIN}:regions-2")), "{tags:?}");
    assert_eq!(marks_in(&tags)[0].regions, regions);
}

#[test]
fn each_administrator_has_a_mark_of_its_own_and_other_tags_are_ignored() {
    let mut tags = mark(ADMIN, &["us-east-1"]).tags().unwrap();
    tags.extend(mark(OTHER_ADMIN, &["eu-west-1"]).tags().unwrap());
    tags.insert("team".to_owned(), "security".to_owned());
    tags.insert("securityhub-member-account:stack-id".to_owned(), STACK.to_owned());
    let marks = marks_in(&tags);
    assert_eq!(marks.iter().map(|m| m.administrator.as_str()).collect::<Vec<_>>(), [ADMIN, OTHER_ADMIN]);
}

#[test]
fn an_unreadable_mark_is_left_out() {
    let good = mark(ADMIN, &["us-east-1"]).tags().unwrap();
    for (field, value) in [
        ("stack-id", "not-a-stack"),
        ("logical-id", "Has Spaces"),
        ("regions", "us-east-1,Mars"),
        ("settings", "MemberRoleName=;EnableDefaultStandards=true"),
        ("settings", "MemberRoleName=Role;EnableDefaultStandards=maybe"),
    ] {
        let mut tags = good.clone();
        tags.insert(format!("{KEY_PREFIX}{ADMIN}:{field}"), value.to_owned());
        assert_eq!(marks_in(&tags), [], "{field}: {value}");
    }
    let mut missing = good.clone();
    missing.remove(&format!("{KEY_PREFIX}{ADMIN}:regions"));
    assert_eq!(marks_in(&missing), []);
    let not_an_account = Tags::from([(format!("{KEY_PREFIX}admin:stack-id"), STACK.to_owned())]);
    assert_eq!(marks_in(&not_an_account), []);
}

#[test]
fn a_stack_id_too_long_for_a_tag_value_is_no_mark() {
    let long = Mark { owner: Owner { stack_id: "s".repeat(257), logical_id: "Member".to_owned() }, ..mark(ADMIN, &[]) };
    assert_eq!(long.tags(), Err(MarkError::TooLong("the StackId")));
}

#[test]
fn writing_sets_what_differs_and_takes_off_what_is_no_longer_the_resources() {
    let before = Mark { regions: every_region(), ..mark(ADMIN, &[]) }.tags().unwrap();
    let after = mark(ADMIN, &["us-east-1"]);
    let changes = changes(&before, &after).unwrap();
    let extra: Vec<String> = before.keys().filter(|key| key.contains(":regions-")).cloned().collect();
    assert!(!extra.is_empty());
    assert_eq!(changes.remove, extra, "fewer regions, one value");
    assert_eq!(changes.set.keys().collect::<Vec<_>>(), [&format!("{KEY_PREFIX}{ADMIN}:regions")]);
    assert_eq!(super::changes(&after.tags().unwrap(), &after).unwrap(), Changes::default(), "nothing to do");
}

#[test]
fn a_new_administrator_s_mark_replaces_the_old_one_of_the_same_resource_only() {
    let mut before = mark(OTHER_ADMIN, &["us-east-1"]).tags().unwrap();
    let someone_else = Mark {
        owner: Owner { stack_id: STACK.to_owned(), logical_id: "Other".to_owned() },
        ..mark("555555555555", &["us-east-1"])
    };
    before.extend(someone_else.tags().unwrap());
    let changes = changes(&before, &mark(ADMIN, &["us-east-1"])).unwrap();
    assert!(changes.remove.iter().all(|key| key.starts_with(&format!("{KEY_PREFIX}{OTHER_ADMIN}:"))), "{changes:?}");
    assert_eq!(changes.remove.len(), 4);
}

#[test]
fn a_delete_takes_off_only_its_own_mark() {
    let tags = mark(ADMIN, &["us-east-1"]).tags().unwrap();
    let admin = AccountId::parse(ADMIN).unwrap();
    assert_eq!(removal(&tags, &admin, &owner()).len(), 4);
    let other = Owner { stack_id: STACK.to_owned(), logical_id: "Replacement".to_owned() };
    assert_eq!(removal(&tags, &admin, &other), Vec::<String>::new(), "another resource enrolled it since");
}

fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_organizations, RuleMode::MatchAny, rules.iter().copied(), |config| config.retry_config(
        aws_config::retry::RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(1))
    ))
}

fn listed(tags: Tags) -> Rule {
    mock!(Client::list_tags_for_resource).then_output(move || {
        let tags = tags.iter().map(|(key, value)| Tag::builder().key(key).value(value).build().unwrap());
        ListTagsForResourceOutput::builder().set_tags(Some(tags.collect())).build()
    })
}

#[tokio::test]
async fn write_tags_the_account_once_and_removes_the_old_administrator_s_mark() {
    let tagged = Arc::new(Mutex::new(Vec::new()));
    let seen = tagged.clone();
    let tag = mock!(Client::tag_resource)
        .match_requests(move |request| {
            seen.lock().unwrap().extend(request.tags().iter().map(|tag| tag.key().to_owned()));
            request.resource_id() == Some(MEMBER)
        })
        .then_output(|| TagResourceOutput::builder().build());
    let untag = mock!(Client::untag_resource)
        .match_requests(|request| request.tag_keys().iter().all(|key| key.contains(OTHER_ADMIN)))
        .then_output(|| UntagResourceOutput::builder().build());
    let list = listed(mark(OTHER_ADMIN, &["us-east-1"]).tags().unwrap());
    let org = client(&[&list, &tag, &untag]);
    write(&org, &AccountId::parse(MEMBER).unwrap(), &mark(ADMIN, &["us-east-1"])).await.unwrap();
    assert_eq!((tag.num_calls(), untag.num_calls()), (1, 1));
    assert_eq!(tagged.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn an_account_outside_the_organization_is_told_apart() {
    let outside = mock!(Client::list_tags_for_resource).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"TargetNotFoundException","Message":"We can't find it"}"#,
            ),
        )
    });
    let org = client(&[&outside]);
    let error = write(&org, &AccountId::parse(MEMBER).unwrap(), &mark(ADMIN, &["us-east-1"])).await.unwrap_err();
    assert!(matches!(error, MarkError::Aws(error) if error.is_outside_organization()));
}
