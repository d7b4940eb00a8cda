//! A fence between a Delete and a Create of the same member that overlap in time.
//!
//! CloudFormation can delete a resource whose Create is still running (a cancelled or timed-out
//! Create). The two runs share nothing but AWS, so the Delete leaves a mark on the administrator's hub
//! in each region *before* it leaves, and a Create checks for a mark newer than its own start *after*
//! it joined: if the Create looked before the mark, its join came before the Delete's leave, which
//! undoes it; if after, the Create undoes its own join. The administrator's hub is the one place that
//! exists wherever a membership can: the member's hub may not exist yet when the Delete runs.
//!
//! A Create delivered after the Delete finished (started later) is not fenced: it looks like a new one.

use aws_sdk_securityhub::Client;
use std::time::{Duration, SystemTime};

use crate::aws::{partition, Operation};
use crate::clock::epoch_millis;
use crate::ids::AccountId;

const MARK_PREFIX: &str = "securityhub-member-account:deleted:";
/// Lambda hosts keep their clocks in sync well within this.
const CLOCK_SKEW: Duration = Duration::from_secs(2);
/// No Create runs longer than Lambda's time limit: older marks can go.
const MARK_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Marks, on the administrator's hub in the client's region, that `member` was just left by a Delete.
/// Best effort: a mark that cannot be written (a hub at its tag limit) must not stop the Delete.
pub async fn mark_deleted(admin: &Client, administrator: &AccountId, member: &AccountId) {
    let now = epoch_millis(SystemTime::now()).to_string();
    let arn = hub_arn(admin, administrator);
    let marked = admin.tag_resource().resource_arn(arn).tags(format!("{MARK_PREFIX}{member}"), now).send().await;
    if let Err(error) = marked.op("TagResource") {
        tracing::warn!(error = %error, "cannot mark the administrator's hub; a Create still running is not fenced");
    }
}

/// Whether a Delete marked `member` on the administrator's hub after `since` (less the clock skew). A
/// mark that cannot be read counts as none: the fence narrows a race, it must not fail a Create.
pub async fn deleted_since(admin: &Client, administrator: &AccountId, member: &AccountId, since: SystemTime) -> bool {
    let listed = admin.list_tags_for_resource().resource_arn(hub_arn(admin, administrator)).send().await;
    let tags = match listed.op("ListTagsForResource") {
        Ok(tags) => tags,
        Err(error) => {
            tracing::warn!(error = %error, "cannot read the administrator hub's tags; assuming no concurrent Delete");
            return false;
        }
    };
    let key = format!("{MARK_PREFIX}{member}");
    let marked = tags.tags().and_then(|tags| tags.get(&key)).and_then(|at| at.parse::<u128>().ok());
    marked.is_some_and(|at| at + CLOCK_SKEW.as_millis() >= epoch_millis(since))
}

/// Removes marks older than any Create could still be running, so that marks do not pile up.
pub async fn prune(admin: &Client, administrator: &AccountId) {
    let arn = hub_arn(admin, administrator);
    let Ok(listed) = admin.list_tags_for_resource().resource_arn(&arn).send().await else { return };
    let oldest_kept = epoch_millis(SystemTime::now()).saturating_sub(MARK_LIFETIME.as_millis());
    let stale: Vec<String> = listed
        .tags()
        .into_iter()
        .flatten()
        .filter(|(key, at)| key.starts_with(MARK_PREFIX) && at.parse::<u128>().map_or(true, |at| at < oldest_kept))
        .map(|(key, _)| key.clone())
        .collect();
    if !stale.is_empty() {
        if let Err(error) =
            admin.untag_resource().resource_arn(arn).set_tag_keys(Some(stale)).send().await.op("UntagResource")
        {
            tracing::warn!(error = %error, "cannot prune old marks from the administrator's hub");
        }
    }
}

fn hub_arn(client: &Client, account: &AccountId) -> String {
    let region = client.config().region().map(|region| region.as_ref().to_owned()).unwrap_or_default();
    format!("arn:{}:securityhub:{region}:{account}:hub/default", partition(&region))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_securityhub::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_smithy_mocks::{mock, mock_client};

    const ADMIN: &str = "111111111111";
    const MEMBER: &str = "222222222222";

    fn admin_hub_marked(at: Option<SystemTime>) -> (Client, aws_smithy_mocks::Rule) {
        let rule = mock!(Client::list_tags_for_resource)
            .match_requests(|request| {
                request.resource_arn() == Some("arn:aws:securityhub:eu-west-1:111111111111:hub/default")
            })
            .then_output(move || {
                let mut output = ListTagsForResourceOutput::builder().tags("owner", "team");
                if let Some(at) = at {
                    output = output.tags(format!("{MARK_PREFIX}{MEMBER}"), epoch_millis(at).to_string());
                    output =
                        output.tags(format!("{MARK_PREFIX}333333333333"), epoch_millis(SystemTime::now()).to_string());
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
        let (admin, member) = (AccountId::parse(ADMIN).unwrap(), AccountId::parse(MEMBER).unwrap());
        let started = SystemTime::now() - Duration::from_secs(30);
        let (client, rule) = admin_hub_marked(Some(SystemTime::now()));
        assert!(deleted_since(&client, &admin, &member, started).await);
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn an_older_delete_or_none_is_not() {
        let (admin, member) = (AccountId::parse(ADMIN).unwrap(), AccountId::parse(MEMBER).unwrap());
        let started = SystemTime::now();
        let (client, _) = admin_hub_marked(Some(started - Duration::from_secs(60)));
        assert!(!deleted_since(&client, &admin, &member, started).await);
        // Another member's fresh mark is not this member's.
        let (client, _) = admin_hub_marked(None);
        assert!(!deleted_since(&client, &admin, &member, started).await);
    }
}
