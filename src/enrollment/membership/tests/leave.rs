//! Leaving against SDK fakes: both sides, the order of DisableSecurityHub, and the refusals that leave the hub on.
use super::*;

fn departure() -> Departure {
    Departure { administrator: enrollment().administrator, member: enrollment().member, disable_hub: false }
}

/// A member whose administrator is `account` with `status`, and the rule of its DisassociateFromAdministratorAccount.
fn member_of(account: &'static str, status: &'static str) -> (Client, Rule) {
    let current = mock!(Client::get_administrator_account).then_output(administrator(account, status));
    let resign = mock!(Client::disassociate_from_administrator_account)
        .then_output(|| DisassociateFromAdministratorAccountOutput::builder().build());
    (client(&[&current, &resign]), resign)
}

#[tokio::test]
async fn leaving_never_breaks_a_newer_association() {
    let disassociate = mock!(Client::disassociate_members)
        .sequence()
        .http_status(404, error_body("ResourceNotFoundException"))
        .build();
    let delete = mock!(Client::delete_members).then_output(|| DeleteMembersOutput::builder().build());
    let admin = client(&[&disassociate, &delete]);
    // No DisableSecurityHub either: the fake has no rule for it.
    let (member, resign) = member_of(OTHER_ADMIN, "Enabled");
    let departure = Departure { disable_hub: true, ..departure() };

    leave(&admin, Some(&member), &departure).await.expect("left");
    assert_eq!((disassociate.num_calls(), delete.num_calls()), (1, 1));
    assert_eq!(resign.num_calls(), 0);
}

#[tokio::test]
async fn leaving_resigns_from_this_administrator() {
    let disassociate = mock!(Client::disassociate_members).then_output(|| DisassociateMembersOutput::builder().build());
    let delete = mock!(Client::delete_members).then_output(|| DeleteMembersOutput::builder().build());
    let admin = client(&[&disassociate, &delete]);
    let (member, resign) = member_of(ADMIN, "Removed");

    leave(&admin, Some(&member), &departure()).await.expect("left");
    assert_eq!(resign.num_calls(), 1);
}

/// The calls of a region's leaving, in the order the fakes answered them.
#[derive(Clone, Default)]
struct CallLog(Arc<Mutex<Vec<&'static str>>>);

impl CallLog {
    fn note<T: 'static>(
        &self,
        operation: &'static str,
        output: impl Fn() -> T + Send + Sync + 'static,
    ) -> impl Fn() -> T + Send + Sync + 'static {
        let log = self.clone();
        move || {
            log.0.lock().expect("log").push(operation);
            output()
        }
    }

    fn calls(&self) -> Vec<&'static str> {
        self.0.lock().expect("log").clone()
    }

    fn position(&self, operation: &str) -> usize {
        self.calls().iter().position(|call| *call == operation).unwrap_or_else(|| panic!("no {operation}"))
    }
}

/// An administrator whose DisassociateMembers is answered 500 twice before it works (the SDK retries it, so
/// the administrator's side is the slow one), and whose DeleteMembers works.
fn slow_administrator(log: &CallLog) -> (Client, Rule, Rule) {
    let disassociate = mock!(Client::disassociate_members)
        .sequence()
        .http_status(500, error_body("InternalException"))
        .times(2)
        .output(log.note("DisassociateMembers", || DisassociateMembersOutput::builder().build()))
        .build();
    let delete =
        mock!(Client::delete_members).then_output(log.note("DeleteMembers", || DeleteMembersOutput::builder().build()));
    let admin = client(&[&disassociate, &delete]);
    (admin, disassociate, delete)
}

/// GetAdministratorAccount of a member of this administrator, then of an account with no hub (its answer once
/// DisableSecurityHub has worked).
fn administrator_then_no_hub() -> Rule {
    mock!(Client::get_administrator_account)
        .sequence()
        .output(administrator(ADMIN, "Enabled"))
        .http_status(401, error_body("InvalidAccessException"))
        .build()
}

/// A member of this administrator (an organization member: its own disassociation is refused) whose
/// DisableSecurityHub is `disable`; with its GetAdministratorAccount rule.
fn leaving_member(disable: &Rule) -> (Client, Rule) {
    let current = administrator_then_no_hub();
    let resign = mock!(Client::disassociate_from_administrator_account)
        .sequence()
        .http_status(400, error_body("InvalidInputException"))
        .build();
    (client(&[&current, &resign, disable]), current)
}

#[tokio::test]
async fn the_hub_is_disabled_only_after_both_sides_have_left() {
    let log = CallLog::default();
    let (admin, disassociate, delete) = slow_administrator(&log);
    let current = administrator_then_no_hub();
    let resign = mock!(Client::disassociate_from_administrator_account).then_output(
        log.note("DisassociateFromAdministratorAccount", || {
            DisassociateFromAdministratorAccountOutput::builder().build()
        }),
    );
    let disable = mock!(Client::disable_security_hub)
        .then_output(log.note("DisableSecurityHub", || DisableSecurityHubOutput::builder().build()));
    let member = client(&[&current, &resign, &disable]);

    leave(&admin, Some(&member), &Departure { disable_hub: true, ..departure() }).await.expect("left");
    assert_eq!((disassociate.num_calls(), delete.num_calls(), resign.num_calls()), (3, 1, 1));
    assert!(log.position("DisableSecurityHub") > log.position("DeleteMembers"), "{:?}", log.calls());
    assert!(log.position("DisableSecurityHub") > log.position("DisassociateFromAdministratorAccount"));
    // The hub is looked at once more (GetAdministratorAccount), to see that it is gone.
    assert_eq!((disable.num_calls(), current.num_calls()), (1, 2));
}

#[tokio::test]
async fn a_refused_disable_fails_the_region_by_name() {
    let log = CallLog::default();
    let (admin, _, delete) = slow_administrator(&log);
    let disable =
        mock!(Client::disable_security_hub).sequence().http_status(400, error_body("InvalidInputException")).build();
    let (member, current) = leaving_member(&disable);

    let error = leave(&admin, Some(&member), &Departure { disable_hub: true, ..departure() }).await.unwrap_err();
    assert!(matches!(&error, RegionError::DisableRefused(refusal) if refusal.is("InvalidInputException")), "{error:?}");
    assert_eq!(
        error.to_string(),
        "DisableSecurityHub: refused (InvalidInputException: InvalidInputException from the fake): the hub stays enabled"
    );
    assert_eq!((delete.num_calls(), current.num_calls()), (1, 1));
}

/// AccessDeniedException as AWS answers a centrally managed account's own settings calls.
fn central_configuration_body() -> Option<String> {
    Some(r#"{"__type":"AccessDeniedException","Message":"This account is currently associated with a central configuration policy, so only the administrator can access this operation."}"#.to_owned())
}

#[tokio::test]
async fn a_disable_refused_by_central_configuration_says_so() {
    let log = CallLog::default();
    let (admin, ..) = slow_administrator(&log);
    let disable = mock!(Client::disable_security_hub).sequence().http_status(403, central_configuration_body()).build();
    let (member, _) = leaving_member(&disable);

    let error = leave(&admin, Some(&member), &Departure { disable_hub: true, ..departure() }).await.unwrap_err();
    assert_eq!(error, RegionError::CentrallyConfigured { change: HubChange::Disable });
    let reason = error.to_string();
    assert!(
        reason.starts_with(
            "DisableSecurityHub: refused: the account is governed by a Security Hub CSPM central configuration policy"
        ),
        "{reason}"
    );
    assert!(reason.contains("OnDelete: Disassociate"), "{reason}");
}

#[tokio::test]
async fn a_hub_the_policy_enabled_joins_and_one_it_did_not_is_explained() {
    let refused =
        || mock!(Client::enable_security_hub).sequence().http_status(403, central_configuration_body()).build();
    // The policy enabled the hub, and CreateMembers made the organization member Enabled: done.
    let Scenario { admin, member: _, .. } = scenario("Enabled", (ADMIN, "Enabled"));
    let enable = refused();
    let current = mock!(Client::get_administrator_account).then_output(administrator(ADMIN, "Enabled"));
    let list = mock!(Client::list_invitations).then_output(|| ListInvitationsOutput::builder().build());
    enroll(&admin, &client(&[&enable, &current, &list])).await.expect("joined under its policy");
    // The policy keeps the hub disabled: the region fails saying where to change it.
    let Scenario { admin, .. } = scenario("Created", (ADMIN, "Created"));
    let enable = refused();
    let none =
        mock!(Client::get_administrator_account).then_output(|| GetAdministratorAccountOutput::builder().build());
    let error = enroll(&admin, &client(&[&enable, &none, &list])).await.unwrap_err();
    assert_eq!(error, RegionError::CentrallyConfigured { change: HubChange::Enable });
    assert!(error.to_string().contains("enable Security Hub CSPM for it in its policy"), "{error}");
}

#[tokio::test]
async fn a_hub_not_enabled_is_disabled_already() {
    let log = CallLog::default();
    let (admin, ..) = slow_administrator(&log);
    let disable =
        mock!(Client::disable_security_hub).sequence().http_status(401, error_body("InvalidAccessException")).build();
    let (member, current) = leaving_member(&disable);

    leave(&admin, Some(&member), &Departure { disable_hub: true, ..departure() }).await.expect("left");
    assert_eq!(current.num_calls(), 1);
}

#[tokio::test]
async fn a_hub_still_there_after_disabling_is_not_done() {
    let log = CallLog::default();
    let (admin, ..) = slow_administrator(&log);
    let current =
        mock!(Client::get_administrator_account).then_output(|| GetAdministratorAccountOutput::builder().build());
    let disable = mock!(Client::disable_security_hub).then_output(|| DisableSecurityHubOutput::builder().build());
    let member = client(&[&current, &disable]);

    let error = leave(&admin, Some(&member), &Departure { disable_hub: true, ..departure() }).await.unwrap_err();
    assert_eq!(error, RegionError::HubStillEnabled);
}

#[tokio::test]
async fn no_disable_when_the_administrator_side_failed() {
    let disassociate =
        mock!(Client::disassociate_members).sequence().http_status(400, error_body("BadRequest")).build();
    let admin = client(&[&disassociate]);
    let disable = mock!(Client::disable_security_hub).then_output(|| DisableSecurityHubOutput::builder().build());
    let (member, _) = leaving_member(&disable);

    let error = leave(&admin, Some(&member), &Departure { disable_hub: true, ..departure() }).await.unwrap_err();
    assert!(error.to_string().starts_with("DisassociateMembers: BadRequest"), "{error}");
    assert_eq!(disable.num_calls(), 0);
}

#[tokio::test]
async fn a_member_denied_by_an_scp_leaves_from_the_administrator_side_only() {
    let disassociate = mock!(Client::disassociate_members).then_output(|| DisassociateMembersOutput::builder().build());
    let delete = mock!(Client::delete_members).then_output(|| DeleteMembersOutput::builder().build());
    let admin = client(&[&disassociate, &delete]);
    let current = mock!(Client::get_administrator_account)
        .sequence()
        .http_status(403, error_body("AccessDeniedException"))
        .build();
    let member = client(&[&current]);
    leave(&admin, Some(&member), &Departure { disable_hub: true, ..departure() }).await.expect("left");
    assert_eq!((disassociate.num_calls(), delete.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_disable_refused_with_another_invalid_access_is_a_failure() {
    let log = CallLog::default();
    let (admin, ..) = slow_administrator(&log);
    let body = message_body("InvalidAccessException", "The account doesn't have permission to perform this action.");
    let disable = mock!(Client::disable_security_hub).sequence().http_status(401, body).build();
    let (member, _current) = leaving_member(&disable);
    let error = leave(&admin, Some(&member), &Departure { disable_hub: true, ..departure() }).await.unwrap_err();
    assert!(matches!(error, RegionError::DisableRefused(_)), "{error}");
}
