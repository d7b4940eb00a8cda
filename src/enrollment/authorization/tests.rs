//! Who may ask for what: the administrators, the channel, the requesting account, and the harms a request carries.
use super::*;
use serde_json::json;

const PROVIDER: &str = "999999999999";
const ADMIN: &str = "111111111111";
const MEMBER: &str = "222222222222";
const TOPIC: &str = "arn:aws:sns:us-east-1:999999999999:securityhub-member-account";
const OWN_TOPIC: &str = "arn:aws:sns:us-east-1:999999999999:management-requests";

fn id(text: &str) -> AccountId {
    AccountId::parse(text).unwrap()
}

fn set(ids: &[&str]) -> BTreeSet<AccountId> {
    ids.iter().map(|text| id(text)).collect()
}

fn props(value: serde_json::Value) -> Properties {
    Properties::parse(&value).unwrap()
}

fn sns(topic: &str) -> Channel {
    Channel::Sns { topic_arn: Some(topic.to_owned()) }
}

fn decide_via(
    channel: &Channel,
    requester: &str,
    properties: &[&Properties],
    physical: Option<&str>,
) -> Result<(), Refusal> {
    let (administrators, trusted, topics) = (set(&[ADMIN]), set(&[PROVIDER]), BTreeSet::from([OWN_TOPIC.to_owned()]));
    let (requester, physical) = (id(requester), physical.map(id));
    let claim =
        Scope { requester: &requester, channel, properties: properties.to_vec(), physical_account: physical.as_ref() };
    authorize(Policy { administrators: &administrators, trusted: &trusted, trusted_topics: &topics }, &claim)
}

fn decide(requester: &str, properties: &[&Properties], physical: Option<&str>) -> Result<(), Refusal> {
    decide_via(&Channel::Direct, requester, properties, physical)
}

#[test]
fn no_allowlist_refuses_everything_and_names_the_variable() {
    let member = props(json!({"AdministratorAccountId": ADMIN, "AccountId": MEMBER}));
    let (none, trusted, topics, requester) = (BTreeSet::new(), set(&[PROVIDER]), BTreeSet::new(), id(PROVIDER));
    let claim =
        Scope { requester: &requester, channel: &Channel::Direct, properties: vec![&member], physical_account: None };
    let policy = Policy { administrators: &none, trusted: &trusted, trusted_topics: &topics };
    let refusal = authorize(policy, &claim).unwrap_err();
    assert_eq!(refusal, Refusal::NoAdministrators);
    assert!(refusal.to_string().contains("ADMINISTRATOR_ACCOUNT_IDS"));
}

#[test]
fn another_administrator_is_refused_in_new_or_old_properties() {
    let ours = props(json!({"AdministratorAccountId": ADMIN, "AccountId": MEMBER}));
    let theirs = props(json!({"AdministratorAccountId": "333333333333", "AccountId": MEMBER}));
    assert_eq!(decide(PROVIDER, &[&theirs], None), Err(Refusal::Administrator(id("333333333333"))));
    assert_eq!(decide(PROVIDER, &[&ours, &theirs], Some(MEMBER)), Err(Refusal::Administrator(id("333333333333"))));
    assert_eq!(decide(PROVIDER, &[&ours], Some(MEMBER)), Ok(()));
}

#[test]
fn a_trusted_stack_may_create_and_close_accounts_and_enroll_any() {
    let created = props(json!({"AdministratorAccountId": ADMIN, "AccountName": "W", "Email": "w@example.com",
            "ParentId": "ou-ab12-abcdefgh", "CloseAccountOnDelete": "true"}));
    assert_eq!(decide(PROVIDER, &[&created], None), Ok(()));
    let other = props(json!({"AdministratorAccountId": ADMIN, "AccountId": "444444444444"}));
    assert_eq!(decide(PROVIDER, &[&other], Some("444444444444")), Ok(()));
}

#[test]
fn an_untrusted_stack_acts_only_on_its_own_account() {
    let own = props(json!({"AdministratorAccountId": ADMIN, "AccountId": MEMBER}));
    assert_eq!(decide(MEMBER, &[&own], Some(MEMBER)), Ok(()));
    let other = props(json!({"AdministratorAccountId": ADMIN, "AccountId": "444444444444"}));
    let refusal = decide(MEMBER, &[&other], None).unwrap_err();
    let requester = Requester { account: id(MEMBER), channel: Channel::Direct };
    assert_eq!(refusal, Refusal::OtherAccount { requester, account: id("444444444444") });
    // A forged Delete of another account's resource, with the stack's own account in the properties.
    let refusal = decide(MEMBER, &[&own], Some("444444444444")).unwrap_err();
    assert!(matches!(refusal, Refusal::OtherAccount { .. }), "{refusal}");
}

#[test]
fn an_untrusted_stack_may_not_create_or_close_accounts() {
    let created = props(json!({"AdministratorAccountId": ADMIN, "AccountName": "W", "Email": "w@example.com"}));
    let refusal = decide(MEMBER, &[&created], None).unwrap_err();
    let requester = Requester { account: id(MEMBER), channel: Channel::Direct };
    assert_eq!(refusal, Refusal::AccountManagement { requester, field: "AccountName" });
    // Closing is only valid for created accounts, so an untrusted stack's old properties may carry it.
    let mut closing = props(json!({"AdministratorAccountId": ADMIN, "AccountId": MEMBER}));
    closing.close_account_on_delete = true;
    let refusal = decide(MEMBER, &[&closing], Some(MEMBER)).unwrap_err();
    assert!(refusal.to_string().starts_with("CloseAccountOnDelete: "), "{refusal}");
}

#[test]
fn through_sns_a_trusted_accounts_stack_is_not_trusted() {
    // What anyone allowed to publish to the provider's topic could send: the management account's StackId.
    let other = props(json!({"AdministratorAccountId": ADMIN, "AccountId": MEMBER}));
    let refusal = decide_via(&sns(TOPIC), PROVIDER, &[&other], None).unwrap_err();
    assert!(matches!(refusal, Refusal::OtherAccount { .. }), "{refusal}");
    assert!(refusal.to_string().contains(&format!("published to SNS topic {TOPIC}")), "{refusal}");
    let created = props(json!({"AdministratorAccountId": ADMIN, "AccountName": "W", "Email": "w@example.com"}));
    let refusal = decide_via(&Channel::Sns { topic_arn: None }, PROVIDER, &[&created], None).unwrap_err();
    assert!(refusal.to_string().starts_with("AccountName: a request published to SNS naming"), "{refusal}");
    // The stack's own account, through SNS, as a StackSet instance asks.
    let own = props(json!({"AdministratorAccountId": ADMIN, "AccountId": MEMBER}));
    assert_eq!(decide_via(&sns(TOPIC), MEMBER, &[&own], Some(MEMBER)), Ok(()));
}

#[test]
fn a_listed_topic_is_as_trusted_as_a_direct_invocation() {
    let created = props(json!({"AdministratorAccountId": ADMIN, "AccountName": "W", "Email": "w@example.com"}));
    assert_eq!(decide_via(&sns(OWN_TOPIC), PROVIDER, &[&created], None), Ok(()));
    // The topic trusts no account by itself: an untrusted account's stack stays untrusted through it.
    let other = props(json!({"AdministratorAccountId": ADMIN, "AccountId": "444444444444"}));
    assert!(decide_via(&sns(OWN_TOPIC), MEMBER, &[&other], None).is_err());
    let (trusted, topics) = (set(&[PROVIDER]), BTreeSet::from([OWN_TOPIC.to_owned()]));
    let policy = Policy { administrators: &trusted, trusted: &trusted, trusted_topics: &topics };
    assert!(is_trusted(policy, &id(PROVIDER), &Channel::Direct));
    assert!(is_trusted(policy, &id(PROVIDER), &sns(OWN_TOPIC)));
    assert!(!is_trusted(policy, &id(PROVIDER), &sns(TOPIC)));
    assert!(!is_trusted(policy, &id(PROVIDER), &Channel::Sns { topic_arn: None }));
    assert!(!is_trusted(policy, &id(MEMBER), &Channel::Direct));
}

fn member(extra: serde_json::Value) -> Properties {
    let mut value = json!({"AdministratorAccountId": ADMIN, "AccountId": MEMBER});
    if let (Some(map), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
        map.extend(extra.clone());
    }
    props(value)
}

#[test]
fn a_delete_harms_by_disabling_the_hub_or_closing_the_account() {
    assert_eq!(harms(Asked::Delete, &member(json!({}))), []);
    assert_eq!(harms(Asked::Delete, &member(json!({"OnDelete": "Retain"}))), []);
    assert_eq!(harms(Asked::Delete, &member(json!({"OnDelete": "DisableSecurityHub"}))), [Harm::DisableSecurityHub]);
    let mut closing = member(json!({"OnDelete": "DisableSecurityHub"}));
    closing.close_account_on_delete = true;
    assert_eq!(harms(Asked::Delete, &closing), [Harm::DisableSecurityHub, Harm::CloseAccount]);
    assert_eq!(harms(Asked::Create, &closing), [], "a Create changes nothing that its Delete would not");
}

#[test]
fn an_update_harms_by_changing_the_administrator_or_dropping_regions() {
    let old = member(json!({"Regions": "us-east-1,eu-west-1"}));
    let update = |new: &Properties| harms(Asked::Update { old: Some(&old) }, new);
    assert_eq!(update(&member(json!({"Regions": "eu-west-1,us-east-1"}))), []);
    assert_eq!(update(&member(json!({"Regions": "eu-west-1,us-east-1,ap-south-1"}))), [], "adding is no harm");
    assert_eq!(update(&member(json!({"Regions": "us-east-1"}))), [Harm::DroppedRegions]);
    assert_eq!(update(&member(json!({}))), [Harm::DroppedRegions], "from a list to discovered");
    let disabling = member(json!({"Regions": "us-east-1", "OnDelete": "DisableSecurityHub"}));
    assert_eq!(update(&disabling), [Harm::DisableSecurityHub, Harm::DroppedRegions]);
    let moved = member(json!({"AdministratorAccountId": "333333333333", "Regions": "us-east-1,eu-west-1"}));
    assert_eq!(update(&moved), [Harm::AdministratorChange]);
    let discovered = member(json!({}));
    let listed = harms(Asked::Update { old: Some(&discovered) }, &member(json!({"Regions": "us-east-1"})));
    assert_eq!(listed, [Harm::DroppedRegions], "from discovered to a list");
    assert_eq!(harms(Asked::Update { old: None }, &moved), [], "unreadable old properties: a replacement");
}
