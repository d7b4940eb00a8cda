//! Whether the resource a mark names still holds the member: a mark is only a claim, so before the watch reports
//! a member as this provider's, or joins it again, it asks CloudFormation in the stack's own account and region
//! (DescribeStacks and DescribeStackResource, as the origin check reads them; CloudFormation API Reference,
//! StackStatus and StackResourceDetail).

use aws_sdk_cloudformation::Client;
use std::collections::BTreeSet;
use std::time::Duration;

use crate::aws::{Aws, AwsError, Operation};
use crate::enrollment::mark::Mark;
use crate::ids::{AccountId, StackArn};

/// What CloudFormation shows of a resource's stack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    /// `None`: no such stack.
    pub(crate) stack_status: Option<String>,
    /// `None`: the stack holds no such logical id.
    pub(crate) resource: Option<SeenResource>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SeenResource {
    pub(crate) resource_type: String,
    pub(crate) physical_id: Option<String>,
    pub(crate) status: String,
}

/// What the mark's resource is to the member now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ownership {
    /// The stack is at rest and its resource holds the member: report it, and heal it when asked.
    Held,
    /// The stack is in an operation (an update or a delete of this very resource may be why the member left):
    /// looked at again next run.
    Busy(String),
    /// The stack or the resource is gone, or holds another account: the mark is stale (a `DeletionPolicy: Retain`
    /// resource, a Delete whose mark removal failed). Not reported; the watch takes the mark off.
    Gone(String),
    /// The stack is stuck (a `*_FAILED` status) or could not be read: reported, never healed.
    Unconfirmed(String),
}

impl Ownership {
    /// A word for the report.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Ownership::Held => "held",
            Ownership::Busy(_) => "busy",
            Ownership::Gone(_) => "gone",
            Ownership::Unconfirmed(_) => "unconfirmed",
        }
    }
}

/// Stack statuses of a stack at rest with its resources in place (StackStatus); `ROLLBACK_COMPLETE` is a failed
/// creation whose resources were deleted.
const AT_REST: [&str; 5] =
    ["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"];
/// A resource in place (ResourceStatus).
const IN_PLACE: [&str; 4] = ["CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"];
const GONE: [&str; 2] = ["DELETE_COMPLETE", "ROLLBACK_COMPLETE"];
/// How long one confirmation may take: a stack account whose role hangs must not hold up the others.
const CONFIRM_PATIENCE: Duration = Duration::from_secs(20);

/// The decision, from what CloudFormation showed.
pub(crate) fn judge(seen: &Seen, mark: &Mark, member: &AccountId, resource_types: &BTreeSet<String>) -> Ownership {
    let logical_id = &mark.owner.logical_id;
    let Some(stack_status) = seen.stack_status.as_deref() else {
        return Ownership::Gone("its stack no longer exists".to_owned());
    };
    if GONE.contains(&stack_status) {
        return Ownership::Gone(format!("its stack is {stack_status}"));
    }
    let Some(resource) = &seen.resource else {
        return Ownership::Gone(format!("its stack no longer holds {logical_id}"));
    };
    if !resource_types.contains(&resource.resource_type) {
        return Ownership::Gone(format!("its stack's {logical_id} is a {}", resource.resource_type));
    }
    if resource.physical_id.as_deref() != Some(member.as_str()) {
        let now = resource.physical_id.as_deref().unwrap_or("no account");
        return Ownership::Gone(format!("its stack's {logical_id} is {now} now"));
    }
    if stack_status.ends_with("_IN_PROGRESS") || resource.status.ends_with("_IN_PROGRESS") {
        return Ownership::Busy(format!("its stack is {stack_status}"));
    }
    if AT_REST.contains(&stack_status) && IN_PLACE.contains(&resource.status.as_str()) {
        return Ownership::Held;
    }
    Ownership::Unconfirmed(format!("its stack is {stack_status}, {logical_id} {}", resource.status))
}

/// Reads the mark's stack in its own account (the provider's credentials there, else the mark's member role, as
/// the origin check does) and judges it.
pub(crate) async fn confirm(
    aws: &Aws,
    mark: &Mark,
    member: &AccountId,
    resource_types: &BTreeSet<String>,
    session_name: &str,
) -> Ownership {
    let Some(stack) = StackArn::parse(&mark.owner.stack_id) else {
        return Ownership::Gone("its StackId is no stack ARN".to_owned());
    };
    let read = async {
        let session = aws.session(&stack.account, &mark.member_role_name, Duration::ZERO, session_name).await?;
        read(&session.cloudformation(&stack.region), &mark.owner.stack_id, &mark.owner.logical_id).await
    };
    match tokio::time::timeout(CONFIRM_PATIENCE, read).await {
        Ok(Ok(seen)) => judge(&seen, mark, member, resource_types),
        Ok(Err(error)) => Ownership::Unconfirmed(format!("its stack could not be read: {error}")),
        Err(_) => Ownership::Unconfirmed("its stack could not be read in time".to_owned()),
    }
}

async fn read(client: &Client, stack_id: &str, logical_id: &str) -> Result<Seen, AwsError> {
    let stacks = client.describe_stacks().stack_name(stack_id).send();
    let resource = client.describe_stack_resource().stack_name(stack_id).logical_resource_id(logical_id).send();
    let (stacks, resource) = tokio::join!(stacks, resource);
    let stack_status = match stacks.op("DescribeStacks") {
        Err(error) if error.is_missing_stack() => None,
        other => other?
            .stacks()
            .iter()
            .find(|found| found.stack_id() == Some(stack_id))
            .and_then(|found| found.stack_status())
            .map(|status| status.as_str().to_owned()),
    };
    let resource = match resource.op("DescribeStackResource") {
        Err(error) if error.is_missing_stack() => None,
        other => other?.stack_resource_detail().map(|detail| SeenResource {
            resource_type: detail.resource_type().unwrap_or_default().to_owned(),
            physical_id: detail.physical_resource_id().filter(|id| !id.is_empty()).map(str::to_owned),
            status: detail.resource_status().map(|status| status.as_str().to_owned()).unwrap_or_default(),
        }),
    };
    Ok(Seen { stack_status, resource })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrollment::accounts::Owner;

    const MEMBER: &str = "222222222222";
    const TYPE: &str = "Custom::SecurityHubMemberAccount";

    fn mark() -> Mark {
        Mark {
            administrator: AccountId::parse("111111111111").unwrap(),
            owner: Owner {
                stack_id: "arn:aws:cloudformation:us-east-1:111111111111:stack/s/1".to_owned(),
                logical_id: "Member".to_owned(),
            },
            regions: vec!["us-east-1".to_owned()],
            member_role_name: "OrganizationAccountAccessRole".to_owned(),
            enable_default_standards: true,
        }
    }

    fn seen(stack: &str, resource_type: &str, physical_id: &str, status: &str) -> Seen {
        Seen {
            stack_status: Some(stack.to_owned()),
            resource: Some(SeenResource {
                resource_type: resource_type.to_owned(),
                physical_id: Some(physical_id.to_owned()).filter(|id| !id.is_empty()),
                status: status.to_owned(),
            }),
        }
    }

    fn judged(seen: &Seen) -> Ownership {
        let types = BTreeSet::from([TYPE.to_owned()]);
        judge(seen, &mark(), &AccountId::parse(MEMBER).unwrap(), &types)
    }

    #[test]
    fn a_stack_at_rest_holding_the_member_holds_it() {
        assert_eq!(judged(&seen("CREATE_COMPLETE", TYPE, MEMBER, "CREATE_COMPLETE")), Ownership::Held);
        assert_eq!(judged(&seen("UPDATE_ROLLBACK_COMPLETE", TYPE, MEMBER, "UPDATE_COMPLETE")), Ownership::Held);
    }

    #[test]
    fn a_stack_in_an_operation_is_looked_at_next_run() {
        for (stack, resource) in
            [("DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS"), ("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE")]
        {
            assert!(matches!(judged(&seen(stack, TYPE, MEMBER, resource)), Ownership::Busy(_)), "{stack}");
        }
    }

    #[test]
    fn a_resource_no_longer_there_or_holding_another_account_is_gone() {
        assert!(matches!(judged(&Seen::default()), Ownership::Gone(_)));
        assert!(matches!(judged(&seen("DELETE_COMPLETE", TYPE, MEMBER, "DELETE_COMPLETE")), Ownership::Gone(_)));
        assert!(matches!(judged(&seen("ROLLBACK_COMPLETE", TYPE, MEMBER, "DELETE_COMPLETE")), Ownership::Gone(_)));
        let no_resource = Seen { stack_status: Some("UPDATE_COMPLETE".to_owned()), resource: None };
        assert!(matches!(judged(&no_resource), Ownership::Gone(_)));
        let moved = judged(&seen("UPDATE_COMPLETE", TYPE, "333333333333", "UPDATE_COMPLETE"));
        assert_eq!(moved, Ownership::Gone("its stack's Member is 333333333333 now".to_owned()));
        assert!(matches!(
            judged(&seen("CREATE_COMPLETE", "AWS::SNS::Topic", MEMBER, "CREATE_COMPLETE")),
            Ownership::Gone(_)
        ));
    }

    #[test]
    fn a_stuck_stack_is_reported_unconfirmed() {
        let stuck = judged(&seen("UPDATE_ROLLBACK_FAILED", TYPE, MEMBER, "UPDATE_FAILED"));
        assert!(matches!(stuck, Ownership::Unconfirmed(_)), "{stuck:?}");
    }
}
