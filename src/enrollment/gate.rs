//! The checks every request passes before any change: [`authorization`] (what it may ask for, from the
//! request alone) and [`origin`] (that CloudFormation really is running the operation it claims).

use std::collections::BTreeSet;

use super::authorization::{self, Claim, Policy, Refusal};
use super::fence;
use super::origin::{self, Claimed};
use super::{Ask, LifecycleError};
use crate::aws::{Aws, Session};
use crate::config::Config;
use crate::ids::{AccountId, StackArn};
use crate::properties::Properties;

/// What the checks of one request need: the operator's lists and the request's claims.
#[derive(Debug, Clone)]
pub struct Gate {
    administrators: BTreeSet<AccountId>,
    trusted: BTreeSet<AccountId>,
    stack: Option<StackArn>,
    ask: Ask,
}

impl Gate {
    /// `own_account`: the provider's, trusted when `TRUSTED_ACCOUNT_IDS` is unset.
    pub fn new(config: &Config, own_account: Option<&AccountId>, ask: &Ask) -> Self {
        let trusted = match &config.trusted_accounts {
            Some(trusted) => trusted.clone(),
            None => own_account.into_iter().cloned().collect(),
        };
        let stack = StackArn::parse(&ask.stack_id);
        Self { administrators: config.administrators.clone(), trusted, stack, ask: ask.clone() }
    }

    /// Whether the request may act with `properties` (all it carries) on `physical_account`.
    pub fn authorize(
        &self,
        properties: &[&Properties],
        physical_account: Option<&AccountId>,
    ) -> Result<(), LifecycleError> {
        let stack = self.stack()?;
        let policy = Policy { administrators: &self.administrators, trusted: &self.trusted };
        let claim = Claim { requester: &stack.account, properties: properties.to_vec(), physical_account };
        Ok(authorization::authorize(policy, &claim)?)
    }

    /// Reads the stack in its own account and region: with the provider's credentials when the stack is in
    /// the provider's account, else through `role_name` there, under the request's `session_name`.
    pub async fn verify_origin(&self, aws: &Aws, role_name: &str, session_name: &str) -> Result<(), LifecycleError> {
        let (session, stack) = self.stack_session(aws, role_name, session_name).await?;
        match origin::verify(&session, stack, &self.claimed()).await? {
            Ok(()) => Ok(()),
            // A continuation's duplicate (Lambda delivers asynchronous events at least once) that arrives
            // after another run answered finds the stack moved on: answering again could only contradict.
            Err(refusal) if self.ask.continued => Err(LifecycleError::NotAwaited(refusal)),
            Err(refusal) => Err(refusal.into()),
        }
    }

    /// Whether CloudFormation has begun deleting the resource since the origin check (see [`fence`]). A stack
    /// that cannot be read counts as not deleting: the fence narrows a race, it must not fail a Create.
    pub async fn deletion_begun(&self, aws: &Aws, role_name: &str, session_name: &str) -> bool {
        let seen = async {
            let (session, stack) = self.stack_session(aws, role_name, session_name).await?;
            Ok::<_, LifecycleError>(origin::read(&session, stack, &self.claimed()).await?)
        };
        match seen.await {
            Ok(seen) => fence::deletion_begun(&seen),
            Err(error) => {
                tracing::warn!(error = %error, "cannot read the stack again; assuming no Delete meanwhile");
                false
            }
        }
    }

    async fn stack_session(
        &self,
        aws: &Aws,
        role_name: &str,
        session_name: &str,
    ) -> Result<(Session, &StackArn), LifecycleError> {
        let stack = self.stack()?;
        let session = aws.session(&stack.account, role_name, std::time::Duration::ZERO, session_name).await;
        let session = session.map_err(|error| LifecycleError::Session { side: super::Side::Stack, error })?;
        Ok((session, stack))
    }

    fn claimed(&self) -> Claimed<'_> {
        Claimed {
            stack_id: &self.ask.stack_id,
            logical_id: &self.ask.logical_id,
            resource_type: &self.ask.resource_type,
            action: &self.ask.action,
        }
    }

    fn stack(&self) -> Result<&StackArn, LifecycleError> {
        self.stack.as_ref().ok_or(LifecycleError::Refused(Refusal::StackId))
    }
}
