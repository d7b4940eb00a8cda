//! Whether a request comes from a CloudFormation operation that is really waiting for it (docs/design.md,
//! "Origin"), and, for an untrusted request, whether what it asks for is its stack's template's.
//!
//! CloudFormation sends a custom resource's request while the stack operation waits for it: the stack is in an
//! `*_IN_PROGRESS` status and the resource in the status of that request type ([`statuses`]: the table, with
//! its sources, is docs/origin-statuses.md; API Reference, DescribeStacks and DescribeStackResource). So the
//! request's StackId must name a stack that holds its LogicalResourceId, of a type this provider serves, whose
//! own status shows CloudFormation waiting for this request type, and, for Update and Delete, whose physical id
//! is the request's. The one exception is the Delete of a physical id that a replacement left behind, during a
//! cleanup: its events must show that very delete in progress ([`events`]). Then an untrusted request's
//! harmful properties are compared with the stack's template ([`template`]).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudformation::types::TemplateStage;
use aws_sdk_cloudformation::Client;

use super::Action;
use crate::aws::{AwsError, Operation, Session};
use crate::config::GENERIC_CUSTOM_RESOURCE_TYPE;
use crate::ids::StackArn;

pub(crate) mod events;
pub(crate) mod statuses;
pub(crate) mod template;

use events::SeenEvent;
use statuses::Kind;
use template::{Binding, Unbound};

/// Pages of DescribeStackEvents read at most: the events of the current phase are the newest, on the first.
const MAX_EVENT_PAGES: usize = 5;

/// What CloudFormation shows while it waits for this request: the stack and resource the event names, of a type
/// this provider serves.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Expectation<'a> {
    pub(crate) stack_id: &'a str,
    pub(crate) logical_id: &'a str,
    pub(crate) resource_type: &'a str,
    pub(crate) action: &'a Action,
    pub(crate) resource_types: &'a BTreeSet<String>,
}

/// The stack's resource, as DescribeStackResource shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SeenResource {
    pub(crate) resource_type: String,
    pub(crate) physical_id: Option<String>,
    pub(crate) status: String,
}

/// What CloudFormation answered: the stack's status (`None`: no such stack) and parameters, and the resource
/// (`None`: no such resource).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Seen {
    pub(crate) stack_status: Option<String>,
    pub(crate) parameters: BTreeMap<String, String>,
    pub(crate) resource: Option<SeenResource>,
}

/// CloudFormation waits for the request, or does if its events show the delete of a replaced physical id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Awaited {
    Yes,
    IfEventsShowDelete { physical_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OriginRefusal {
    #[error("StackId: no such stack ({0})")]
    NoStack(String),
    #[error("StackId: no operation is in progress on the stack (it is {0})")]
    NotInProgress(String),
    #[error("LogicalResourceId: the stack has no resource {0}")]
    NoResource(String),
    #[error("ResourceType: {expected} is not a resource type this provider serves (RESOURCE_TYPES: {served})")]
    NotServed { expected: String, served: String },
    #[error("ResourceType: the stack's {logical_id} is a {found}, not a {expected}")]
    OtherType { logical_id: String, found: String, expected: String },
    #[error("RequestType: CloudFormation is not waiting for a {request} of the stack's {logical_id} (the resource is {resource_status}, the stack {stack_status})")]
    NotAwaited { request: &'static str, logical_id: String, resource_status: String, stack_status: String },
    #[error("PhysicalResourceId: the stack's {logical_id} is {found}, not {expected}")]
    OtherPhysicalId { logical_id: String, found: String, expected: String },
    #[error("PhysicalResourceId: the stack's events show no delete of {physical_id} as its {logical_id} in the current operation ({stack_status})")]
    NoDeleteEvent { logical_id: String, physical_id: String, stack_status: String },
    #[error(transparent)]
    Unbound(#[from] Unbound),
}

/// The decision, from what CloudFormation answered.
pub(crate) fn check(expected: &Expectation<'_>, seen: &Seen) -> Result<Awaited, OriginRefusal> {
    served(expected)?;
    let status = seen.stack_status.as_deref().ok_or_else(|| OriginRefusal::NoStack(expected.stack_id.to_owned()))?;
    if !statuses::in_progress(status) {
        return Err(OriginRefusal::NotInProgress(status.to_owned()));
    }
    let logical_id = expected.logical_id.to_owned();
    let Some(resource) = &seen.resource else { return Err(OriginRefusal::NoResource(logical_id)) };
    if !same_type(expected, &resource.resource_type, status) {
        let (found, expected) = (resource.resource_type.clone(), expected.resource_type.to_owned());
        return Err(OriginRefusal::OtherType { logical_id, found, expected });
    }
    let awaited = || {
        let kind = Kind::of(expected.action);
        statuses::awaits(kind, status, &resource.status).then_some(Awaited::Yes).ok_or_else(|| {
            OriginRefusal::NotAwaited {
                request: expected.action.name(),
                logical_id: logical_id.clone(),
                resource_status: resource.status.clone(),
                stack_status: status.to_owned(),
            }
        })
    };
    match expected.action {
        Action::Create => awaited(),
        Action::Update { physical_id, .. } => {
            awaited().and_then(|yes| same_id(resource, physical_id, &logical_id).map(|()| yes))
        }
        Action::Delete { physical_id } if resource.physical_id.as_deref() == Some(physical_id.as_str()) => awaited(),
        Action::Delete { physical_id } if statuses::cleaning_up(status) => {
            Ok(Awaited::IfEventsShowDelete { physical_id: physical_id.clone() })
        }
        Action::Delete { physical_id } => same_id(resource, physical_id, &logical_id).map(|()| Awaited::Yes),
    }
}

/// The event's type must be one this provider serves: checked before any read.
pub(crate) fn served(expected: &Expectation<'_>) -> Result<(), OriginRefusal> {
    if expected.resource_types.contains(expected.resource_type) {
        return Ok(());
    }
    let served = expected.resource_types.iter().map(String::as_str).collect::<Vec<_>>().join(", ");
    Err(OriginRefusal::NotServed { expected: expected.resource_type.to_owned(), served })
}

/// The stack's resource is of the expected type. A cleanup's Delete may show a `Custom::` resource as the generic
/// custom resource type, as the stack events of a rollback cleanup do (docs/origin-statuses.md).
fn same_type(expected: &Expectation<'_>, found: &str, stack_status: &str) -> bool {
    found == expected.resource_type
        || (matches!(expected.action, Action::Delete { .. })
            && statuses::cleaning_up(stack_status)
            && found == GENERIC_CUSTOM_RESOURCE_TYPE
            && expected.resource_type.starts_with("Custom::"))
}

fn same_id(resource: &SeenResource, physical_id: &str, logical_id: &str) -> Result<(), OriginRefusal> {
    match &resource.physical_id {
        Some(found) if found == physical_id => Ok(()),
        found => Err(OriginRefusal::OtherPhysicalId {
            logical_id: logical_id.to_owned(),
            found: found.clone().unwrap_or_else(|| "not created yet".to_owned()),
            expected: physical_id.to_owned(),
        }),
    }
}

/// What the origin check of one request binds besides the stack: the properties an untrusted request carries
/// that its template must have, and whether a value the template cannot show is let through.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bound {
    pub(crate) bindings: Vec<Binding>,
    pub(crate) allow_unverified: bool,
}

/// Reads the stack with `session` (credentials in the stack's account) and checks it; a read that fails for
/// another reason than "does not exist" is an error: the request is not verified.
pub(crate) async fn verify(
    session: &Session,
    stack: &StackArn,
    expected: &Expectation<'_>,
    bound: &Bound,
) -> Result<Result<(), OriginRefusal>, AwsError> {
    if let Err(refusal) = served(expected) {
        return Ok(Err(refusal));
    }
    let client = session.cloudformation(&stack.region);
    let seen = read_with(&client, expected).await?;
    match check(expected, &seen) {
        Err(refusal) => return Ok(Err(refusal)),
        Ok(Awaited::Yes) => {}
        Ok(Awaited::IfEventsShowDelete { physical_id }) => {
            let events = read_events(&client, expected.stack_id).await?;
            if !events::delete_in_progress(&events, expected.stack_id, expected.logical_id, &physical_id) {
                let (logical_id, stack_status) =
                    (expected.logical_id.to_owned(), seen.stack_status.unwrap_or_default());
                return Ok(Err(OriginRefusal::NoDeleteEvent { logical_id, physical_id, stack_status }));
            }
            tracing::info!(physical_id = %physical_id, "the stack's events show this replaced resource being deleted");
        }
    }
    if bound.bindings.is_empty() {
        return Ok(Ok(()));
    }
    let body = read_template(&client, expected.stack_id).await?;
    let context = template::Context {
        logical_id: expected.logical_id,
        parameters: &seen.parameters,
        account: stack.account.as_str(),
        region: &stack.region,
        partition: expected.stack_id.split(':').nth(1).unwrap_or("aws"),
    };
    match template::check(&body, context, &bound.bindings) {
        Err(unbound) if unbound.is_unverifiable() && bound.allow_unverified => {
            tracing::warn!(reason = %unbound, "not verified against the stack's template; allowed by ALLOW_UNVERIFIED_HARMFUL_PROPERTIES");
            Ok(Ok(()))
        }
        checked => Ok(checked.map_err(OriginRefusal::from)),
    }
}

/// What CloudFormation shows now of the stack and of the expected resource (both read at once).
pub(crate) async fn read(session: &Session, stack: &StackArn, expected: &Expectation<'_>) -> Result<Seen, AwsError> {
    read_with(&session.cloudformation(&stack.region), expected).await
}

async fn read_with(client: &Client, expected: &Expectation<'_>) -> Result<Seen, AwsError> {
    let (described, resource) = tokio::join!(stack_of(client, expected), resource(client, expected));
    let (stack_status, parameters) = described?.unwrap_or_default();
    Ok(Seen { stack_status, parameters, resource: resource? })
}

/// The stack's status and parameters (DescribeStacks; `None` when there is no such stack).
async fn stack_of(
    client: &Client,
    expected: &Expectation<'_>,
) -> Result<Option<(Option<String>, BTreeMap<String, String>)>, AwsError> {
    let answer = client.describe_stacks().stack_name(expected.stack_id).send().await.op("DescribeStacks");
    let stacks = match answer {
        Err(error) if error.is_missing_stack() => return Ok(None),
        other => other?,
    };
    // By its unique id, DescribeStacks also answers deleted stacks (DELETE_COMPLETE): not in progress.
    let Some(stack) = stacks.stacks().iter().find(|stack| stack.stack_id() == Some(expected.stack_id)) else {
        return Ok(None);
    };
    // An SSM parameter type's value is its ResolvedValue (API Reference, Parameter).
    let parameters = stack
        .parameters()
        .iter()
        .filter_map(|parameter| {
            let value = parameter.resolved_value().or(parameter.parameter_value())?;
            Some((parameter.parameter_key()?.to_owned(), value.to_owned()))
        })
        .collect();
    Ok(Some((stack.stack_status().map(|status| status.as_str().to_owned()), parameters)))
}

async fn resource(client: &Client, expected: &Expectation<'_>) -> Result<Option<SeenResource>, AwsError> {
    let answer = client
        .describe_stack_resource()
        .stack_name(expected.stack_id)
        .logical_resource_id(expected.logical_id)
        .send()
        .await
        .op("DescribeStackResource");
    let detail = match answer {
        Err(error) if error.is_missing_stack() => return Ok(None),
        other => other?,
    };
    Ok(detail.stack_resource_detail().map(|detail| SeenResource {
        resource_type: detail.resource_type().unwrap_or_default().to_owned(),
        physical_id: detail.physical_resource_id().filter(|id| !id.is_empty()).map(str::to_owned),
        status: detail.resource_status().map(|status| status.as_str().to_owned()).unwrap_or_default(),
    }))
}

/// The stack's events, newest first, at most [`MAX_EVENT_PAGES`] pages.
async fn read_events(client: &Client, stack_id: &str) -> Result<Vec<SeenEvent>, AwsError> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_EVENT_PAGES {
        let page = client
            .describe_stack_events()
            .stack_name(stack_id)
            .set_next_token(token.take())
            .send()
            .await
            .op("DescribeStackEvents")?;
        events.extend(page.stack_events().iter().map(|event| SeenEvent {
            logical_id: event.logical_resource_id().unwrap_or_default().to_owned(),
            physical_id: event.physical_resource_id().unwrap_or_default().to_owned(),
            resource_type: event.resource_type().unwrap_or_default().to_owned(),
            status: event.resource_status().map(|status| status.as_str().to_owned()).unwrap_or_default(),
        }));
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(events)
}

/// The stack's template after transforms (GetTemplate, TemplateStage Processed).
async fn read_template(client: &Client, stack_id: &str) -> Result<String, AwsError> {
    let answer = client
        .get_template()
        .stack_name(stack_id)
        .template_stage(TemplateStage::Processed)
        .send()
        .await
        .op("GetTemplate")?;
    Ok(answer.template_body().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests;
