//! The membership watch's mark: tags on the member's account in AWS Organizations naming the resource that
//! enrolled it, so that the watch ([`crate::watch`]) can tell this provider's members from another tool's without
//! state of its own (CloudFormation has no drift detection for custom resources).
//!
//! Written with the provider's own credentials (the management account) once a Create or an Update has passed
//! authorization and the origin check and enrolled the account; taken off by the resource's Delete. One set per
//! administrator, since an account may be the member of several:
//!
//! - `securityhub-member-account:member-of:<administrator>:stack-id` and `…:logical-id`: the resource;
//! - `…:regions` (then `…:regions-2`, … when one value is too short): where the resource made it an Enabled member;
//! - `…:settings`: `MemberRoleName=<name>;EnableDefaultStandards=<true|false>`, what joining it again needs.
//!
//! Why Organizations tags: only principals of the management account (or those it delegates Organizations
//! policies to) may tag accounts (Organizations User Guide, "Tagging AWS Organizations resources"), so a member
//! can neither forge nor drop its own mark, unlike a tag on its own Security Hub hub, which also goes away with
//! the hub; and the watch reads one ListTagsForResource per account, not one per region. An account outside the
//! organization cannot be tagged there (TargetNotFoundException): it gets no mark, and the watch does not see it.
//! A mark is a claim, not a permission: before healing, the watch confirms with CloudFormation that the stack
//! still holds the resource (src/watch/owner.rs).

use aws_sdk_organizations::types::Tag;
use aws_sdk_organizations::Client;
use std::collections::BTreeMap;
use std::time::Duration;

use super::accounts::Owner;
use crate::aws::{Aws, AwsError, Operation};
use crate::ids::{is_region, AccountId, StackArn};

/// Every mark's keys start so; the administrator's id and the field follow.
pub(crate) const KEY_PREFIX: &str = "securityhub-member-account:member-of:";
const STACK_ID: &str = "stack-id";
const LOGICAL_ID: &str = "logical-id";
const REGIONS: &str = "regions";
const SETTINGS: &str = "settings";
const MEMBER_ROLE_NAME: &str = "MemberRoleName";
const ENABLE_DEFAULT_STANDARDS: &str = "EnableDefaultStandards";
/// Organizations' longest tag value (Organizations API Reference, Tag: Value, 0 to 256 characters).
const MAX_VALUE_CHARS: usize = 256;
/// CloudFormation's longest logical id (User Guide, "Resources": up to 255 alphanumeric characters).
const MAX_LOGICAL_ID_CHARS: usize = 255;
/// How long a Create, Update or Delete spends on the mark at most: Organizations throttles the management
/// account's calls, and a mark not written must never hold up the answer.
const MARK_PATIENCE: Duration = Duration::from_secs(20);

/// An account's tags, by key.
pub(crate) type Tags = BTreeMap<String, String>;

/// What a resource's mark says, for one administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) administrator: AccountId,
    pub(crate) owner: Owner,
    /// Sorted, without duplicates.
    pub(crate) regions: Vec<String>,
    pub(crate) member_role_name: String,
    pub(crate) enable_default_standards: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MarkError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("{0} is longer than an Organizations tag value may be ({MAX_VALUE_CHARS} characters)")]
    TooLong(&'static str),
}

/// The tags to set and the keys to take off, to make an account's tags carry one mark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    pub(crate) set: Tags,
    pub(crate) remove: Vec<String>,
}

impl Mark {
    /// The mark as tags.
    pub(crate) fn tags(&self) -> Result<Tags, MarkError> {
        let key = |field: &str| format!("{}{field}", prefix(&self.administrator));
        let fit = |value: &str, what| {
            if value.chars().count() > MAX_VALUE_CHARS {
                Err(MarkError::TooLong(what))
            } else {
                Ok(())
            }
        };
        fit(&self.owner.stack_id, "the StackId")?;
        fit(&self.owner.logical_id, "the LogicalResourceId")?;
        let settings = format!(
            "{MEMBER_ROLE_NAME}={};{ENABLE_DEFAULT_STANDARDS}={}",
            self.member_role_name, self.enable_default_standards
        );
        let mut tags = Tags::from([
            (key(STACK_ID), self.owner.stack_id.clone()),
            (key(LOGICAL_ID), self.owner.logical_id.clone()),
            (key(SETTINGS), settings),
        ]);
        for (index, chunk) in region_chunks(&self.regions).into_iter().enumerate() {
            tags.insert(key(&regions_field(index)), chunk);
        }
        Ok(tags)
    }

    pub(crate) fn is_owned_by(&self, owner: &Owner) -> bool {
        &self.owner == owner
    }
}

/// `securityhub-member-account:member-of:<administrator>:`
fn prefix(administrator: &AccountId) -> String {
    format!("{KEY_PREFIX}{administrator}:")
}

/// `regions`, `regions-2`, `regions-3`, …
fn regions_field(index: usize) -> String {
    if index == 0 {
        REGIONS.to_owned()
    } else {
        format!("{REGIONS}-{}", index + 1)
    }
}

/// The regions, comma-separated, in as few values of at most [`MAX_VALUE_CHARS`] as they fit (17 regions fit in
/// one; every region AWS has, in two). None at all is one empty value, so that the key is still there.
fn region_chunks(regions: &[String]) -> Vec<String> {
    let mut chunks = vec![String::new()];
    for region in regions {
        let current = chunks.last().map(String::len).unwrap_or_default();
        if current > 0 && current + 1 + region.len() > MAX_VALUE_CHARS {
            chunks.push(String::new());
        }
        if let Some(chunk) = chunks.last_mut() {
            if !chunk.is_empty() {
                chunk.push(',');
            }
            chunk.push_str(region);
        }
    }
    chunks
}

/// Every readable mark among `tags`, one per administrator. An unreadable one (a value cut or changed by hand) is
/// logged and left out: the watch then does not count that account as this provider's.
pub(crate) fn marks_in(tags: &Tags) -> Vec<Mark> {
    let administrators: std::collections::BTreeSet<&str> =
        tags.keys().filter_map(|key| key.strip_prefix(KEY_PREFIX)).filter_map(|rest| rest.split(':').next()).collect();
    administrators
        .into_iter()
        .filter_map(|administrator| match mark_of(tags, administrator) {
            Ok(mark) => Some(mark),
            Err(why) => {
                tracing::warn!(administrator, why, "unreadable membership watch mark: left out");
                None
            }
        })
        .collect()
}

fn mark_of(tags: &Tags, administrator: &str) -> Result<Mark, &'static str> {
    let administrator = AccountId::parse(administrator).ok_or("the administrator is not an account id")?;
    let prefix = prefix(&administrator);
    let field = |name: &str| tags.get(&format!("{prefix}{name}")).map(String::as_str);
    let stack_id = field(STACK_ID).filter(|id| StackArn::parse(id).is_some()).ok_or("no stack ARN")?;
    let logical_id = field(LOGICAL_ID).filter(|id| is_logical_id(id)).ok_or("no logical id")?;
    let (member_role_name, enable_default_standards) = settings(field(SETTINGS).ok_or("no settings")?)?;
    Ok(Mark {
        administrator,
        owner: Owner { stack_id: stack_id.to_owned(), logical_id: logical_id.to_owned() },
        regions: regions_of(tags, &prefix)?,
        member_role_name,
        enable_default_standards,
    })
}

/// The regions of `…:regions`, `…:regions-2`, … in that order.
fn regions_of(tags: &Tags, prefix: &str) -> Result<Vec<String>, &'static str> {
    let mut chunks: Vec<(usize, &str)> = tags
        .iter()
        .filter_map(|(key, value)| {
            let field = key.strip_prefix(prefix)?;
            let index = match field.strip_prefix(REGIONS)? {
                "" => 1,
                rest => rest.strip_prefix('-')?.parse().ok()?,
            };
            Some((index, value.as_str()))
        })
        .collect();
    if chunks.is_empty() {
        return Err("no regions");
    }
    chunks.sort_unstable();
    let mut regions: Vec<String> =
        chunks.iter().flat_map(|(_, chunk)| chunk.split(',')).filter(|r| !r.is_empty()).map(str::to_owned).collect();
    if !regions.iter().all(|region| is_region(region)) {
        return Err("a region is not a region name");
    }
    regions.sort();
    regions.dedup();
    Ok(regions)
}

fn settings(value: &str) -> Result<(String, bool), &'static str> {
    let pairs: BTreeMap<&str, &str> = value.split(';').filter_map(|pair| pair.split_once('=')).collect();
    let role = pairs.get(MEMBER_ROLE_NAME).copied().filter(|role| is_role_name(role)).ok_or("no member role")?;
    let standards = match pairs.get(ENABLE_DEFAULT_STANDARDS).copied() {
        Some("true") => true,
        Some("false") => false,
        _ => return Err("no EnableDefaultStandards"),
    };
    Ok((role.to_owned(), standards))
}

/// 1 to 64 of `A-Za-z0-9+=,.@_-` (IAM User Guide, "IAM object quotas": role names).
fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

fn is_logical_id(id: &str) -> bool {
    (1..=MAX_LOGICAL_ID_CHARS).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// What to set and take off so that `existing` carries `mark`: its tags where they differ, its own keys it no
/// longer has (a `regions-2` no longer needed), and the marks of this very resource under other administrators
/// (an Update that moved the account to `mark`'s administrator left the old one).
pub(crate) fn changes(existing: &Tags, mark: &Mark) -> Result<Changes, MarkError> {
    let wanted = mark.tags()?;
    let own_prefix = prefix(&mark.administrator);
    let moved_from: Vec<Mark> = marks_in(existing)
        .into_iter()
        .filter(|other| other.administrator != mark.administrator && other.is_owned_by(&mark.owner))
        .collect();
    let stale = |key: &String| {
        (key.starts_with(&own_prefix) && !wanted.contains_key(key))
            || moved_from.iter().any(|other| key.starts_with(&prefix(&other.administrator)))
    };
    let remove = existing.keys().filter(|key| stale(key)).cloned().collect();
    let set = wanted.into_iter().filter(|(key, value)| existing.get(key) != Some(value)).collect();
    Ok(Changes { set, remove })
}

/// The keys of `administrator`'s mark among `existing`, when it is `owner`'s: what its Delete takes off. A mark
/// another resource wrote since (the account enrolled again by another stack) stays.
pub(crate) fn removal(existing: &Tags, administrator: &AccountId, owner: &Owner) -> Vec<String> {
    let prefix = prefix(administrator);
    let owned = marks_in(existing).iter().any(|mark| &mark.administrator == administrator && mark.is_owned_by(owner));
    if !owned {
        return Vec::new();
    }
    existing.keys().filter(|key| key.starts_with(&prefix)).cloned().collect()
}

/// The account's tags (ListTagsForResource, every page).
pub(crate) async fn read(org: &Client, account: &AccountId) -> Result<Tags, AwsError> {
    let mut pages = org.list_tags_for_resource().resource_id(account.as_str()).into_paginator().send();
    let mut tags = Tags::new();
    while let Some(page) = pages.next().await {
        let page = page.op("ListTagsForResource")?;
        tags.extend(page.tags().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())));
    }
    Ok(tags)
}

/// Makes the account's tags carry `mark` (and no other mark of the same resource).
pub(crate) async fn write(org: &Client, account: &AccountId, mark: &Mark) -> Result<(), MarkError> {
    let changes = changes(&read(org, account).await?, mark)?;
    if !changes.set.is_empty() {
        let tags = changes.set.iter().map(|(key, value)| tag(key, value)).collect::<Result<Vec<_>, _>>()?;
        org.tag_resource().resource_id(account.as_str()).set_tags(Some(tags)).send().await.op("TagResource")?;
    }
    untag(org, account, changes.remove).await?;
    Ok(())
}

/// Takes `administrator`'s mark off the account, if it is `owner`'s.
pub(crate) async fn remove(
    org: &Client,
    account: &AccountId,
    administrator: &AccountId,
    owner: &Owner,
) -> Result<(), AwsError> {
    let keys = removal(&read(org, account).await?, administrator, owner);
    untag(org, account, keys).await
}

async fn untag(org: &Client, account: &AccountId, keys: Vec<String>) -> Result<(), AwsError> {
    if keys.is_empty() {
        return Ok(());
    }
    org.untag_resource().resource_id(account.as_str()).set_tag_keys(Some(keys)).send().await.op("UntagResource")?;
    Ok(())
}

fn tag(key: &str, value: &str) -> Result<Tag, AwsError> {
    Tag::builder().key(key).value(value).build().map_err(|error| AwsError::new("TagResource", error.to_string()))
}

/// After a Create or an Update that enrolled the account: writes its mark. Never fails the request (the
/// membership stands either way); a mark not written is logged, and the watch does not see the account until a
/// later Create or Update writes it.
pub(crate) async fn remember(aws: &Aws, account: &AccountId, mark: &Mark) {
    let written = async { write(&aws.own().await?.organizations(), account, mark).await };
    match tokio::time::timeout(MARK_PATIENCE, written).await {
        Ok(Ok(())) => tracing::info!(account = %account, "membership watch mark written"),
        Ok(Err(MarkError::Aws(error))) if error.is_outside_organization() => tracing::info!(account = %account,
            error = %error, "the account is not in the organization: no membership watch mark, the watch will not see it"),
        Ok(Err(error)) => tracing::warn!(account = %account, error = %error, "membership watch mark not written"),
        Err(_) => tracing::warn!(account = %account, "membership watch mark not written in time"),
    }
}

/// After a Delete that ended the membership: takes the resource's mark off. A mark left behind is harmless: the
/// watch finds the resource gone from its stack and takes it off itself.
pub(crate) async fn forget(aws: &Aws, account: &AccountId, administrator: &AccountId, owner: &Owner) {
    let removed = async { remove(&aws.own().await?.organizations(), account, administrator, owner).await };
    match tokio::time::timeout(MARK_PATIENCE, removed).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) if error.is_outside_organization() => {}
        Ok(Err(error)) => tracing::warn!(account = %account, error = %error, "membership watch mark not removed"),
        Err(_) => tracing::warn!(account = %account, "membership watch mark not removed in time"),
    }
}

#[cfg(test)]
mod tests;
