//! The CloudFormation protocol: the event in, exactly one response out.

pub(crate) mod continuation;
pub(crate) mod delivery;
pub(crate) mod event;
pub(crate) mod handler;
pub(crate) mod metrics;
pub(crate) mod response;
pub(crate) mod response_url;
