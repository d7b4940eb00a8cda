//! Enrollment: what a request does in AWS. [`plan`] decides from the properties alone; [`lifecycle`]
//! carries the decision out with [`accounts`] (Organizations), [`regions`] (which regions), and, in every
//! region at once ([`fanout`]), [`membership`] (join and leave) with its [`fence`] against a Delete that
//! overlaps a running Create.

use serde_json::Value;

pub mod accounts;
pub mod authorization;
mod error;
pub mod fanout;
pub mod fence;
mod gate;
pub mod lifecycle;
pub mod mark;
pub mod membership;
pub mod origin;
pub mod plan;
pub mod regions;

pub use authorization::Channel;
pub use error::{LifecycleError, Side};

/// One request, as the work needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    pub action: Action,
    pub properties: Value,
    pub stack_id: String,
    pub logical_id: String,
    pub resource_type: String,
    pub request_id: String,
    /// A continuation of a request an earlier invocation began (see the protocol's continuations): when
    /// CloudFormation no longer waits for it, it is dropped unanswered instead of refused.
    pub continued: bool,
    /// How the request reached the provider: trust follows the channel, not the StackId it names.
    pub channel: Channel,
}

/// What CloudFormation asks for, with the fields the work needs besides the properties.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Create,
    Update { physical_id: String, old_properties: Value },
    Delete { physical_id: String },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Create => "Create",
            Action::Update { .. } => "Update",
            Action::Delete { .. } => "Delete",
        }
    }
}
