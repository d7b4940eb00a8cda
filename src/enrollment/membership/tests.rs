//! Membership against SDK fakes: which calls are made, and which are not.
use super::join::INVITATION_LOOKS;
use super::*;
use crate::enrollment::fence::Signal;
use aws_sdk_securityhub::operation::{
    accept_administrator_invitation::AcceptAdministratorInvitationOutput, create_members::CreateMembersOutput,
    delete_members::DeleteMembersOutput, disable_security_hub::DisableSecurityHubOutput,
    disassociate_from_administrator_account::DisassociateFromAdministratorAccountOutput,
    disassociate_members::DisassociateMembersOutput, enable_security_hub::EnableSecurityHubOutput,
    get_administrator_account::GetAdministratorAccountOutput, get_members::GetMembersOutput,
    invite_members::InviteMembersOutput, list_invitations::ListInvitationsOutput,
};
use aws_sdk_securityhub::types::{Invitation, Member, Result as Processed};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ADMIN: &str = "111111111111";
const OTHER_ADMIN: &str = "333333333333";
const MEMBER: &str = "222222222222";

fn enrollment() -> Enrollment {
    Enrollment {
        administrator: AccountId::parse(ADMIN).unwrap(),
        member: AccountId::parse(MEMBER).unwrap(),
        email: None,
        enable_default_standards: true,
    }
}

/// CreateMembers, then the join, as the lifecycle runs them in one region.
async fn enroll(admin: &Client, member: &Client) -> Result<(), RegionError> {
    add(admin, &enrollment()).await?;
    join(admin, member, &enrollment(), Signal::none()).await
}

fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, rules.iter().copied(), |config| config.retry_config(
        aws_config::retry::RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(1))
    ))
}

/// A Security Hub error as the service sends it (REST-JSON, code in the body), with the message AWS gives it
/// where the provider reads the message (see the fidelity ledger).
fn error_body(code: &str) -> Option<String> {
    let message = match code {
        "InvalidAccessException" => format!("Account {MEMBER} is not subscribed to AWS Security Hub"),
        "AccessDeniedException" => SCP_DENY.to_owned(),
        _ => format!("{code} from the fake"),
    };
    message_body(code, &message)
}

fn message_body(code: &str, message: &str) -> Option<String> {
    Some(serde_json::json!({"__type": code, "Message": message}).to_string())
}

const SCP_DENY: &str =
    "User: arn:aws:sts::222222222222:assumed-role/OrganizationAccountAccessRole/s is not authorized \
                        to perform: securityhub:EnableSecurityHub with an explicit deny in a service control policy";
const IAM_DENY: &str =
    "User: arn:aws:sts::111111111111:assumed-role/OrganizationAccountAccessRole/s is not authorized \
                        to perform: securityhub:CreateMembers because no identity-based policy allows the \
                        securityhub:CreateMembers action";

fn members(status: &'static str) -> impl Fn() -> GetMembersOutput + Send + Sync {
    move || {
        GetMembersOutput::builder().members(Member::builder().account_id(MEMBER).member_status(status).build()).build()
    }
}

fn administrator(
    account: &'static str,
    status: &'static str,
) -> impl Fn() -> GetAdministratorAccountOutput + Send + Sync {
    move || {
        GetAdministratorAccountOutput::builder()
            .administrator(Invitation::builder().account_id(account).member_status(status).build())
            .build()
    }
}

#[tokio::test]
async fn accepts_the_invitation_of_its_administrator_not_the_first_one() {
    let create = mock!(Client::create_members).then_output(|| CreateMembersOutput::builder().build());
    let get = mock!(Client::get_members).then_output(members("Enabled"));
    let invite = mock!(Client::invite_members).then_output(|| InviteMembersOutput::builder().build());
    let admin = client(&[&create, &get, &invite]);

    // The hub was enabled before: conflict is fine. A throttled call is retried by the SDK.
    let enable = mock!(Client::enable_security_hub)
        .sequence()
        .http_status(429, error_body("LimitExceededException"))
        .http_status(409, error_body("ResourceConflictException"))
        .build();
    let current =
        mock!(Client::get_administrator_account).then_output(|| GetAdministratorAccountOutput::builder().build());
    let list = mock!(Client::list_invitations).then_output(|| {
        ListInvitationsOutput::builder()
            .invitations(Invitation::builder().account_id(OTHER_ADMIN).invitation_id("theirs").build())
            .invitations(Invitation::builder().account_id(ADMIN).invitation_id("ours").build())
            .build()
    });
    let accept = mock!(Client::accept_administrator_invitation)
        .match_requests(|request| request.invitation_id() == Some("ours") && request.administrator_id() == Some(ADMIN))
        .then_output(|| AcceptAdministratorInvitationOutput::builder().build());
    let member = client(&[&enable, &current, &list, &accept]);

    enroll(&admin, &member).await.expect("joined");
    assert_eq!(accept.num_calls(), 1);
    assert_eq!(enable.num_calls(), 2);
    // The administrator's side costs the three calls the API needs, no more.
    assert_eq!((create.num_calls(), invite.num_calls(), get.num_calls()), (1, 1, 1));
}

/// An administrator that sees the member as `status`, and a member whose administrator is `current`.
struct Scenario {
    admin: Client,
    member: Client,
    get: Rule,
    accept: Rule,
}

fn scenario(status: &'static str, current: (&'static str, &'static str)) -> Scenario {
    let create = mock!(Client::create_members).then_output(|| CreateMembersOutput::builder().build());
    let get = mock!(Client::get_members).then_output(members(status));
    let invite = mock!(Client::invite_members).then_output(|| InviteMembersOutput::builder().build());
    let enable = mock!(Client::enable_security_hub).then_output(|| EnableSecurityHubOutput::builder().build());
    let administrator = mock!(Client::get_administrator_account).then_output(administrator(current.0, current.1));
    let list = mock!(Client::list_invitations).then_output(|| ListInvitationsOutput::builder().build());
    let accept = mock!(Client::accept_administrator_invitation)
        .then_output(|| AcceptAdministratorInvitationOutput::builder().build());
    Scenario {
        admin: client(&[&create, &get, &invite]),
        member: client(&[&enable, &administrator, &list, &accept]),
        get,
        accept,
    }
}

#[tokio::test]
async fn a_member_enabled_with_this_administrator_is_done_when_it_says_so() {
    // Organization members under the organization's administrator are Enabled by CreateMembers alone.
    let Scenario { admin, member, get, accept } = scenario("Enabled", (ADMIN, "Enabled"));
    enroll(&admin, &member).await.expect("joined");
    assert_eq!((accept.num_calls(), get.num_calls()), (0, 0));
}

#[tokio::test]
async fn a_member_of_another_administrator_is_left_there() {
    let Scenario { admin, member, accept, .. } = scenario("Invited", (OTHER_ADMIN, "Enabled"));
    let error = enroll(&admin, &member).await.unwrap_err();
    assert_eq!(error, RegionError::OtherAdministrator(OTHER_ADMIN.to_owned()));
    assert!(error.to_string().contains(OTHER_ADMIN));
    assert_eq!(accept.num_calls(), 0);
}

#[tokio::test]
async fn create_members_says_where_the_administrator_has_no_hub_or_is_denied() {
    for (status, code, expected) in [
        (401, "InvalidAccessException", RegionError::NoAdministratorHub),
        (403, "AccessDeniedException", RegionError::Denied),
    ] {
        let create = mock!(Client::create_members).sequence().http_status(status, error_body(code)).build();
        let admin = client(&[&create]);
        assert_eq!(add(&admin, &enrollment()).await, Err(expected));
    }
    let create = mock!(Client::create_members).sequence().http_status(400, error_body("InvalidInputException")).build();
    let error = add(&client(&[&create]), &enrollment()).await.unwrap_err();
    assert!(error.to_string().starts_with("CreateMembers: InvalidInputException"), "{error}");
}

#[tokio::test]
async fn only_a_member_never_invited_is_taken_back() {
    for (status, deleted) in [("Created", 1), ("Enabled", 0), ("Invited", 0)] {
        let get = mock!(Client::get_members).then_output(members(status));
        let delete = mock!(Client::delete_members).then_output(|| DeleteMembersOutput::builder().build());
        let admin = client(&[&get, &delete]);
        withdraw_if_only_created(&admin, &enrollment().member).await.expect("withdrawn");
        assert_eq!(delete.num_calls(), deleted, "{status}");
    }
}

#[tokio::test]
async fn a_refused_invitation_is_reported_with_its_reason() {
    let create = mock!(Client::create_members).then_output(|| CreateMembersOutput::builder().build());
    let invite = mock!(Client::invite_members).then_output(|| {
        InviteMembersOutput::builder()
            .unprocessed_accounts(
                aws_sdk_securityhub::types::Result::builder()
                    .account_id(MEMBER)
                    .processing_result("the account is not valid")
                    .build(),
            )
            .build()
    });
    // Before giving up, the region checks whether another run made the member Enabled meanwhile.
    let get = mock!(Client::get_members).then_output(members("Created"));
    let admin = client(&[&create, &invite, &get]);
    let enable = mock!(Client::enable_security_hub).then_output(|| EnableSecurityHubOutput::builder().build());
    let current =
        mock!(Client::get_administrator_account).then_output(|| GetAdministratorAccountOutput::builder().build());
    let list = mock!(Client::list_invitations).then_output(|| ListInvitationsOutput::builder().build());
    let member = client(&[&enable, &current, &list]);

    let error = enroll(&admin, &member).await.unwrap_err();
    assert_eq!(error.to_string(), "InviteMembers: the account is not valid");
    assert_eq!(get.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_invitation_that_never_arrived_is_sent_again_and_accepted() {
    let create = mock!(Client::create_members).then_output(|| CreateMembersOutput::builder().build());
    // Still Created when the first round found no invitation, Enabled at the end.
    let get = mock!(Client::get_members)
        .sequence()
        .output(members("Created"))
        .output(members("Enabled"))
        .repeatedly()
        .build();
    let invite = mock!(Client::invite_members).then_output(|| InviteMembersOutput::builder().build());
    let admin = client(&[&create, &get, &invite]);

    let enable = mock!(Client::enable_security_hub).then_output(|| EnableSecurityHubOutput::builder().build());
    let current =
        mock!(Client::get_administrator_account).then_output(|| GetAdministratorAccountOutput::builder().build());
    let list = mock!(Client::list_invitations)
        .sequence()
        .output(|| ListInvitationsOutput::builder().build())
        .times(INVITATION_LOOKS as usize + 1)
        .output(|| {
            ListInvitationsOutput::builder()
                .invitations(Invitation::builder().account_id(ADMIN).invitation_id("second").build())
                .build()
        })
        .repeatedly()
        .build();
    let accept = mock!(Client::accept_administrator_invitation)
        .match_requests(|request| request.invitation_id() == Some("second"))
        .then_output(|| AcceptAdministratorInvitationOutput::builder().build());
    let member = client(&[&enable, &current, &list, &accept]);

    enroll(&admin, &member).await.expect("joined");
    assert_eq!((invite.num_calls(), list.num_calls(), accept.num_calls()), (2, INVITATION_LOOKS as usize + 2, 1));
}

/// The real answer to CreateMembers of an account that is a member already (aws-secure-environment-accelerator
/// issue 814): HTTP 200, the account in UnprocessedAccounts.
fn already_a_member() -> CreateMembersOutput {
    CreateMembersOutput::builder()
        .unprocessed_accounts(
            Processed::builder()
                .account_id(MEMBER)
                .processing_result(
                    "The request is rejected because the given account ID is already a member or associated member \
                     of the current account.",
                )
                .build(),
        )
        .build()
}

fn unprocessed(reason: &'static str) -> impl Fn() -> CreateMembersOutput + Send + Sync {
    move || {
        CreateMembersOutput::builder()
            .unprocessed_accounts(Processed::builder().account_id(MEMBER).processing_result(reason).build())
            .build()
    }
}

#[tokio::test]
async fn a_member_already_is_added_without_another_call() {
    let create = mock!(Client::create_members).then_output(already_a_member);
    let get = mock!(Client::get_members).then_output(members("Enabled"));
    let admin = client(&[&create, &get]);
    add(&admin, &enrollment()).await.expect("a member already is added");
    assert_eq!(get.num_calls(), 0);
}

#[tokio::test]
async fn an_unknown_refusal_is_checked_against_the_administrators_list() {
    let create = mock!(Client::create_members).then_output(unprocessed("Some new wording"));
    let get = mock!(Client::get_members).then_output(members("Invited"));
    add(&client(&[&create, &get]), &enrollment()).await.expect("a member of ours, whatever the wording");

    let create = mock!(Client::create_members).then_output(unprocessed("Some new wording"));
    let not_found = mock!(Client::get_members)
        .sequence()
        .http_status(400, message_body("BadRequestException", "The request is rejected since no such resource found."))
        .build();
    let error = add(&client(&[&create, &not_found]), &enrollment()).await.unwrap_err();
    assert_eq!(error, RegionError::NotTaken("Some new wording".to_owned()));
}

#[tokio::test]
async fn every_spelling_of_not_a_member_is_no_status() {
    let answers = [
        (400, message_body("BadRequestException", "The request is rejected since no such resource found.")),
        (403, message_body("AccessDeniedException", "The request is rejected since no such resource found.")),
        (404, message_body("ResourceNotFoundException", "not found")),
    ];
    for (status, body) in answers {
        let get = mock!(Client::get_members).sequence().http_status(status, body.clone()).build();
        assert_eq!(member_status(&client(&[&get]), MEMBER).await, Ok(None), "{body:?}");
    }
    let empty = mock!(Client::get_members).then_output(|| GetMembersOutput::builder().build());
    assert_eq!(member_status(&client(&[&empty]), MEMBER).await, Ok(None));
    let denied =
        mock!(Client::get_members).sequence().http_status(403, message_body("AccessDeniedException", IAM_DENY)).build();
    assert!(member_status(&client(&[&denied]), MEMBER).await.is_err(), "a real refusal is not 'not a member'");
}

#[tokio::test]
async fn associated_is_the_old_name_of_enabled() {
    let Scenario { admin, member, accept, .. } = scenario("Associated", (ADMIN, "Associated"));
    enroll(&admin, &member).await.expect("joined");
    assert_eq!(accept.num_calls(), 0);
}

#[tokio::test]
async fn create_members_denied_without_an_scp_is_a_failure_not_a_region_to_leave_out() {
    let create = mock!(Client::create_members)
        .sequence()
        .http_status(403, message_body("AccessDeniedException", IAM_DENY))
        .build();
    let error = add(&client(&[&create]), &enrollment()).await.unwrap_err();
    assert!(matches!(&error, RegionError::Aws(aws) if aws.message.contains("no identity-based policy")), "{error}");
    let other = mock!(Client::create_members)
        .sequence()
        .http_status(
            401,
            message_body("InvalidAccessException", "The account doesn't have permission to perform this action."),
        )
        .build();
    let error = add(&client(&[&other]), &enrollment()).await.unwrap_err();
    assert!(matches!(error, RegionError::Aws(_)), "only 'not subscribed' means no hub: {error}");
}

#[tokio::test]
async fn our_invitation_is_found_on_a_later_page() {
    let Scenario { admin, .. } = scenario("Enabled", (ADMIN, "Enabled"));
    let enable = mock!(Client::enable_security_hub).then_output(|| EnableSecurityHubOutput::builder().build());
    let current =
        mock!(Client::get_administrator_account).then_output(|| GetAdministratorAccountOutput::builder().build());
    let first_page =
        mock!(Client::list_invitations).match_requests(|request| request.next_token().is_none()).then_output(|| {
            let theirs = (0..50).map(|n| {
                Invitation::builder().account_id(format!("4444444444{n:02}")).invitation_id(format!("t{n}")).build()
            });
            ListInvitationsOutput::builder().set_invitations(Some(theirs.collect())).next_token("page-2").build()
        });
    let second_page = mock!(Client::list_invitations)
        .match_requests(|request| request.next_token() == Some("page-2"))
        .then_output(|| {
            ListInvitationsOutput::builder()
                .invitations(Invitation::builder().account_id(ADMIN).invitation_id("ours").build())
                .build()
        });
    let accept = mock!(Client::accept_administrator_invitation)
        .match_requests(|request| request.invitation_id() == Some("ours"))
        .then_output(|| AcceptAdministratorInvitationOutput::builder().build());
    let member = client(&[&enable, &current, &first_page, &second_page, &accept]);
    enroll(&admin, &member).await.expect("joined");
    assert_eq!((first_page.num_calls(), second_page.num_calls(), accept.num_calls()), (1, 1, 1));
}

#[tokio::test]
async fn a_member_denied_the_region_by_an_scp_says_so() {
    let Scenario { admin, .. } = scenario("Created", (ADMIN, "Enabled"));
    let enable =
        mock!(Client::enable_security_hub).sequence().http_status(403, error_body("AccessDeniedException")).build();
    let member = client(&[&enable]);
    assert_eq!(enroll(&admin, &member).await, Err(RegionError::MemberDenied));
}

#[tokio::test(start_paused = true)]
async fn a_new_account_not_ready_is_waited_for() {
    let Scenario { admin, get, .. } = scenario("Enabled", (ADMIN, "Enabled"));
    let not_ready =
        message_body("SubscriptionRequiredException", "The AWS Access Key Id needs a subscription for the service");
    let enable = mock!(Client::enable_security_hub)
        .sequence()
        .http_status(400, not_ready)
        .times(5)
        .output(|| EnableSecurityHubOutput::builder().build())
        .build();
    let current = mock!(Client::get_administrator_account).then_output(administrator(ADMIN, "Enabled"));
    let list = mock!(Client::list_invitations).then_output(|| ListInvitationsOutput::builder().build());
    let member = client(&[&enable, &current, &list]);
    enroll(&admin, &member).await.expect("joined once ready");
    assert_eq!(enable.num_calls(), 6);
    assert_eq!(get.num_calls(), 0);
}

mod leave;
