//! A CloudFormation custom-resource provider that makes an AWS account a Security Hub member of an
//! administrator account in every region: `Custom::SecurityHubMemberAccount`.
//!
//! The flow of one request: [`event`] parses it, [`handler`] runs the [`lifecycle`] under the
//! protocol's guarantees and answers through [`response`] and [`delivery`]. The lifecycle resolves
//! the account ([`accounts`]), the regions ([`regions`]) and the sessions ([`aws`]), then works on
//! every region at once ([`fanout`], [`membership`]).

pub mod aws;
pub mod clock;
pub mod config;
pub mod enrollment;
pub mod ids;
pub mod logging;
pub mod properties;
pub mod protocol;
pub mod retry;

#[cfg(test)]
mod fuzz;
