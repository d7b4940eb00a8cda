//! The Update table of the contract (docs/design.md, "Update") and the Delete cases, row by row.
use super::*;
use serde_json::json;

const ADMIN: &str = "111111111111";
const OTHER_ADMIN: &str = "999999999999";
const MEMBER: &str = "222222222222";
const OTHER_MEMBER: &str = "333333333333";

fn props(value: Value) -> Properties {
    Properties::parse(&value).unwrap()
}

fn existing(member: &str, extra: Value) -> Properties {
    let mut value = json!({"AdministratorAccountId": ADMIN, "AccountId": member});
    value.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    props(value)
}

fn created(extra: Value) -> Properties {
    let mut value = json!({"AdministratorAccountId": ADMIN, "AccountName": "Workload", "Email": "w@example.com"});
    value.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    props(value)
}

fn id(text: &str) -> AccountId {
    AccountId::parse(text).unwrap()
}

fn regions(names: &[&str]) -> Option<Vec<String>> {
    Some(names.iter().map(|name| name.to_string()).collect())
}

#[test]
fn role_names_on_delete_and_service_timeout_change_nothing_in_aws() {
    let old = existing(MEMBER, json!({"Regions": "us-east-1"}));
    for change in [
        json!({"MemberRoleName": "AWSControlTowerExecution"}),
        json!({"AdministratorRoleName": "Audit"}),
        json!({"OnDelete": "Retain"}),
        json!({"EnableDefaultStandards": "false"}),
        json!({"ServiceTimeout": "60"}),
    ] {
        let mut new = change.clone();
        new["Regions"] = json!("us-east-1");
        let plan = update(Some(&old), &existing(MEMBER, new), MEMBER).unwrap();
        assert_eq!(plan, UpdatePlan::Unchanged { member: id(MEMBER) }, "{change}");
    }
}

#[test]
fn added_and_dropped_regions_are_joined_and_left_as_on_delete_says() {
    let old = existing(MEMBER, json!({"Regions": ["us-east-1", "eu-west-1"]}));
    let new = existing(MEMBER, json!({"Regions": ["us-east-1", "ap-south-1"]}));
    let plan = update(Some(&old), &new, MEMBER).unwrap();
    let leave = Leave::DroppedRegions { previous: regions(&["eu-west-1", "us-east-1"]), disable_hub: false };
    assert_eq!(plan, UpdatePlan::Change { member: id(MEMBER), leave });

    let disabling = existing(MEMBER, json!({"Regions": ["us-east-1"], "OnDelete": "DisableSecurityHub"}));
    let UpdatePlan::Change { leave: Leave::DroppedRegions { disable_hub, .. }, .. } =
        update(Some(&old), &disabling, MEMBER).unwrap()
    else {
        panic!("expected dropped regions")
    };
    assert!(disable_hub);

    let retaining = existing(MEMBER, json!({"Regions": ["us-east-1"], "OnDelete": "Retain"}));
    let plan = update(Some(&old), &retaining, MEMBER).unwrap();
    assert_eq!(plan, UpdatePlan::Change { member: id(MEMBER), leave: Leave::Nothing });
}

#[test]
fn from_discovered_to_listed_regions_leaves_wherever_the_administrator_has_a_hub() {
    let old = existing(MEMBER, json!({}));
    let new = existing(MEMBER, json!({"Regions": ["us-east-1"]}));
    let plan = update(Some(&old), &new, MEMBER).unwrap();
    let leave = Leave::DroppedRegions { previous: None, disable_hub: false };
    assert_eq!(plan, UpdatePlan::Change { member: id(MEMBER), leave });
}

#[test]
fn a_new_administrator_leaves_the_previous_one_everywhere_with_its_role() {
    let old = existing(MEMBER, json!({"AdministratorRoleName": "OldAudit", "Regions": ["eu-west-1"]}));
    let mut new = json!({"AdministratorAccountId": OTHER_ADMIN, "AccountId": MEMBER});
    new["Regions"] = json!(["eu-west-1"]);
    let plan = update(Some(&old), &props(new), MEMBER).unwrap();
    let leave = Leave::PreviousAdministrator {
        administrator: id(ADMIN),
        role_name: "OldAudit".into(),
        regions: regions(&["eu-west-1"]),
    };
    assert_eq!(plan, UpdatePlan::Change { member: id(MEMBER), leave });
}

#[test]
fn another_account_is_enrolled_and_answers_its_own_id() {
    let old = existing(MEMBER, json!({}));
    let plan = update(Some(&old), &existing(OTHER_MEMBER, json!({})), MEMBER).unwrap();
    assert_eq!(plan, UpdatePlan::Replace(Target::Existing(id(OTHER_MEMBER))));
    // From an existing account to one the resource creates.
    let new = created(json!({}));
    let AccountSpec::New(account) = new.account.clone() else { unreachable!() };
    assert_eq!(update(Some(&old), &new, MEMBER).unwrap(), UpdatePlan::Replace(Target::Create(account)));
}

#[test]
fn a_created_account_stays_the_resource_s_account() {
    let old = created(json!({}));
    let new = created(json!({"Regions": ["us-east-1"], "ParentId": "ou-ab12-abcdefgh"}));
    let plan = update(Some(&old), &new, MEMBER).unwrap();
    let leave = Leave::DroppedRegions { previous: None, disable_hub: false };
    assert_eq!(plan, UpdatePlan::Change { member: id(MEMBER), leave });
    // Taking over the created account by its id is the same account too.
    let plan = update(Some(&old), &existing(MEMBER, json!({})), MEMBER).unwrap();
    assert_eq!(plan, UpdatePlan::Unchanged { member: id(MEMBER) });
}

#[test]
fn account_name_and_email_are_fixed_at_creation() {
    let old = created(json!({}));
    for change in [json!({"AccountName": "Renamed"}), json!({"Email": "other@example.com"})] {
        let mut value = json!({"AdministratorAccountId": ADMIN, "AccountName": "Workload", "Email": "w@example.com"});
        value.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
        assert_eq!(update(Some(&old), &props(value), MEMBER), Err(PlanError::FixedAtCreation), "{change}");
    }
}

#[test]
fn unreadable_previous_properties_or_a_failed_create_id_enroll_afresh() {
    let new = existing(MEMBER, json!({}));
    assert_eq!(update(None, &new, MEMBER).unwrap(), UpdatePlan::Replace(Target::Existing(id(MEMBER))));
    let old = existing(MEMBER, json!({}));
    let plan = update(Some(&old), &new, "failed-create-1234").unwrap();
    assert_eq!(plan, UpdatePlan::Replace(Target::Existing(id(MEMBER))));
}

#[test]
fn delete_of_a_failed_create_or_retained_resource_touches_nothing() {
    let valid = json!({"AdministratorAccountId": ADMIN, "AccountId": MEMBER});
    assert!(matches!(delete("failed-create-abc", &json!({"Nonsense": 1})), Ok(DeletePlan::Nothing(_))));
    let mut retained = valid.clone();
    retained["OnDelete"] = json!("Retain");
    assert!(matches!(delete(MEMBER, &retained), Ok(DeletePlan::Nothing(_))));
}

#[test]
fn delete_ignores_unknown_properties_but_needs_the_administrator() {
    let value = json!({"ServiceToken": "t", "ServiceTimeout": "60", "AdministratorAccountId": ADMIN,
        "AccountId": MEMBER, "FromANewerTemplate": "x"});
    let Ok(DeletePlan::Leave { member, properties, ignored }) = delete(MEMBER, &value) else { panic!() };
    assert_eq!((member, properties.administrator_account_id.clone()), (id(MEMBER), id(ADMIN)));
    assert_eq!(ignored, ["\"FromANewerTemplate\""]);
    let error = delete(MEMBER, &json!({"AccountId": MEMBER})).unwrap_err();
    assert!(error.to_string().contains("AdministratorAccountId"), "{error}");
}
