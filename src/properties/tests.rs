//! Properties as CloudFormation and SDK callers send them, and every way they can be wrong.
use super::*;
use serde_json::json;

fn parse(value: Value) -> Result<Properties, PropertiesError> {
    Properties::parse(&value)
}

fn fields(error: PropertiesError) -> Vec<String> {
    error.0.into_iter().map(|e| e.field).collect()
}

#[test]
fn strings_as_cloudformation_sends_them() {
    let props = parse(json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:p",
        "AdministratorAccountId": "111111111111",
        "AccountId": "222222222222",
        "Regions": "eu-west-1, us-east-1,eu-west-1",
        "EnableDefaultStandards": "FALSE",
        "OnDelete": "DisableSecurityHub",
    }))
    .unwrap();
    assert_eq!(props.account, AccountSpec::Existing(AccountId::parse("222222222222").unwrap()));
    assert_eq!(props.regions, Some(vec!["eu-west-1".to_owned(), "us-east-1".to_owned()]));
    assert!(!props.enable_default_standards);
    assert_eq!(props.on_delete, OnDelete::DisableSecurityHub);
    assert_eq!(props.member_role_name, DEFAULT_ROLE_NAME);
    assert!(!props.close_account_on_delete);
}

#[test]
fn json_numbers_and_booleans_accepted() {
    let props = parse(json!({
        "AdministratorAccountId": 111111111111u64,
        "AccountName": "Workload",
        "Email": "workload@example.com",
        "CloseAccountOnDelete": true,
        "Regions": ["us-east-1"],
    }))
    .unwrap();
    assert_eq!(props.administrator_account_id.as_str(), "111111111111");
    assert!(props.close_account_on_delete);
    assert!(props.creates_account());
}

#[test]
fn every_problem_is_named() {
    let error = parse(json!({
        "AdministratorAccountId": "12345",
        "AccountId": "abc",
        "OnDelete": "Sometimes",
        "Regions": ["not a region"],
        "EnableDefaultStandards": "maybe",
        "Colour": "blue",
    }))
    .unwrap_err();
    let text = error.to_string();
    for field in ["AdministratorAccountId", "AccountId", "OnDelete", "Regions", "EnableDefaultStandards", "Colour"] {
        assert!(text.contains(field), "{field} not named in: {text}");
    }
}

#[test]
fn account_must_be_given_one_way() {
    let neither = parse(json!({"AdministratorAccountId": "111111111111"})).unwrap_err();
    assert_eq!(fields(neither), ["AccountId"]);
    let both = parse(json!({"AdministratorAccountId": "111111111111", "AccountId": "222222222222",
        "AccountName": "a", "Email": "a@example.com"}))
    .unwrap_err();
    assert_eq!(fields(both), ["AccountId"]);
    let half = parse(json!({"AdministratorAccountId": "111111111111", "AccountName": "a"})).unwrap_err();
    assert_eq!(fields(half), ["Email"]);
}

#[test]
fn close_on_delete_only_for_created_accounts() {
    let error = parse(json!({"AdministratorAccountId": "111111111111", "AccountId": "222222222222",
        "CloseAccountOnDelete": "true"}))
    .unwrap_err();
    assert_eq!(fields(error), ["CloseAccountOnDelete"]);
}

#[test]
fn empty_regions_are_an_error_not_a_discovery() {
    for regions in [json!([]), json!(""), json!(" , ")] {
        let error = parse(json!({"AdministratorAccountId": "111111111111", "AccountId": "222222222222",
            "Regions": regions}))
        .unwrap_err();
        assert_eq!(fields(error), ["Regions"]);
    }
}

#[test]
fn a_region_list_longer_than_any_partition_is_refused() {
    let regions: Vec<String> = (0..65).map(|n| format!("xx-test-{}", n % 100)).collect();
    let error = parse(json!({"AdministratorAccountId": "111111111111", "AccountId": "222222222222",
        "Regions": regions}))
    .unwrap_err();
    assert_eq!(error.to_string(), "invalid properties: Regions: at most 64 regions, got 65");
}

#[test]
fn huge_and_hostile_values_are_quoted_short() {
    let long = "x".repeat(10_000);
    let error = parse(json!({"AdministratorAccountId": long, "AccountId": "\u{0}\n1"})).unwrap_err();
    let text = error.to_string();
    assert!(text.len() < 600, "{}", text.len());
    assert!(!text.contains('\u{0}') && !text.contains('\n'));
}

#[test]
fn admin_and_member_must_differ() {
    let error = parse(json!({"AdministratorAccountId": "111111111111", "AccountId": "111111111111"})).unwrap_err();
    assert_eq!(fields(error), ["AccountId"]);
}

#[test]
fn cloudformation_reserved_properties_are_not_the_resource_s() {
    let props = json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:p",
        "ServiceTimeout": "1200",
        "AdministratorAccountId": "111111111111",
        "AccountId": "222222222222",
    });
    let parsed = parse(props.clone()).unwrap();
    let mut without = props;
    without.as_object_mut().unwrap().retain(|key, _| !key.starts_with("Service"));
    assert_eq!(parse(without).unwrap(), parsed, "ServiceToken and ServiceTimeout change nothing of the resource");
}

#[test]
fn delete_ignores_unknown_properties_and_names_them() {
    let props = json!({
        "ServiceToken": "t",
        "ServiceTimeout": 60,
        "AdministratorAccountId": "111111111111",
        "AccountId": "222222222222",
        "FromANewerTemplate": "x",
    });
    assert_eq!(fields(parse(props.clone()).unwrap_err()), ["\"FromANewerTemplate\""]);
    let (parsed, ignored) = Properties::parse_ignoring_unknown(&props).unwrap();
    assert_eq!(parsed.administrator_account_id.as_str(), "111111111111");
    assert_eq!(ignored, ["\"FromANewerTemplate\""]);
    // What it needs must still be there and valid: a Delete cannot guess the administrator.
    let error = Properties::parse_ignoring_unknown(&json!({"AccountId": "222222222222", "X": 1})).unwrap_err();
    assert_eq!(fields(error), ["AdministratorAccountId"]);
}
