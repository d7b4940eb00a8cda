//! What an Update or a Delete must do, decided from the properties alone.
//!
//! Pure functions, so that the whole Update table of docs/design.md is unit-tested without AWS; the
//! lifecycle carries the plan out.

use serde_json::Value;

use crate::ids::AccountId;
use crate::properties::{AccountSpec, NewAccount, OnDelete, Properties, PropertiesError};

/// The account an enrollment is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Existing(AccountId),
    /// Created through Organizations first (or found again, when an earlier run created it).
    Create(NewAccount),
}

impl From<&AccountSpec> for Target {
    fn from(spec: &AccountSpec) -> Self {
        match spec {
            AccountSpec::Existing(id) => Target::Existing(id.clone()),
            AccountSpec::New(new) => Target::Create(new.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UpdatePlan {
    /// Another account than the physical id: enroll it and answer its id; CloudFormation then deletes
    /// the old one with the old properties.
    Replace(Target),
    /// The same account and nothing that AWS holds changed (role names, OnDelete, ServiceTimeout, …).
    Unchanged { member: AccountId },
    /// The same account: leave what is no longer wanted, then join the new properties' regions.
    Change { member: AccountId, leave: Leave },
}

/// What an Update of the same account leaves before it joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Leave {
    /// The administrator changed: leave the previous one (membership only) in its regions, `None`
    /// meaning wherever it has a hub.
    PreviousAdministrator { administrator: AccountId, role_name: String, regions: Option<Vec<String>> },
    /// The regions changed: leave those previously covered (`None`: wherever the administrator has a
    /// hub) that the new regions drop, as a Delete would.
    DroppedRegions { previous: Option<Vec<String>>, disable_hub: bool },
    /// `OnDelete: Retain`: dropped regions stay enrolled.
    Nothing,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PlanError {
    #[error(
        "AccountName and Email are fixed when the account is created; to enroll another account, give AccountId, or replace the resource"
    )]
    FixedAtCreation,
}

/// The Update of the resource with `physical_id` from `old` (`None`: unreadable) to `new`.
pub(crate) fn update(old: Option<&Properties>, new: &Properties, physical_id: &str) -> Result<UpdatePlan, PlanError> {
    if let (Some(AccountSpec::New(before)), AccountSpec::New(after)) = (old.map(|old| &old.account), &new.account) {
        if before.name != after.name || before.email != after.email {
            return Err(PlanError::FixedAtCreation);
        }
    }
    let current = AccountId::parse(physical_id);
    let created_here = old.is_some_and(Properties::creates_account);
    let target = match (&new.account, &current) {
        // The account this resource created stays its account.
        (AccountSpec::New(_), Some(current)) if created_here => Target::Existing(current.clone()),
        (spec, _) => Target::from(spec),
    };
    match (old, current) {
        (Some(old), Some(current)) if target == Target::Existing(current.clone()) => Ok(in_place(old, new, current)),
        _ => Ok(UpdatePlan::Replace(target)),
    }
}

fn in_place(old: &Properties, new: &Properties, member: AccountId) -> UpdatePlan {
    let administrator_changed = old.administrator_account_id != new.administrator_account_id;
    if !administrator_changed && old.regions == new.regions {
        return UpdatePlan::Unchanged { member };
    }
    let leave = if administrator_changed {
        Leave::PreviousAdministrator {
            administrator: old.administrator_account_id.clone(),
            role_name: old.administrator_role_name.clone(),
            regions: old.regions.clone(),
        }
    } else if new.on_delete == OnDelete::Retain {
        Leave::Nothing
    } else {
        Leave::DroppedRegions {
            previous: old.regions.clone(),
            disable_hub: new.on_delete == OnDelete::DisableSecurityHub,
        }
    };
    UpdatePlan::Change { member, leave }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeletePlan {
    /// Nothing to undo, and no AWS call: the reason goes to the log.
    Nothing(&'static str),
    /// Leave the administrator in `properties.regions` (or wherever it has a hub).
    Leave { member: AccountId, properties: Box<Properties>, ignored: Vec<String> },
}

/// The Delete of the resource with `physical_id`. Unknown properties are ignored (and returned, to be
/// logged); the ones it needs must be valid, since a Delete cannot guess the administrator.
pub(crate) fn delete(physical_id: &str, properties: &Value) -> Result<DeletePlan, PropertiesError> {
    let Some(member) = AccountId::parse(physical_id) else {
        return Ok(DeletePlan::Nothing("physical id is not an account: nothing was enrolled"));
    };
    let (properties, ignored) = Properties::parse_ignoring_unknown(properties)?;
    if properties.on_delete == OnDelete::Retain {
        return Ok(DeletePlan::Nothing("OnDelete is Retain: nothing touched"));
    }
    Ok(DeletePlan::Leave { member, properties: Box::new(properties), ignored })
}

#[cfg(test)]
mod tests;
