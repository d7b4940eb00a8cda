//! Who may ask for what (docs/design.md, "Authorization"), decided from the request and the configuration
//! alone, before any change.
//!
//! The provider runs in the management account and can assume powerful roles in every account, while any
//! principal allowed to publish to its topic can hand it an event. An SNS notification does not say who
//! published it (SNS Developer Guide, "Amazon SNS message and JSON formats": the notification carries the
//! topic, not the publisher), so the StackId a published request names proves nothing. Trust therefore
//! follows the channel: a request invoked directly (IAM guards `lambda:InvokeFunction`) or through a topic the
//! operator listed (one whose policy names exact principals) is trusted when its stack's account is; any other
//! request through SNS is not, whatever StackId it names. An untrusted request may act only on its stack's own
//! account and never create, move or close one; the properties that widen harm it may carry only as its
//! stack's template has them ([`harms`], checked against the template by the origin check).

use std::collections::BTreeSet;
use std::fmt;

use crate::ids::AccountId;
use crate::properties::{AccountSpec, OnDelete, Properties};

/// How a request reached the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Channel {
    /// Invoked directly (CloudFormation with a Lambda ServiceToken, or the provider's own continuation).
    Direct,
    /// Through SNS: `Records[0].Sns.TopicArn` of the notification (Lambda Developer Guide, "Invoking Lambda
    /// functions with Amazon SNS notifications", example event).
    Sns { topic_arn: Option<String> },
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channel::Direct => f.write_str("invoked directly"),
            Channel::Sns { topic_arn: Some(topic) } => write!(f, "published to SNS topic {topic}"),
            Channel::Sns { topic_arn: None } => f.write_str("published to SNS"),
        }
    }
}

/// The operator's configuration, as the decision needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy<'a> {
    pub(crate) administrators: &'a BTreeSet<AccountId>,
    pub(crate) trusted: &'a BTreeSet<AccountId>,
    pub(crate) trusted_topics: &'a BTreeSet<String>,
}

/// What a request would act with: the account of its stack and how the request came, every set of properties
/// it carries (Create's, Update's new and old, Delete's), and the account its physical id names.
#[derive(Debug, Clone)]
pub(crate) struct Scope<'a> {
    pub(crate) requester: &'a AccountId,
    pub(crate) channel: &'a Channel,
    pub(crate) properties: Vec<&'a Properties>,
    pub(crate) physical_account: Option<&'a AccountId>,
}

/// Who asks, as a refusal names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requester {
    pub(crate) account: AccountId,
    pub(crate) channel: Channel,
}

impl fmt::Display for Requester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.channel {
            Channel::Direct => write!(f, "a stack in account {}", self.account),
            channel => write!(f, "a request {channel} naming a stack in account {}", self.account),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("StackId: not a CloudFormation stack ARN (arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/ID)")]
    StackId,
    #[error("ADMINISTRATOR_ACCOUNT_IDS is not set: this provider enrolls into no administrator until its operator lists them")]
    NoAdministrators,
    #[error(
        "AdministratorAccountId: {0} is not an administrator this provider may enroll into (ADMINISTRATOR_ACCOUNT_IDS)"
    )]
    Administrator(AccountId),
    #[error("AccountId: {requester} may act only on its own account, not on {account}")]
    OtherAccount { requester: Requester, account: AccountId },
    #[error("{field}: {requester} may not create, move or close accounts; only trusted accounts' stacks (TRUSTED_ACCOUNT_IDS) invoking the provider directly, or through a topic in TRUSTED_TOPIC_ARNS, may")]
    AccountManagement { requester: Requester, field: &'static str },
}

/// What an untrusted request must have from its stack's template, since it would widen what the provider does:
/// a hub disabled, an account closed, a member taken from an administrator, regions left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Harm {
    /// `OnDelete: DisableSecurityHub` of a Delete, or of an Update that leaves regions.
    DisableSecurityHub,
    /// `CloseAccountOnDelete: true` of a Delete.
    CloseAccount,
    /// An Update whose `AdministratorAccountId` differs from the old one: the old administrator is left.
    AdministratorChange,
    /// An Update whose `Regions` drop some of the old ones, or go from a list to discovered.
    DroppedRegions,
}

/// The request type, as [`harms`] needs it: an Update's old properties when they could be read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Asked<'a> {
    Create,
    Update { old: Option<&'a Properties> },
    Delete,
}

/// Whether the request's stack account is trusted for a request that came through `channel`.
pub(crate) fn is_trusted(policy: Policy<'_>, requester: &AccountId, channel: &Channel) -> bool {
    let channel_trusted = match channel {
        Channel::Direct => true,
        Channel::Sns { topic_arn: Some(topic) } => policy.trusted_topics.contains(topic),
        Channel::Sns { topic_arn: None } => false,
    };
    channel_trusted && policy.trusted.contains(requester)
}

/// Ok when `claim` may go ahead under `policy`; else the first reason it may not.
pub(crate) fn authorize(policy: Policy<'_>, claim: &Scope<'_>) -> Result<(), Refusal> {
    if policy.administrators.is_empty() {
        return Err(Refusal::NoAdministrators);
    }
    for properties in &claim.properties {
        let administrator = &properties.administrator_account_id;
        if !policy.administrators.contains(administrator) {
            return Err(Refusal::Administrator(administrator.clone()));
        }
    }
    if is_trusted(policy, claim.requester, claim.channel) {
        return Ok(());
    }
    let requester = Requester { account: claim.requester.clone(), channel: claim.channel.clone() };
    for properties in &claim.properties {
        own_account_only(&requester, properties)?;
    }
    match claim.physical_account {
        Some(account) if account != claim.requester => {
            Err(Refusal::OtherAccount { requester, account: account.clone() })
        }
        _ => Ok(()),
    }
}

/// An untrusted request: `AccountId` must be its stack's account, and nothing of account management.
fn own_account_only(requester: &Requester, properties: &Properties) -> Result<(), Refusal> {
    let managing = |field| Refusal::AccountManagement { requester: requester.clone(), field };
    match &properties.account {
        AccountSpec::New(_) => Err(managing("AccountName")),
        AccountSpec::Existing(account) if account != &requester.account => {
            Err(Refusal::OtherAccount { requester: requester.clone(), account: account.clone() })
        }
        AccountSpec::Existing(_) if properties.close_account_on_delete => Err(managing("CloseAccountOnDelete")),
        AccountSpec::Existing(_) => Ok(()),
    }
}

/// What `properties` (the request's, an Update's new ones) would do beyond joining: each harm the request
/// carries, in order. A Create harms nothing yet (a later Delete carries CloudFormation's own properties).
pub(crate) fn harms(asked: Asked<'_>, properties: &Properties) -> Vec<Harm> {
    let mut harms = Vec::new();
    match asked {
        Asked::Create => {}
        Asked::Delete => {
            if properties.on_delete == OnDelete::DisableSecurityHub {
                harms.push(Harm::DisableSecurityHub);
            }
            if properties.close_account_on_delete {
                harms.push(Harm::CloseAccount);
            }
        }
        Asked::Update { old: Some(old) } => {
            if old.administrator_account_id != properties.administrator_account_id {
                harms.push(Harm::AdministratorChange);
            } else if drops_regions(old.regions.as_deref(), properties.regions.as_deref()) {
                harms.push(Harm::DroppedRegions);
                if properties.on_delete == OnDelete::DisableSecurityHub {
                    harms.push(Harm::DisableSecurityHub);
                }
            }
        }
        // Old properties that cannot be read make the Update a replacement (see the plan): it only joins.
        Asked::Update { old: None } => {}
    }
    harms.sort();
    harms
}

/// Whether going from `old` to `new` regions leaves some (`None`: discovered, which may be fewer than a list).
fn drops_regions(old: Option<&[String]>, new: Option<&[String]>) -> bool {
    match (old, new) {
        (Some(old), Some(new)) => old.iter().any(|region| !new.contains(region)),
        (Some(_), None) => true,
        (None, Some(_)) => true,
        (None, None) => false,
    }
}

#[cfg(test)]
mod tests;
