//! What the watch reads of AWS Organizations, with the provider's own credentials (the management account): every
//! account and its state, and the marks of the accounts worth a look ([`super::decide::candidates`]).

use aws_sdk_organizations::types::{AccountState, AccountStatus};
use aws_sdk_organizations::Client;
use std::collections::{BTreeMap, BTreeSet};
use tokio::time::Instant;

use super::decide::Standing;
use super::pace::Pace;
use crate::aws::{AwsError, Operation};
use crate::enrollment::mark::{self, Mark};
use crate::ids::AccountId;

/// ListAccounts' largest page (Organizations API Reference, ListAccounts: MaxResults, 1 to 20).
const ACCOUNTS_PAGE: i32 = 20;

/// Every account of the organization and whether it is closed or closing (ListAccounts, every page, paced).
pub(crate) async fn accounts(org: &Client, pace: &Pace) -> Result<BTreeMap<AccountId, Standing>, AwsError> {
    let mut accounts = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        pace.take(1).await;
        let page = org
            .list_accounts()
            .max_results(ACCOUNTS_PAGE)
            .set_next_token(token.take())
            .send()
            .await
            .op("ListAccounts")?;
        for account in page.accounts() {
            if let Some(id) = account.id().and_then(AccountId::parse) {
                accounts.insert(id, standing(account.state(), account.status()));
            }
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(accounts),
        }
    }
}

/// `State` where Organizations gives it (`Status` is to be retired: Organizations API Reference, Account), else
/// `Status`. Closed, closing or suspended by AWS: no member of anyone's any more.
fn standing(state: Option<&AccountState>, status: Option<&AccountStatus>) -> Standing {
    let suspended = match (state, status) {
        (Some(state), _) => {
            matches!(state, AccountState::Suspended | AccountState::PendingClosure | AccountState::Closed)
        }
        (None, Some(status)) => matches!(status, AccountStatus::Suspended | AccountStatus::PendingClosure),
        (None, None) => false,
    };
    if suspended {
        Standing::Suspended
    } else {
        Standing::Active
    }
}

/// The marks read, and what could not be read this run.
#[derive(Debug, Default)]
pub(crate) struct MarksRead {
    pub(crate) read: BTreeMap<AccountId, Vec<Mark>>,
    /// Candidates left unread: Organizations throttled the watch, or the run had to end.
    pub(crate) unread: usize,
}

/// The marks of `candidates`, one ListTagsForResource each at the watch's pace, until the first throttled answer
/// or `answer_by`; the rest wait for the next run. Each run starts at a random one: a run that cannot read them all
/// leaves others for the next one, instead of the same tail every time (the watch keeps no state between runs).
pub(crate) async fn marks(
    org: &Client,
    candidates: &BTreeSet<AccountId>,
    pace: &Pace,
    answer_by: Instant,
) -> MarksRead {
    let mut found = MarksRead::default();
    let start = fastrand::usize(..candidates.len().max(1));
    let rotated = candidates.iter().cycle().skip(start).take(candidates.len());
    for (done, account) in rotated.enumerate() {
        pace.take(1).await;
        if Instant::now() >= answer_by {
            found.unread = candidates.len() - done;
            break;
        }
        match mark::read(org, account).await {
            Ok(tags) => {
                let marks = mark::marks_in(&tags);
                if !marks.is_empty() {
                    found.read.insert(account.clone(), marks);
                }
            }
            Err(error) if error.is_outside_organization() => {}
            Err(error) if error.is_throttled() => {
                tracing::warn!(error = %error, "Organizations throttled the watch: the other marks are read next run");
                found.unread = candidates.len() - done;
                break;
            }
            Err(error) => {
                tracing::warn!(account = %account, error = %error, "membership watch mark not read");
                found.unread += 1;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_organizations::operation::list_accounts::ListAccountsOutput;
    use aws_sdk_organizations::types::Account;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use std::time::Duration;

    #[test]
    fn closed_closing_and_suspended_accounts_stand_apart() {
        assert_eq!(standing(Some(&AccountState::Active), Some(&AccountStatus::Active)), Standing::Active);
        assert_eq!(standing(Some(&AccountState::PendingActivation), None), Standing::Active);
        for state in [AccountState::Suspended, AccountState::PendingClosure, AccountState::Closed] {
            assert_eq!(standing(Some(&state), Some(&AccountStatus::Active)), Standing::Suspended, "{state:?}");
        }
        assert_eq!(standing(None, Some(&AccountStatus::PendingClosure)), Standing::Suspended);
        assert_eq!(standing(None, None), Standing::Active);
    }

    #[tokio::test(start_paused = true)]
    async fn every_page_of_accounts_is_read() {
        let account = |id: &str, state| Account::builder().id(id).state(state).build();
        let first = mock!(Client::list_accounts).match_requests(|request| request.next_token().is_none()).then_output(
            move || {
                ListAccountsOutput::builder()
                    .accounts(account("111111111111", AccountState::Active))
                    .next_token("2")
                    .build()
            },
        );
        let second = mock!(Client::list_accounts)
            .match_requests(|request| request.next_token() == Some("2"))
            .then_output(move || {
                ListAccountsOutput::builder().accounts(account("222222222222", AccountState::Suspended)).build()
            });
        let org = mock_client!(aws_sdk_organizations, RuleMode::MatchAny, [&first, &second]);
        let accounts = accounts(&org, &Pace::new(Duration::from_millis(500))).await.unwrap();
        assert_eq!(accounts.values().copied().collect::<Vec<_>>(), [Standing::Active, Standing::Suspended]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_mark_read_leaves_the_rest_for_the_next_run() {
        let throttled = mock!(Client::list_tags_for_resource).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
                aws_smithy_types::body::SdkBody::from(r#"{"__type":"TooManyRequestsException","Message":"slow down"}"#),
            )
        });
        let org = mock_client!(aws_sdk_organizations, RuleMode::MatchAny, [&throttled], |config| config
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1)));
        let candidates: BTreeSet<AccountId> =
            ["111111111111", "222222222222", "333333333333"].iter().filter_map(|id| AccountId::parse(id)).collect();
        let later = Instant::now() + Duration::from_secs(60);
        let found = marks(&org, &candidates, &Pace::new(Duration::from_millis(500)), later).await;
        assert_eq!((found.read.len(), found.unread, throttled.num_calls()), (0, 3, 1));
    }
}
