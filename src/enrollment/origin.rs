//! Whether a request comes from a CloudFormation operation that is really under way (the contract's
//! "Origin"): its stack exists, an operation on it is in progress, and the stack holds the event's
//! resource, of the event's custom type and, for Update and Delete, with the event's physical id.
//!
//! CloudFormation sends a custom resource's request while the stack operation waits for it, so the stack
//! is in an `*_IN_PROGRESS` status and the resource in `CREATE_/UPDATE_/DELETE_IN_PROGRESS` (AWS
//! CloudFormation API Reference, "Stack" StackStatus and "DescribeStackResource"; User Guide, "Stack
//! status codes"). In the cleanup statuses (`UPDATE_COMPLETE_CLEANUP_IN_PROGRESS`,
//! `UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS`) CloudFormation deletes the resource a replacement left
//! behind, whose physical id is no longer the resource's: there the Delete's id may differ.

use aws_sdk_cloudformation::Client;

use super::Action;
use crate::aws::{AwsError, Operation, Session};
use crate::ids::StackArn;

/// What the event claims about its stack and resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed<'a> {
    pub stack_id: &'a str,
    pub logical_id: &'a str,
    pub resource_type: &'a str,
    pub action: &'a Action,
}

/// What CloudFormation answered: the stack's status (`None`: no such stack) and the resource's type and
/// physical id (`None`: no such resource).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Seen {
    pub stack_status: Option<String>,
    pub resource: Option<(String, Option<String>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginRefusal {
    #[error("StackId: no such stack ({0})")]
    NoStack(String),
    #[error("StackId: no operation is in progress on the stack (it is {0})")]
    NotInProgress(String),
    #[error("LogicalResourceId: the stack has no resource {0}")]
    NoResource(String),
    #[error("ResourceType: {0} is not a custom resource type")]
    NotCustom(String),
    #[error("ResourceType: the stack's {logical_id} is a {found}, not a {claimed}")]
    OtherType { logical_id: String, found: String, claimed: String },
    #[error("PhysicalResourceId: the stack's {logical_id} is {found}, not {claimed}")]
    OtherPhysicalId { logical_id: String, found: String, claimed: String },
}

/// The decision, from what CloudFormation answered.
pub fn check(claimed: &Claimed<'_>, seen: &Seen) -> Result<(), OriginRefusal> {
    if !is_custom(claimed.resource_type) {
        return Err(OriginRefusal::NotCustom(claimed.resource_type.to_owned()));
    }
    let status = seen.stack_status.as_deref().ok_or_else(|| OriginRefusal::NoStack(claimed.stack_id.to_owned()))?;
    // REVIEW_IN_PROGRESS is a change set waiting to be run: no operation is sending requests.
    if !status.ends_with("_IN_PROGRESS") || status == "REVIEW_IN_PROGRESS" {
        return Err(OriginRefusal::NotInProgress(status.to_owned()));
    }
    let logical_id = claimed.logical_id.to_owned();
    let Some((found_type, found_id)) = &seen.resource else { return Err(OriginRefusal::NoResource(logical_id)) };
    if found_type != claimed.resource_type {
        let (found, claimed) = (found_type.clone(), claimed.resource_type.to_owned());
        return Err(OriginRefusal::OtherType { logical_id, found, claimed });
    }
    let physical_id = match claimed.action {
        Action::Create => return Ok(()),
        Action::Update { physical_id, .. } => physical_id,
        Action::Delete { physical_id } if status.ends_with("_CLEANUP_IN_PROGRESS") => {
            tracing::info!(physical_id = %physical_id, "Delete of a replaced resource during cleanup");
            return Ok(());
        }
        Action::Delete { physical_id } => physical_id,
    };
    match found_id {
        Some(found) if found == physical_id => Ok(()),
        found => Err(OriginRefusal::OtherPhysicalId {
            logical_id,
            found: found.clone().unwrap_or_else(|| "not created yet".to_owned()),
            claimed: physical_id.clone(),
        }),
    }
}

/// `AWS::CloudFormation::CustomResource` or a `Custom::` type (User Guide, AWS::CloudFormation::CustomResource).
fn is_custom(resource_type: &str) -> bool {
    resource_type == "AWS::CloudFormation::CustomResource"
        || resource_type.strip_prefix("Custom::").is_some_and(|name| !name.is_empty())
}

/// Reads the stack and the resource with `session` (credentials in the stack's account) and checks them.
/// A read that fails for another reason than "does not exist" is an error: the request is not verified.
pub async fn verify(
    session: &Session,
    stack: &StackArn,
    claimed: &Claimed<'_>,
) -> Result<Result<(), OriginRefusal>, AwsError> {
    Ok(check(claimed, &read(session, stack, claimed).await?))
}

/// What CloudFormation shows now of the stack and of the claimed resource (both read at once).
pub async fn read(session: &Session, stack: &StackArn, claimed: &Claimed<'_>) -> Result<Seen, AwsError> {
    let client = session.cloudformation(&stack.region);
    let (stack_status, resource) = tokio::join!(stack_status(&client, claimed), resource(&client, claimed));
    Ok(Seen { stack_status: stack_status?, resource: resource? })
}

async fn stack_status(client: &Client, claimed: &Claimed<'_>) -> Result<Option<String>, AwsError> {
    let answer = client.describe_stacks().stack_name(claimed.stack_id).send().await.op("DescribeStacks");
    let stacks = match answer {
        Err(error) if error.is_missing_stack() => return Ok(None),
        other => other?,
    };
    // By its unique id, DescribeStacks also answers deleted stacks (DELETE_COMPLETE): not in progress.
    let stack = stacks.stacks().iter().find(|stack| stack.stack_id() == Some(claimed.stack_id));
    Ok(stack.and_then(|stack| stack.stack_status()).map(|status| status.as_str().to_owned()))
}

async fn resource(client: &Client, claimed: &Claimed<'_>) -> Result<Option<(String, Option<String>)>, AwsError> {
    let answer = client
        .describe_stack_resource()
        .stack_name(claimed.stack_id)
        .logical_resource_id(claimed.logical_id)
        .send()
        .await
        .op("DescribeStackResource");
    let detail = match answer {
        Err(error) if error.is_missing_stack() => return Ok(None),
        other => other?,
    };
    Ok(detail.stack_resource_detail().map(|detail| {
        (detail.resource_type().unwrap_or_default().to_owned(), detail.physical_resource_id().map(str::to_owned))
    }))
}

#[cfg(test)]
mod tests;
