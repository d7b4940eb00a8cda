//! Which marks are read, and which members are reported: from listings and marks alone.
use super::*;
use crate::enrollment::accounts::Owner;

const ADMIN: &str = "111111111111";
const OTHER_ADMIN: &str = "333333333333";
const OURS: &str = "222222222222";
const THEIRS: &str = "444444444444";
const R1: &str = "us-east-1";
const R2: &str = "eu-west-1";
const STACK: &str = "arn:aws:cloudformation:us-east-1:111111111111:stack/members/1";

fn id(account: &str) -> AccountId {
    AccountId::parse(account).unwrap()
}

fn members(listed: &[(&str, &str)]) -> Listed {
    Listed::Members(listed.iter().map(|(account, status)| (id(account), status.to_string())).collect())
}

fn listings(regions: Vec<(&str, Listed)>) -> Listings {
    Listings { administrator: id(ADMIN), regions: regions.into_iter().map(|(r, l)| (r.to_owned(), l)).collect() }
}

fn mark(administrator: &str, regions: &[&str]) -> Mark {
    Mark {
        administrator: id(administrator),
        owner: Owner { stack_id: STACK.to_owned(), logical_id: "Member".to_owned() },
        regions: regions.iter().map(|r| r.to_string()).collect(),
        member_role_name: "OrganizationAccountAccessRole".to_owned(),
        enable_default_standards: true,
    }
}

fn active(accounts: &[&str]) -> BTreeMap<AccountId, Standing> {
    accounts.iter().map(|account| (id(account), Standing::Active)).collect()
}

#[test]
fn statuses_are_read_as_the_api_reference_names_them() {
    assert_eq!(Status::of(Some("Enabled"), Some(Standing::Active)), None);
    assert_eq!(Status::of(Some("ASSOCIATED"), None), None, "the name before November 2020");
    assert_eq!(Status::of(Some("Resigned"), None), Some(Status::Resigned));
    assert_eq!(Status::of(Some("REMOVED"), None), Some(Status::Removed));
    assert_eq!(Status::of(Some("Deleted"), None), Some(Status::Deleted));
    assert_eq!(Status::of(Some("ACCOUNT_SUSPENDED"), None), Some(Status::AccountSuspended));
    assert_eq!(Status::of(None, Some(Standing::Active)), Some(Status::Missing));
    assert_eq!(Status::of(Some("Paused"), None), Some(Status::Other("Paused".to_owned())));
    // Security Hub may still list a closed account Enabled: Organizations says otherwise.
    assert_eq!(Status::of(Some("Enabled"), Some(Standing::Suspended)), Some(Status::AccountSuspended));
}

#[test]
fn only_members_that_can_answer_are_healed() {
    for status in [Status::Resigned, Status::Removed, Status::Deleted, Status::Missing, Status::Invited] {
        assert!(status.heals(), "{status:?}");
    }
    assert!(!Status::AccountSuspended.heals());
    assert!(!Status::Other("Paused".to_owned()).heals());
}

#[test]
fn only_accounts_not_enabled_everywhere_listed_are_worth_a_mark_read() {
    let admin = listings(vec![
        (R1, members(&[(OURS, "Enabled"), (THEIRS, "Resigned")])),
        (R2, members(&[(OURS, "Enabled")])),
        ("ap-south-1", Listed::Throttled),
        ("sa-east-1", Listed::NoHub),
    ]);
    let standing = active(&[OURS, THEIRS, "555555555555", ADMIN]);
    let found = candidates(std::slice::from_ref(&admin), &standing);
    assert_eq!(found, BTreeSet::from([id(THEIRS), id("555555555555")]), "not listed: maybe deleted");
    let mut closed = standing.clone();
    closed.insert(id(OURS), Standing::Suspended);
    assert!(candidates(&[admin], &closed).contains(&id(OURS)), "listed Enabled, yet closed");
}

#[test]
fn a_member_that_left_is_reported_where_its_mark_says_it_was() {
    let admin = listings(vec![
        (R1, members(&[(OURS, "Resigned"), (THEIRS, "Resigned")])),
        (R2, members(&[])),
        ("ap-south-1", members(&[(OURS, "Removed")])),
    ]);
    let marks = BTreeMap::from([(id(OURS), vec![mark(ADMIN, &[R1, R2])])]);
    let found = departed(&admin, &active(&[OURS, THEIRS]), &marks);
    assert_eq!(found.len(), 1, "another tool's member is not ours");
    assert_eq!(
        found[0].departures,
        [
            Departure { region: R1.to_owned(), status: Status::Resigned },
            Departure { region: R2.to_owned(), status: Status::Missing },
        ]
    );
}

#[test]
fn regions_not_read_to_the_end_say_nothing() {
    let admin = listings(vec![
        (R1, Listed::Throttled),
        (R2, Listed::Failed(AwsError::new("ListMembers", "boom"))),
        ("ap-south-1", Listed::OutOfTime),
        ("sa-east-1", Listed::NoHub),
    ]);
    let marks = BTreeMap::from([(id(OURS), vec![mark(ADMIN, &[R1, R2, "ap-south-1", "sa-east-1"])])]);
    assert_eq!(departed(&admin, &active(&[OURS]), &marks), []);
    assert_eq!(hubs_gone(&admin, &marks), BTreeSet::from(["sa-east-1".to_owned()]));
    let unreached = Listings { administrator: id(ADMIN), regions: BTreeMap::new() };
    assert_eq!(hubs_gone(&unreached, &marks), BTreeSet::new(), "nothing is known of an administrator not reached");
}

#[test]
fn another_administrator_s_mark_is_that_administrator_s_business() {
    let admin = listings(vec![(R1, members(&[]))]);
    let marks = BTreeMap::from([(id(OURS), vec![mark(OTHER_ADMIN, &[R1])])]);
    assert_eq!(departed(&admin, &active(&[OURS]), &marks), []);
}

#[test]
fn a_closed_account_is_reported_suspended_wherever_it_is_listed() {
    let admin = listings(vec![(R1, members(&[(OURS, "Enabled")]))]);
    let marks = BTreeMap::from([(id(OURS), vec![mark(ADMIN, &[R1])])]);
    let standing = BTreeMap::from([(id(OURS), Standing::Suspended)]);
    let found = departed(&admin, &standing, &marks);
    assert_eq!(found[0].departures[0].status, Status::AccountSuspended);
}
