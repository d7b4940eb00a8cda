#![warn(unreachable_pub, missing_docs)]
//! A CloudFormation custom-resource provider that makes an AWS account a Security Hub member of an
//! administrator account in every region: `Custom::SecurityHubMemberAccount`.
//!
//! The map, in the order a request flows (imports run this way only):
//!
//! - [`protocol`]: CloudFormation's side. [`protocol::event`] parses the event (SNS-wrapped or direct),
//!   [`protocol::handler`] runs the work under the protocol's guarantees (one answer, panics and the
//!   deadline caught) and answers through [`protocol::response`], [`protocol::response_url`] and
//!   [`protocol::delivery`].
//! - [`enrollment`]: the work in AWS. [`enrollment::plan`] decides, [`enrollment::lifecycle`] carries out
//!   Create, Update and Delete with accounts, regions and per-region membership; its failures are one
//!   type, [`enrollment::LifecycleError`], which the handler turns into the Reason.
//! - [`watch`]: the scheduled membership watch, beside the requests: it reports (and may heal) the members this
//!   provider's resources enrolled that are no longer Enabled, reusing [`enrollment`]'s steps.
//! - Below both: [`properties`] (validated input, CloudFormation's reserved properties), [`aws`] (SDK
//!   sessions and errors), [`ids`] (identifier shapes), [`config`] and [`logging`].

mod aws;
mod clock;
mod config;
mod enrollment;
mod ids;
mod logging;
mod properties;
mod protocol;
mod retry;
mod watch;

#[cfg(test)]
mod fuzz;

// What the Lambda entry point (`src/main.rs`) needs, and nothing else.
pub use aws::Aws;
pub use config::{Config, ConfigError};
pub use logging::init as init_logging;
pub use protocol::delivery::client as response_client;
pub use protocol::handler::{HandlerError, Provider};
