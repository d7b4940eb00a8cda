//! Harmful properties against the stack's template: literals, parameters, pseudo parameters, and what cannot be read.
use super::*;
use serde_json::json;

fn parameters() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("OnDelete".to_owned(), "DisableSecurityHub".to_owned()),
        ("Regions".to_owned(), "us-east-1,eu-west-1".to_owned()),
        ("Admin".to_owned(), "333333333333".to_owned()),
        ("Secret".to_owned(), "****".to_owned()),
    ])
}

fn run(properties: serde_json::Value, bindings: &[Binding]) -> Result<(), Unbound> {
    let body = json!({"Resources": {"Member": {"Type": "Custom::SecurityHubMemberAccount", "Properties": properties}}});
    let parameters = parameters();
    let context = Context {
        logical_id: "Member",
        parameters: &parameters,
        account: "111122223333",
        region: "us-east-1",
        partition: "aws",
    };
    check(&body.to_string(), context, bindings)
}

fn on_delete() -> Binding {
    Binding { property: "OnDelete", expected: Expected::Text("DisableSecurityHub".to_owned()) }
}

fn regions(names: Option<&[&str]>) -> Binding {
    let names = names.map(|names| names.iter().map(|name| (*name).to_owned()).collect());
    Binding { property: "Regions", expected: Expected::Regions(names) }
}

#[test]
fn literals_and_parameters_bind() {
    assert_eq!(run(json!({"OnDelete": "DisableSecurityHub"}), &[on_delete()]), Ok(()));
    assert_eq!(run(json!({"OnDelete": {"Ref": "OnDelete"}}), &[on_delete()]), Ok(()));
    let listed = regions(Some(&["eu-west-1", "us-east-1"]));
    assert_eq!(
        run(json!({"Regions": {"Ref": "Regions"}}), std::slice::from_ref(&listed)),
        Ok(()),
        "a CommaDelimitedList"
    );
    assert_eq!(
        run(json!({"Regions": ["us-east-1", {"Ref": "AWS::Region"}, "eu-west-1"]}), std::slice::from_ref(&listed)),
        Ok(())
    );
    assert_eq!(run(json!({"Regions": "us-east-1, eu-west-1"}), &[listed]), Ok(()));
    assert_eq!(run(json!({}), &[regions(None)]), Ok(()), "discovered: no Regions in the template");
    assert_eq!(run(json!({"Regions": {"Ref": "AWS::NoValue"}}), &[regions(None)]), Ok(()));
    let admin = Binding { property: "AdministratorAccountId", expected: Expected::Text("333333333333".to_owned()) };
    assert_eq!(run(json!({"AdministratorAccountId": {"Ref": "Admin"}}), &[admin]), Ok(()));
    let close = Binding { property: "CloseAccountOnDelete", expected: Expected::True };
    assert_eq!(run(json!({"CloseAccountOnDelete": true}), std::slice::from_ref(&close)), Ok(()));
    assert_eq!(run(json!({"CloseAccountOnDelete": "TRUE"}), &[close]), Ok(()));
    assert_eq!(run(json!({}), &[]), Ok(()), "nothing to bind");
}

#[test]
fn another_value_in_the_template_is_a_mismatch() {
    let refused = run(json!({"OnDelete": "Disassociate"}), &[on_delete()]).unwrap_err();
    assert_eq!(refused, Unbound::Mismatch { property: "OnDelete", template: "\"Disassociate\"".to_owned() });
    assert!(refused.to_string().starts_with("OnDelete: the stack's template has \"Disassociate\""), "{refused}");
    let refused = run(json!({}), &[on_delete()]).unwrap_err();
    assert_eq!(refused, Unbound::Mismatch { property: "OnDelete", template: "no value".to_owned() });
    assert!(!refused.is_unverifiable());
    let refused = run(json!({"Regions": {"Ref": "Regions"}}), &[regions(Some(&["us-east-1"]))]).unwrap_err();
    assert!(matches!(refused, Unbound::Mismatch { property: "Regions", .. }), "{refused}");
    assert!(run(json!({"Regions": ["us-east-1"]}), &[regions(None)]).is_err(), "a list is not discovered");
    let close = Binding { property: "CloseAccountOnDelete", expected: Expected::True };
    assert!(run(json!({"CloseAccountOnDelete": "false"}), &[close]).is_err());
    // Every binding must hold, not just one.
    let both = [on_delete(), regions(Some(&["us-east-1"]))];
    assert!(run(json!({"OnDelete": "DisableSecurityHub", "Regions": "eu-west-1"}), &both).is_err());
}

#[test]
fn what_cannot_be_read_is_unverifiable() {
    let cases = [
        json!({"OnDelete": {"Fn::If": ["Disable", "DisableSecurityHub", "Disassociate"]}}),
        json!({"OnDelete": {"Fn::Sub": "${OnDelete}"}}),
        json!({"OnDelete": {"Ref": "Secret"}}),
        json!({"OnDelete": {"Ref": "SomeResource"}}),
        json!({"OnDelete": {"Ref": ["not", "a", "name"]}}),
    ];
    for properties in cases {
        let refused = run(properties.clone(), &[on_delete()]).unwrap_err();
        assert!(refused.is_unverifiable(), "{properties}: {refused}");
        assert!(refused.to_string().contains("ALLOW_UNVERIFIED_HARMFUL_PROPERTIES"), "{refused}");
    }
    let parameters = parameters();
    let context = Context {
        logical_id: "Member",
        parameters: &parameters,
        account: "111122223333",
        region: "us-east-1",
        partition: "aws",
    };
    let yaml = "Resources:\n  Member:\n    Type: Custom::SecurityHubMemberAccount\n    Properties:\n      OnDelete: DisableSecurityHub\n";
    let refused = check(yaml, context, &[on_delete()]).unwrap_err();
    assert!(refused.is_unverifiable() && refused.to_string().contains("not JSON"), "{refused}");
    let refused = check(r#"{"Resources": {}}"#, context, &[on_delete()]).unwrap_err();
    assert!(refused.is_unverifiable() && refused.to_string().contains("no resource Member"), "{refused}");
}

#[test]
fn each_harm_binds_its_property_to_the_request_s_value() {
    let properties = Properties::parse(&json!({"AdministratorAccountId": "333333333333", "AccountId": "111122223333",
        "Regions": "us-east-1"}))
    .unwrap();
    let all = [Harm::DisableSecurityHub, Harm::CloseAccount, Harm::AdministratorChange, Harm::DroppedRegions];
    assert_eq!(
        bindings(&all, &properties),
        [
            on_delete(),
            Binding { property: "CloseAccountOnDelete", expected: Expected::True },
            Binding { property: "AdministratorAccountId", expected: Expected::Text("333333333333".to_owned()) },
            regions(Some(&["us-east-1"])),
        ]
    );
}
