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

pub mod aws;
pub mod clock;
pub mod config;
pub mod enrollment;
pub mod ids;
pub mod logging;
pub mod properties;
pub mod protocol;
pub mod retry;
pub mod watch;

#[cfg(test)]
mod fuzz;
