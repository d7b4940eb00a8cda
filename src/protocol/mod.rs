//! The CloudFormation protocol: the event in, exactly one response out.

pub mod continuation;
pub mod delivery;
pub mod event;
pub mod handler;
pub mod metrics;
pub mod response;
pub mod response_url;
