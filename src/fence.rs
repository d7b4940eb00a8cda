//! A fence between a Delete and a Create of the same member that overlap in time.
//!
//! CloudFormation can delete a resource whose Create is still running (a cancelled or timed-out
//! Create), and Lambda can deliver a Create late. The two runs share nothing but AWS, so the Delete
//! leaves a mark on the member's hub in each region *before* it leaves, and a Create checks for a
//! mark newer than its own start *after* it joined: if the Create looked before the mark, its join
//! came before the Delete's leave, which undoes it; if after, the Create undoes its own join.

use aws_sdk_securityhub::Client;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::aws::{partition, AwsError, Operation};
use crate::properties::AccountId;

pub const DELETED_AT_TAG: &str = "securityhub-member-account:deleted-at";
/// Lambda hosts keep their clocks in sync well within this.
const CLOCK_SKEW: Duration = Duration::from_secs(2);

/// Marks the member's hub in the client's region as left by a Delete, now.
pub async fn mark_deleted(member: &Client, account: &AccountId) -> Result<(), AwsError> {
    let now = millis(SystemTime::now()).to_string();
    let marked = member.tag_resource().resource_arn(hub_arn(member, account)).tags(DELETED_AT_TAG, now).send().await;
    match marked.op("TagResource") {
        // No hub, no membership to protect.
        Err(error) if !error.is("InvalidAccessException") && !error.is("ResourceNotFoundException") => Err(error),
        _ => Ok(()),
    }
}

/// Whether a Delete marked the member's hub after `since` (less the clock skew). A mark that cannot
/// be read counts as none: the fence narrows a race, it must not fail a Create on its own.
pub async fn deleted_since(member: &Client, account: &AccountId, since: SystemTime) -> bool {
    let listed = member.list_tags_for_resource().resource_arn(hub_arn(member, account)).send().await;
    let tags = match listed.op("ListTagsForResource") {
        Ok(tags) => tags,
        Err(error) => {
            tracing::warn!(error = %error, "cannot read the member hub's tags; assuming no concurrent Delete");
            return false;
        }
    };
    let marked = tags.tags().and_then(|tags| tags.get(DELETED_AT_TAG)).and_then(|at| at.parse::<u128>().ok());
    marked.is_some_and(|at| at + CLOCK_SKEW.as_millis() >= millis(since))
}

fn hub_arn(member: &Client, account: &AccountId) -> String {
    let region = member.config().region().map(|region| region.as_ref().to_owned()).unwrap_or_default();
    format!("arn:{}:securityhub:{region}:{account}:hub/default", partition(&region))
}

fn millis(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_securityhub::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_smithy_mocks::{mock, mock_client};

    fn member_marked(at: Option<SystemTime>) -> (Client, aws_smithy_mocks::Rule) {
        let rule = mock!(Client::list_tags_for_resource)
            .match_requests(|request| {
                request.resource_arn() == Some("arn:aws:securityhub:eu-west-1:222222222222:hub/default")
            })
            .then_output(move || {
                let mut output = ListTagsForResourceOutput::builder().tags("owner", "team");
                if let Some(at) = at {
                    output = output.tags(DELETED_AT_TAG, millis(at).to_string());
                }
                output.build()
            });
        let client =
            mock_client!(aws_sdk_securityhub, aws_smithy_mocks::RuleMode::Sequential, [&rule], |config| config
                .region(aws_config::Region::new("eu-west-1")));
        (client, rule)
    }

    #[tokio::test]
    async fn a_delete_after_the_create_started_is_seen() {
        let account = AccountId::parse("222222222222").unwrap();
        let started = SystemTime::now() - Duration::from_secs(30);
        let (member, rule) = member_marked(Some(SystemTime::now()));
        assert!(deleted_since(&member, &account, started).await);
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn an_older_delete_or_none_is_not() {
        let account = AccountId::parse("222222222222").unwrap();
        let started = SystemTime::now();
        let (member, _) = member_marked(Some(started - Duration::from_secs(60)));
        assert!(!deleted_since(&member, &account, started).await);
        let (member, _) = member_marked(None);
        assert!(!deleted_since(&member, &account, started).await);
    }
}
