//! One administrator's members in one region: ListMembers with OnlyAssociated false, every page, at the watch's
//! pace, stopping at the first throttled answer.
//!
//! "If OnlyAssociated is set to FALSE, the response includes all existing member accounts" (Security Hub API
//! Reference, ListMembers), whatever their status; the default (TRUE) lists only Enabled ones, which would hide
//! every member that left. MaxResults is at most 50, so a region of N members costs ceil(N / 50) calls.

use aws_sdk_securityhub::Client;
use std::collections::BTreeMap;

use super::decide::Listed;
use super::pace::Pace;
use crate::aws::Operation;
use crate::ids::AccountId;

/// ListMembers' largest page (Security Hub API Reference, ListMembers: MaxResults, 1 to 50).
const PAGE: i32 = 50;

/// The region's members, and how many ListMembers calls that took.
pub(crate) async fn list(admin: &Client, pace: &Pace) -> (Listed, u32) {
    let mut members = BTreeMap::new();
    let mut token: Option<String> = None;
    let mut calls = 0;
    loop {
        pace.take(1).await;
        calls += 1;
        let page = admin
            .list_members()
            .only_associated(false)
            .max_results(PAGE)
            .set_next_token(token.take())
            .send()
            .await
            .op("ListMembers");
        let page = match page {
            Ok(page) => page,
            Err(error) if error.is_throttled() => return (Listed::Throttled, calls),
            Err(error) if error.is_no_hub() => return (Listed::NoHub, calls),
            Err(error) if error.is_scp_denied() => return (Listed::Denied, calls),
            Err(error) => return (Listed::Failed(error), calls),
        };
        for member in page.members() {
            let account = member.account_id().and_then(AccountId::parse);
            if let (Some(account), Some(status)) = (account, member.member_status()) {
                members.insert(account, status.to_owned());
            }
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return (Listed::Members(members), calls),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_securityhub::operation::list_members::ListMembersOutput;
    use aws_sdk_securityhub::types::Member;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use std::time::Duration;

    fn page(members: &[(&str, &str)], next: Option<&str>) -> ListMembersOutput {
        let members =
            members.iter().map(|(id, status)| Member::builder().account_id(*id).member_status(*status).build());
        ListMembersOutput::builder()
            .set_members(Some(members.collect()))
            .set_next_token(next.map(str::to_owned))
            .build()
    }

    fn error(status: u16, code: &str, message: &str) -> aws_smithy_runtime_api::http::Response {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
            aws_smithy_types::body::SdkBody::from(serde_json::json!({"__type": code, "Message": message}).to_string()),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn every_page_every_status_at_the_watch_s_pace() {
        let first = mock!(Client::list_members)
            .match_requests(|request| request.only_associated() == Some(false) && request.next_token().is_none())
            .then_output(|| page(&[("222222222222", "Enabled"), ("333333333333", "Resigned")], Some("2")));
        let second = mock!(Client::list_members)
            .match_requests(|request| request.next_token() == Some("2"))
            .then_output(|| page(&[("444444444444", "Removed"), ("not-an-id", "Enabled")], None));
        let admin = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&first, &second]);
        let began = tokio::time::Instant::now();
        let (listed, calls) = list(&admin, &Pace::new(Duration::from_millis(500))).await;
        assert_eq!(calls, 2);
        assert!(began.elapsed() >= Duration::from_millis(500), "the second page waits its turn");
        let Listed::Members(members) = listed else { panic!("{listed:?}") };
        let statuses: Vec<&str> = members.values().map(String::as_str).collect();
        assert_eq!(statuses, ["Enabled", "Resigned", "Removed"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_answer_stops_the_region_no_hub_and_denial_are_told_apart() {
        let cases = [
            (429, "LimitExceededException", "Rate exceeded", Listed::Throttled),
            (
                401,
                "InvalidAccessException",
                "Account 111111111111 is not subscribed to AWS Security Hub",
                Listed::NoHub,
            ),
            (403, "AccessDeniedException", "with an explicit deny in a service control policy", Listed::Denied),
        ];
        for (status, code, message, expected) in cases {
            let refused = mock!(Client::list_members).then_http_response(move || error(status, code, message));
            let admin = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&refused], |config| config
                .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1)));
            let (listed, calls) = list(&admin, &Pace::new(Duration::from_millis(500))).await;
            assert_eq!((listed, calls), (expected, 1), "{code}");
        }
    }
}
