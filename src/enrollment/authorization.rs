//! Who may ask for what (the contract's "Authorization"), decided from the request and the configuration
//! alone, before any change.
//!
//! The provider runs in the management account and can assume powerful roles in every account, while any
//! principal allowed to publish to its topic can hand it an event. So a request may name only the
//! administrators the operator listed, and a stack outside the trusted accounts may act only on its own
//! account and never create, move or close one.

use std::collections::BTreeSet;

use crate::ids::AccountId;
use crate::properties::{AccountSpec, Properties};

/// The operator's configuration, as the decision needs it.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub administrators: &'a BTreeSet<AccountId>,
    pub trusted: &'a BTreeSet<AccountId>,
}

/// What a request would act with: the account of its stack, every set of properties it carries (Create's,
/// Update's new and old, Delete's), and the account its physical id names.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub requester: &'a AccountId,
    pub properties: Vec<&'a Properties>,
    pub physical_account: Option<&'a AccountId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("StackId: not a CloudFormation stack ARN (arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/ID)")]
    StackId,
    #[error("ADMINISTRATOR_ACCOUNT_IDS is not set: this provider enrolls into no administrator until its operator lists them")]
    NoAdministrators,
    #[error(
        "AdministratorAccountId: {0} is not an administrator this provider may enroll into (ADMINISTRATOR_ACCOUNT_IDS)"
    )]
    Administrator(AccountId),
    #[error("AccountId: a stack in account {requester} may act only on its own account, not on {account}")]
    OtherAccount { requester: AccountId, account: AccountId },
    #[error("{field}: a stack in account {requester} may not create, move or close accounts; only stacks of the provider's trusted accounts (TRUSTED_ACCOUNT_IDS) may")]
    AccountManagement { requester: AccountId, field: &'static str },
}

/// Ok when `claim` may go ahead under `policy`; else the first reason it may not.
pub fn authorize(policy: Policy<'_>, claim: &Claim<'_>) -> Result<(), Refusal> {
    if policy.administrators.is_empty() {
        return Err(Refusal::NoAdministrators);
    }
    for properties in &claim.properties {
        let administrator = &properties.administrator_account_id;
        if !policy.administrators.contains(administrator) {
            return Err(Refusal::Administrator(administrator.clone()));
        }
    }
    if policy.trusted.contains(claim.requester) {
        return Ok(());
    }
    for properties in &claim.properties {
        own_account_only(claim.requester, properties)?;
    }
    match claim.physical_account {
        Some(account) if account != claim.requester => {
            Err(Refusal::OtherAccount { requester: claim.requester.clone(), account: account.clone() })
        }
        _ => Ok(()),
    }
}

/// An untrusted stack: `AccountId` must be its own account, and nothing of account management.
fn own_account_only(requester: &AccountId, properties: &Properties) -> Result<(), Refusal> {
    let managing = |field| Refusal::AccountManagement { requester: requester.clone(), field };
    match &properties.account {
        AccountSpec::New(_) => Err(managing("AccountName")),
        AccountSpec::Existing(account) if account != requester => {
            Err(Refusal::OtherAccount { requester: requester.clone(), account: account.clone() })
        }
        AccountSpec::Existing(_) if properties.close_account_on_delete => Err(managing("CloseAccountOnDelete")),
        AccountSpec::Existing(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PROVIDER: &str = "999999999999";
    const ADMIN: &str = "111111111111";
    const MEMBER: &str = "222222222222";

    fn id(text: &str) -> AccountId {
        AccountId::parse(text).unwrap()
    }

    fn set(ids: &[&str]) -> BTreeSet<AccountId> {
        ids.iter().map(|text| id(text)).collect()
    }

    fn props(value: serde_json::Value) -> Properties {
        Properties::parse(&value).unwrap()
    }

    fn decide(requester: &str, properties: &[&Properties], physical: Option<&str>) -> Result<(), Refusal> {
        let (administrators, trusted) = (set(&[ADMIN]), set(&[PROVIDER]));
        let (requester, physical) = (id(requester), physical.map(id));
        let claim =
            Claim { requester: &requester, properties: properties.to_vec(), physical_account: physical.as_ref() };
        authorize(Policy { administrators: &administrators, trusted: &trusted }, &claim)
    }

    #[test]
    fn no_allowlist_refuses_everything_and_names_the_variable() {
        let member = props(json!({"AdministratorAccountId": ADMIN, "AccountId": MEMBER}));
        let (none, trusted, requester) = (BTreeSet::new(), set(&[PROVIDER]), id(PROVIDER));
        let claim = Claim { requester: &requester, properties: vec![&member], physical_account: None };
        let refusal = authorize(Policy { administrators: &none, trusted: &trusted }, &claim).unwrap_err();
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
        assert_eq!(refusal, Refusal::OtherAccount { requester: id(MEMBER), account: id("444444444444") });
        // A forged Delete of another account's resource, with the stack's own account in the properties.
        let refusal = decide(MEMBER, &[&own], Some("444444444444")).unwrap_err();
        assert!(matches!(refusal, Refusal::OtherAccount { .. }), "{refusal}");
    }

    #[test]
    fn an_untrusted_stack_may_not_create_or_close_accounts() {
        let created = props(json!({"AdministratorAccountId": ADMIN, "AccountName": "W", "Email": "w@example.com"}));
        let refusal = decide(MEMBER, &[&created], None).unwrap_err();
        assert_eq!(refusal, Refusal::AccountManagement { requester: id(MEMBER), field: "AccountName" });
        // Closing is only valid for created accounts, so an untrusted stack's old properties may carry it.
        let mut closing = props(json!({"AdministratorAccountId": ADMIN, "AccountId": MEMBER}));
        closing.close_account_on_delete = true;
        let refusal = decide(MEMBER, &[&closing], Some(MEMBER)).unwrap_err();
        assert!(refusal.to_string().starts_with("CloseAccountOnDelete: "), "{refusal}");
    }
}
