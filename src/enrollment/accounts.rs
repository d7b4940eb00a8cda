//! Accounts made through AWS Organizations: created once, found again on a retry, moved, closed.
//!
//! Lambda retries asynchronous invocations, so a Create may run twice. The account is tagged with
//! the stack id and logical id at creation; a second run finds its own account (or its creation
//! still in progress) by email and name instead of making another.

use aws_sdk_organizations::types::{AccountJoinedMethod, AccountStatus, CreateAccountState, Tag};
use aws_sdk_organizations::Client;
use std::time::Duration;
use tokio::time::Instant;

use crate::aws::{failure_reason, AwsError, Operation};
use crate::ids::AccountId;
use crate::properties::NewAccount;
use crate::retry::Pauses;

pub(crate) const STACK_TAG: &str = "securityhub-member-account:stack-id";
pub(crate) const LOGICAL_ID_TAG: &str = "securityhub-member-account:logical-id";

/// Creation is polled soon after it starts, then every 1.5 s (from one poll's start to the next), so
/// that a finished creation is noticed within two seconds, the poll's own round trip included.
const CREATION_POLLS: Pauses =
    Pauses::Cadence { first: Duration::from_millis(500), every: Duration::from_millis(1500) };
/// AWS creates most accounts in a few minutes. The wait is cut short well before this by the request's own
/// deadline (a continuation then waits on); this bounds it as CloudFormation's longest ServiceTimeout does.
const CREATION_PATIENCE: Duration = Duration::from_secs(60 * 60);
/// Organizations refuses or fails a creation while another change to the organization is under way;
/// a few seconds later it usually goes through.
const CREATE_ATTEMPTS: u32 = 4;
const CREATE_PAUSES: Pauses = Pauses::Backoff { base: Duration::from_secs(2), cap: Duration::from_secs(8) };
/// Looks for the creation that a CONCURRENT_ACCOUNT_MODIFICATION says is already under way, while it does not
/// show yet in ListCreateAccountStatus or ListAccounts.
const TWIN_LOOKS: u32 = 5;
const TWIN_PAUSES: Pauses = Pauses::Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(4) };
/// CLOSE_ACCOUNT_REQUESTS_LIMIT_EXCEEDED ("the number of accounts that you can close at a time") passes as the
/// closures under way finish: tried again a few times over about two minutes.
const CLOSE_ATTEMPTS: u32 = 6;
const CLOSE_PAUSES: Pauses = Pauses::Backoff { base: Duration::from_secs(5), cap: Duration::from_secs(30) };

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AccountError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(
        "Email: already used by account {0}, which this resource did not create; to enroll that account, give AccountId: {0} instead of AccountName and Email"
    )]
    EmailTaken(String),
    #[error("account creation failed: {0}")]
    CreationFailed(String),
    #[error("account creation still in progress after {} minutes", CREATION_PATIENCE.as_secs() / 60)]
    CreationSlow,
    #[error(
        "CloseAccount: refused by the organization's account-closing quota ({}); the membership was ended, the account was not closed. AWS Organizations allows closing 10% of the member accounts in 30 days: close it later in the AWS Organizations console, or set CloseAccountOnDelete to false and delete again",
        .0.message
    )]
    CloseQuota(AwsError),
}

/// The resource that owns a created account, as recorded in the account's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) stack_id: String,
    pub(crate) logical_id: String,
}

/// Told the CreateAccount request id as soon as one is known: the request's own, or an earlier run's.
pub(crate) type Started<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// One resource's account creation: where, what, for whom, and who is told its request id.
pub(crate) struct Creation<'a> {
    pub(crate) org: &'a Client,
    pub(crate) new: &'a NewAccount,
    /// The role Organizations makes in the new account.
    pub(crate) role_name: &'a str,
    pub(crate) owner: &'a Owner,
    pub(crate) started: Started<'a>,
}

/// The account for `creation`: this resource's earlier account if a previous run made it, else a new one.
pub(crate) async fn create_or_find(creation: &Creation<'_>) -> Result<AccountId, AccountError> {
    if let Some(account) = find_own(creation).await? {
        return Ok(account);
    }
    match create(creation).await {
        // Another run of this same request may have created it a moment ago.
        Err(AccountError::CreationFailed(reason)) if reason == failure_reason::EMAIL_ALREADY_EXISTS => {
            find_own(creation).await?.ok_or(AccountError::CreationFailed(reason))
        }
        // "You already submitted a request with the same information": another run's creation is under way.
        // It is found and waited for; sending CreateAccount again would only be refused again.
        Err(AccountError::CreationFailed(reason)) if reason == failure_reason::CONCURRENT_ACCOUNT_MODIFICATION => {
            find_twin(creation).await?.ok_or(AccountError::CreationFailed(reason))
        }
        outcome => outcome,
    }
}

/// The creation of another run of this request, looked for a few times while it does not show yet.
async fn find_twin(creation: &Creation<'_>) -> Result<Option<AccountId>, AccountError> {
    let look = |_| async { find_own(creation).await?.ok_or(AccountError::CreationSlow) };
    match TWIN_PAUSES.attempts(TWIN_LOOKS).run(look, |error| *error == AccountError::CreationSlow).await {
        Err(AccountError::CreationSlow) => Ok(None),
        found => found.map(Some),
    }
}

/// This resource's account, made or being made by an earlier run; an error if the email is another's.
async fn find_own(creation: &Creation<'_>) -> Result<Option<AccountId>, AccountError> {
    let Creation { org, new, owner, .. } = *creation;
    if let Some(account) = owned_by_email(org, &new.email, owner).await? {
        return Ok(Some(account));
    }
    // Account names are not unique: a creation of this name may be another resource's.
    let Some(request_id) = creation_in_progress(org, &new.name).await? else { return Ok(None) };
    tracing::info!(request = %request_id, "an account of this name is being created; waiting to see whose it is");
    (creation.started)(&request_id);
    if let Ok(account) = wait_for_creation(org, &request_id).await {
        if is_owned_by(org, &account, owner).await? {
            return Ok(Some(account));
        }
    }
    owned_by_email(org, &new.email, owner).await
}

/// The account with `email` if this resource created it; an error if another resource's has it.
async fn owned_by_email(org: &Client, email: &str, owner: &Owner) -> Result<Option<AccountId>, AccountError> {
    let Some(account) = find_by_email(org, email).await? else { return Ok(None) };
    if is_owned_by(org, &account, owner).await? {
        tracing::info!(account = %account, "found the account an earlier run created");
        Ok(Some(account))
    } else {
        Err(AccountError::EmailTaken(account.to_string()))
    }
}

async fn create(creation: &Creation<'_>) -> Result<AccountId, AccountError> {
    let owner = creation.owner;
    let tags = [tag(STACK_TAG, &owner.stack_id)?, tag(LOGICAL_ID_TAG, &owner.logical_id)?];
    let attempt = |_| create_once(creation, &tags);
    CREATE_PAUSES.attempts(CREATE_ATTEMPTS).run(attempt, is_concurrent_modification).await
}

/// One CreateAccount, waited for to its end. Organizations refuses it while too many creations are in
/// progress (TooManyRequestsException, which the SDK retries as throttling while the request has time).
async fn create_once(creation: &Creation<'_>, tags: &[Tag]) -> Result<AccountId, AccountError> {
    let Creation { org, new, role_name, started, .. } = *creation;
    let answer = org
        .create_account()
        .email(&new.email)
        .account_name(&new.name)
        .role_name(role_name)
        .set_tags(Some(tags.to_vec()))
        .send()
        .await
        .op("CreateAccount")?;
    let request_id = answer
        .create_account_status()
        .and_then(|status| status.id())
        .ok_or_else(|| AwsError::new("CreateAccount", "answered no CreateAccountRequestId"))?;
    tracing::info!(request = %request_id, "account creation started");
    started(request_id);
    wait_for_creation(org, request_id).await
}

/// CreateAccount refused because another change to the organization was under way (observed on CreateAccount:
/// awslabs/aws-deployment-framework issue 280).
fn is_concurrent_modification(error: &AccountError) -> bool {
    matches!(error, AccountError::Aws(error) if error.is_concurrent_modification())
}

fn tag(key: &str, value: &str) -> Result<Tag, AwsError> {
    Tag::builder().key(key).value(value).build().map_err(|error| AwsError::new("CreateAccount", error.to_string()))
}

/// Polls the creation until it ends, on the cadence of [`CREATION_POLLS`], for up to [`CREATION_PATIENCE`].
pub(crate) async fn wait_for_creation(org: &Client, request_id: &str) -> Result<AccountId, AccountError> {
    let polls = CREATION_POLLS.until(Instant::now() + CREATION_PATIENCE);
    polls.run(|_| creation_outcome(org, request_id), |error| *error == AccountError::CreationSlow).await
}

/// The account of a finished creation, its FailureReason, or [`AccountError::CreationSlow`] while it
/// is still in progress (what the wait answers when it gives up).
async fn creation_outcome(org: &Client, request_id: &str) -> Result<AccountId, AccountError> {
    let answer = org
        .describe_create_account_status()
        .create_account_request_id(request_id)
        .send()
        .await
        .op("DescribeCreateAccountStatus")?;
    let status = answer.create_account_status();
    match status.and_then(|status| status.state()) {
        Some(CreateAccountState::Succeeded) => {
            let id = status.and_then(|status| status.account_id()).and_then(AccountId::parse);
            id.ok_or_else(|| AccountError::CreationFailed("SUCCEEDED without an account id".into()))
        }
        Some(CreateAccountState::Failed) => {
            let reason = status.and_then(|status| status.failure_reason()).map(|reason| reason.as_str().to_owned());
            Err(AccountError::CreationFailed(reason.unwrap_or_else(|| "no FailureReason given".into())))
        }
        _ => Err(AccountError::CreationSlow),
    }
}

async fn find_by_email(org: &Client, email: &str) -> Result<Option<AccountId>, AwsError> {
    let mut pages = org.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.op("ListAccounts")?;
        let found =
            page.accounts().iter().find(|account| account.email().is_some_and(|e| e.eq_ignore_ascii_case(email)));
        if let Some(account) = found {
            return Ok(account.id().and_then(AccountId::parse));
        }
    }
    Ok(None)
}

async fn creation_in_progress(org: &Client, name: &str) -> Result<Option<String>, AwsError> {
    let mut pages = org.list_create_account_status().states(CreateAccountState::InProgress).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.op("ListCreateAccountStatus")?;
        let found = page.create_account_statuses().iter().find(|status| status.account_name() == Some(name));
        if let Some(status) = found {
            return Ok(status.id().map(str::to_owned));
        }
    }
    Ok(None)
}

/// Whether `account` carries the creation tags of `owner`.
pub(crate) async fn is_owned_by(org: &Client, account: &AccountId, owner: &Owner) -> Result<bool, AwsError> {
    let mut pages = org.list_tags_for_resource().resource_id(account.as_str()).into_paginator().send();
    let (mut stack, mut logical) = (false, false);
    while let Some(page) = pages.next().await {
        for tag in page.op("ListTagsForResource")?.tags() {
            stack |= tag.key() == STACK_TAG && tag.value() == owner.stack_id;
            logical |= tag.key() == LOGICAL_ID_TAG && tag.value() == owner.logical_id;
        }
    }
    Ok(stack && logical)
}

/// Moves the account under `parent_id` unless it is there already.
pub(crate) async fn move_to(org: &Client, account: &AccountId, parent_id: &str) -> Result<(), AwsError> {
    let parents = org.list_parents().child_id(account.as_str()).send().await.op("ListParents")?;
    let current = parents.parents().first().and_then(|parent| parent.id()).unwrap_or_default().to_owned();
    if current == parent_id {
        return Ok(());
    }
    let moved = org
        .move_account()
        .account_id(account.as_str())
        .source_parent_id(current)
        .destination_parent_id(parent_id)
        .send()
        .await
        .op("MoveAccount");
    match moved {
        Err(error) if !error.is_already_in_parent() => Err(error),
        _ => Ok(()),
    }
}

/// What Organizations says of an account: how it joined, its email, whether it is closing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Described {
    pub(crate) created: bool,
    pub(crate) email: String,
    pub(crate) closing: bool,
}

pub(crate) async fn describe(org: &Client, account: &AccountId) -> Result<Described, AwsError> {
    let answer = org.describe_account().account_id(account.as_str()).send().await.op("DescribeAccount")?;
    let account = answer.account().ok_or_else(|| AwsError::new("DescribeAccount", "answered no account"))?;
    Ok(Described {
        created: account.joined_method() == Some(&AccountJoinedMethod::Created),
        email: account.email().unwrap_or_default().to_owned(),
        closing: matches!(account.status(), Some(AccountStatus::PendingClosure | AccountStatus::Suspended)),
    })
}

/// Whether an account may be closed by the Delete of the resource that asks: it carries the resource's creation
/// tags, it joined the organization by creation (tags alone can be written by whoever may tag accounts, a
/// delegated administrator of Organizations included), and its email is the one the resource created it with.
pub(crate) fn may_close(owned: bool, described: &Described, email: Option<&str>) -> Result<(), &'static str> {
    if !owned {
        return Err("the account does not carry this resource's creation tags");
    }
    if !described.created {
        return Err("the account did not join the organization by creation (JoinedMethod is not CREATED)");
    }
    match email {
        Some(email) if email.eq_ignore_ascii_case(&described.email) => Ok(()),
        _ => Err("the account's email is not the resource's Email"),
    }
}

/// Closes the account. CloseAccount is asynchronous (the account is PENDING_CLOSURE, then SUSPENDED): one
/// already closed or closing is done. A refusal for the number of closures under way at once is tried again;
/// the 30-day quota is [`AccountError::CloseQuota`], whose Reason says what to do.
pub(crate) async fn close(org: &Client, account: &AccountId) -> Result<(), AccountError> {
    let attempt = |_| close_once(org, account);
    let closed = CLOSE_PAUSES.attempts(CLOSE_ATTEMPTS).run(attempt, |error| error.is_close_requests_limit()).await;
    match closed {
        Err(error) if error.is_close_quota() => Err(AccountError::CloseQuota(error)),
        other => Ok(other?),
    }
}

async fn close_once(org: &Client, account: &AccountId) -> Result<(), AwsError> {
    match org.close_account().account_id(account.as_str()).send().await.op("CloseAccount") {
        Ok(_) => Ok(()),
        Err(error) if error.is_already_closed() => Ok(()),
        // ConflictException: "conflicts with the current state" — closing already, or some other change.
        Err(error) if error.is_conflict() => match describe(org, account).await {
            Ok(described) if described.closing => Ok(()),
            _ => Err(error),
        },
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests;
