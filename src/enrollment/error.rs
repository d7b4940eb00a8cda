//! Why a Create, Update or Delete failed: one type, turned into CloudFormation's Reason once, at the edge.

use std::fmt;

use super::accounts::AccountError;
use super::authorization::Refusal;
use super::fanout::RegionFailures;
use super::origin::OriginRefusal;
use super::plan::PlanError;
use super::regions::RegionChoiceError;
use crate::aws::AwsError;
use crate::properties::PropertiesError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LifecycleError {
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    #[error("refused: {0}")]
    NotFromCloudFormation(#[from] OriginRefusal),
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
    RegionChoice(#[from] RegionChoiceError),
    #[error(transparent)]
    InRegions(#[from] RegionFailures),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("the stack began deleting this resource while this Create was running; its regions were left again")]
    DeletedMeanwhile,
    /// A continuation whose request CloudFormation no longer waits for (another run answered it, or the stack
    /// moved on): nothing to answer.
    #[error("CloudFormation no longer waits for this request: {0}")]
    NotAwaited(OriginRefusal),
}

impl LifecycleError {
    /// A request the provider may not carry out, as opposed to one that failed on the way.
    pub(crate) fn is_refusal(&self) -> bool {
        matches!(self, LifecycleError::Refused(_) | LifecycleError::NotFromCloudFormation(_))
    }

    /// Nothing is to be answered: CloudFormation no longer waits for the request.
    pub(crate) fn is_not_awaited(&self) -> bool {
        matches!(self, LifecycleError::NotAwaited(_))
    }
}

/// Whose session could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Administrator,
    PreviousAdministrator,
    Member,
    /// The requesting stack's account, for the origin check.
    Stack,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Administrator => "administrator",
            Side::PreviousAdministrator => "previous administrator",
            Side::Member => "member",
            Side::Stack => "requesting stack's",
        })
    }
}
