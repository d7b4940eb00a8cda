//! A CloudFormation custom-resource provider that makes an AWS account a Security Hub member of an
//! administrator account in every region: `Custom::SecurityHubMemberAccount`.
//!
//! The flow of one request: [`event`] parses it, [`handler`] runs the [`lifecycle`] under the
//! protocol's guarantees and answers through [`response`] and [`delivery`]. The lifecycle resolves
//! the account ([`accounts`]), the regions ([`regions`]) and the sessions ([`aws`]), then works on
//! every region at once ([`fanout`], [`membership`]).

pub mod accounts;
pub mod aws;
pub mod config;
pub mod delivery;
pub mod event;
pub mod fanout;
pub mod fence;
pub mod handler;
pub mod lifecycle;
pub mod logging;
pub mod membership;
pub mod properties;
pub mod regions;
pub mod response;
pub mod response_url;
pub mod shapes;

#[cfg(test)]
mod fuzz;
