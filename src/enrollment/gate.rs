//! The checks every request passes before any change: [`authorization`] (what it may work for, from the
//! request, its channel and the configuration alone) and [`origin`] (that CloudFormation really is running
//! the operation it claims, and, for an untrusted request, that its harmful properties are its template's).

use std::collections::BTreeSet;

use serde_json::Value;

use super::authorization::{self, Asked, Policy, Refusal, Scope};
use super::fence;
use super::origin::template::{self, Binding};
use super::origin::{self, Bound, Expectation};
use super::{Action, LifecycleError, Work};
use crate::aws::{Aws, Session};
use crate::config::Config;
use crate::ids::{AccountId, StackArn};
use crate::properties::Properties;

/// What the checks of one request need: the operator's lists and the request's claims.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    administrators: BTreeSet<AccountId>,
    trusted: BTreeSet<AccountId>,
    trusted_topics: BTreeSet<String>,
    resource_types: BTreeSet<String>,
    allow_unverified: bool,
    stack: Option<StackArn>,
    work: Work,
}

impl Gate {
    /// `own_account`: the provider's, trusted when `TRUSTED_ACCOUNT_IDS` is unset.
    pub(crate) fn new(config: &Config, own_account: Option<&AccountId>, work: &Work) -> Self {
        let trusted = match &config.trusted_accounts {
            Some(trusted) => trusted.clone(),
            None => own_account.into_iter().cloned().collect(),
        };
        Self {
            administrators: config.administrators.clone(),
            trusted,
            trusted_topics: config.trusted_topics.clone(),
            resource_types: config.resource_types.clone(),
            allow_unverified: config.allow_unverified_harmful_properties,
            stack: StackArn::parse(&work.stack_id),
            work: work.clone(),
        }
    }

    /// Whether the request may act with `properties` (all it carries) on `physical_account`.
    pub(crate) fn authorize(
        &self,
        properties: &[&Properties],
        physical_account: Option<&AccountId>,
    ) -> Result<(), LifecycleError> {
        let stack = self.stack()?;
        let claim = Scope {
            requester: &stack.account,
            channel: &self.work.channel,
            properties: properties.to_vec(),
            physical_account,
        };
        Ok(authorization::authorize(self.policy(), &claim)?)
    }

    /// Reads the stack in its own account and region: with the provider's credentials when the stack is in
    /// the provider's account, else through `role_name` there, under the request's `session_name`.
    pub(crate) async fn verify_origin(
        &self,
        aws: &Aws,
        role_name: &str,
        session_name: &str,
    ) -> Result<(), LifecycleError> {
        let (session, stack) = self.stack_session(aws, role_name, session_name).await?;
        let bound = Bound { bindings: self.bindings(), allow_unverified: self.allow_unverified };
        match origin::verify(&session, stack, &self.expected(), &bound).await? {
            Ok(()) => Ok(()),
            // A continuation's duplicate (Lambda delivers asynchronous events at least once) that arrives
            // after another run answered finds the stack moved on: answering again could only contradict.
            Err(refusal) if self.work.continued => Err(LifecycleError::NotAwaited(refusal)),
            Err(refusal) => Err(refusal.into()),
        }
    }

    /// Whether CloudFormation has begun deleting the resource since the origin check (see [`fence`]). A stack
    /// that cannot be read counts as not deleting: the fence narrows a race, it must not fail a Create.
    pub(crate) async fn deletion_begun(&self, aws: &Aws, role_name: &str, session_name: &str) -> bool {
        let seen = async {
            let (session, stack) = self.stack_session(aws, role_name, session_name).await?;
            Ok::<_, LifecycleError>(origin::read(&session, stack, &self.expected()).await?)
        };
        match seen.await {
            Ok(seen) => fence::deletion_begun(&seen),
            Err(error) => {
                tracing::warn!(error = %error, "cannot read the stack again; assuming no Delete meanwhile");
                false
            }
        }
    }

    /// What the stack's template must show: nothing for a trusted request, else each harm it carries.
    fn bindings(&self) -> Vec<Binding> {
        let trusted = self
            .stack
            .as_ref()
            .is_some_and(|stack| authorization::is_trusted(self.policy(), &stack.account, &self.work.channel));
        if trusted {
            return Vec::new();
        }
        bindings_of(&self.work.action, &self.work.properties)
    }

    fn policy(&self) -> Policy<'_> {
        Policy { administrators: &self.administrators, trusted: &self.trusted, trusted_topics: &self.trusted_topics }
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

    fn expected(&self) -> Expectation<'_> {
        Expectation {
            stack_id: &self.work.stack_id,
            logical_id: &self.work.logical_id,
            resource_type: &self.work.resource_type,
            action: &self.work.action,
            resource_types: &self.resource_types,
        }
    }

    fn stack(&self) -> Result<&StackArn, LifecycleError> {
        self.stack.as_ref().ok_or(LifecycleError::Refused(Refusal::StackId))
    }
}

/// The bindings of the harms `properties` carry for `action`. The lifecycle has parsed them before any origin
/// check (a request whose properties do not parse fails there), so unreadable ones bind nothing here.
fn bindings_of(action: &Action, properties: &Value) -> Vec<Binding> {
    let Ok((properties, _)) = Properties::parse_ignoring_unknown(properties) else { return Vec::new() };
    let old = match action {
        Action::Update { old_properties, .. } => {
            Properties::parse_ignoring_unknown(old_properties).ok().map(|(old, _)| old)
        }
        Action::Create | Action::Delete { .. } => None,
    };
    let asked = match action {
        Action::Create => Asked::Create,
        Action::Update { .. } => Asked::Update { old: old.as_ref() },
        Action::Delete { .. } => Asked::Delete,
    };
    template::bindings(&authorization::harms(asked, &properties), &properties)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrollment::authorization::Channel;
    use serde_json::json;

    const PROVIDER: &str = "123456789012";
    const MEMBER: &str = "111122223333";

    fn work(stack_account: &str, channel: Channel, action: Action, properties: Value) -> Work {
        Work {
            action,
            properties,
            stack_id: format!("arn:aws:cloudformation:us-east-1:{stack_account}:stack/s/guid"),
            logical_id: "Member".into(),
            resource_type: "Custom::SecurityHubMemberAccount".into(),
            request_id: "r".into(),
            continued: false,
            channel,
        }
    }

    fn gate(work: &Work) -> Gate {
        let config = Config::from_lookup(|name| (name == "ADMINISTRATOR_ACCOUNT_IDS").then(|| PROVIDER.to_owned()));
        Gate::new(&config.expect("valid"), AccountId::parse(PROVIDER).as_ref(), work)
    }

    fn disabling() -> Value {
        json!({"AdministratorAccountId": PROVIDER, "AccountId": MEMBER, "OnDelete": "DisableSecurityHub"})
    }

    #[test]
    fn only_an_untrusted_request_is_bound_to_its_template() {
        let delete = || Action::Delete { physical_id: MEMBER.into() };
        let sns = Channel::Sns { topic_arn: Some("arn:aws:sns:us-east-1:123456789012:t".into()) };
        // The provider's own stack invoking directly: trusted, not bound.
        assert_eq!(gate(&work(PROVIDER, Channel::Direct, delete(), disabling())).bindings(), []);
        // The same stack named through SNS: bound.
        let bound = gate(&work(PROVIDER, sns.clone(), delete(), disabling())).bindings();
        assert_eq!(bound.iter().map(|binding| binding.property).collect::<Vec<_>>(), ["OnDelete"]);
        // A member account's own stack: untrusted either way.
        assert_eq!(gate(&work(MEMBER, Channel::Direct, delete(), disabling())).bindings().len(), 1);
        let harmless = json!({"AdministratorAccountId": PROVIDER, "AccountId": MEMBER});
        assert_eq!(gate(&work(MEMBER, sns, delete(), harmless)).bindings(), []);
    }

    #[test]
    fn an_update_is_bound_by_what_it_changes_from_its_old_properties() {
        let old = json!({"AdministratorAccountId": PROVIDER, "AccountId": MEMBER, "Regions": "us-east-1,eu-west-1"});
        let new = json!({"AdministratorAccountId": PROVIDER, "AccountId": MEMBER, "Regions": "us-east-1"});
        let action = Action::Update { physical_id: MEMBER.into(), old_properties: old };
        let bound = bindings_of(&action, &new);
        assert_eq!(bound.iter().map(|binding| binding.property).collect::<Vec<_>>(), ["Regions"]);
        assert_eq!(bindings_of(&Action::Create, &disabling()), []);
        assert_eq!(bindings_of(&Action::Delete { physical_id: MEMBER.into() }, &json!({"OnDelete": 7})), []);
    }
}
