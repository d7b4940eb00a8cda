//! Why a Create, Update or Delete failed: one type, turned into CloudFormation's Reason once, at the edge.

use std::fmt;

use super::accounts::AccountError;
use super::fanout::RegionFailures;
use super::plan::PlanError;
use super::regions::RegionsError;
use crate::aws::AwsError;
use crate::properties::PropertiesError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Properties(#[from] PropertiesError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("ParentId: {0}")]
    Move(AwsError),
    #[error("{side} account: {error}")]
    Session { side: Side, error: AwsError },
    #[error(transparent)]
    Regions(#[from] RegionsError),
    #[error(transparent)]
    InRegions(#[from] RegionFailures),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// Whose session could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Administrator,
    PreviousAdministrator,
    Member,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Administrator => "administrator",
            Side::PreviousAdministrator => "previous administrator",
            Side::Member => "member",
        })
    }
}
