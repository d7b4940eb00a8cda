//! Enrollment: what a request does in AWS. [`plan`] decides from the properties alone; [`lifecycle`]
//! carries the decision out with [`accounts`] (Organizations), [`regions`] (which regions), and, in every
//! region at once ([`fanout`]), [`membership`] (join and leave) with its [`fence`] against a Delete that
//! overlaps a running Create.

use serde_json::Value;

pub(crate) mod accounts;
pub(crate) mod authorization;
mod error;
pub(crate) mod fanout;
pub(crate) mod fence;
mod gate;
pub(crate) mod lifecycle;
pub(crate) mod mark;
pub(crate) mod membership;
pub(crate) mod origin;
pub(crate) mod plan;
pub(crate) mod regions;

pub(crate) use authorization::Channel;
pub(crate) use error::{LifecycleError, Side};

/// One request, as the work needs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Work {
    pub(crate) action: Action,
    pub(crate) properties: Value,
    pub(crate) stack_id: String,
    pub(crate) logical_id: String,
    pub(crate) resource_type: String,
    pub(crate) request_id: String,
    /// A continuation of a request an earlier invocation began (see the protocol's continuations): when
    /// CloudFormation no longer waits for it, it is dropped unanswered instead of refused.
    pub(crate) continued: bool,
    /// How the request reached the provider: trust follows the channel, not the StackId it names.
    pub(crate) channel: Channel,
}

/// What CloudFormation asks for, with the fields the work needs besides the properties.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    Create,
    Update { physical_id: String, old_properties: Value },
    Delete { physical_id: String },
}

impl Action {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Action::Create => "Create",
            Action::Update { .. } => "Update",
            Action::Delete { .. } => "Delete",
        }
    }
}
