//! The lifecycle's decisions in process, against SDK fakes of every call ([`crate::aws::fake`]).
use super::*;
use crate::aws::fake::{self, Calls};
use crate::enrollment::Channel;
use aws_sdk_account::operation::list_regions::ListRegionsOutput;
use aws_sdk_account::types::{Region as AccountRegion, RegionOptStatus};
use aws_sdk_cloudformation::operation::describe_stack_resource::DescribeStackResourceOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::types::{ResourceStatus, Stack, StackResourceDetail, StackStatus};
use aws_sdk_organizations::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_organizations::operation::tag_resource::TagResourceOutput;
use aws_sdk_organizations::operation::untag_resource::UntagResourceOutput;
use aws_sdk_securityhub::operation::{
    accept_administrator_invitation::AcceptAdministratorInvitationOutput, create_members::CreateMembersOutput,
    delete_members::DeleteMembersOutput, describe_hub::DescribeHubOutput,
    disassociate_from_administrator_account::DisassociateFromAdministratorAccountOutput,
    disassociate_members::DisassociateMembersOutput, enable_security_hub::EnableSecurityHubOutput,
    get_administrator_account::GetAdministratorAccountOutput, get_members::GetMembersOutput,
    invite_members::InviteMembersOutput, list_invitations::ListInvitationsOutput,
};
use aws_sdk_securityhub::types::{Invitation, Member};
use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
use aws_smithy_mocks::{mock, Rule};
use aws_smithy_types::DateTime;
use serde_json::json;

const PROVIDER: &str = "123456789012";
const ADMIN: &str = "111111111111";
const MEMBER: &str = "222222222222";
const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/member/0a1b2c3d-0000-0000-0000-000000000000";
const TYPE: &str = "Custom::SecurityHubMemberAccount";
const REQUEST_ID: &str = "5b2d7c1e-0000-4000-8000-000000000001";

fn config() -> Config {
    Config::from_lookup(|name| (name == "ADMINISTRATOR_ACCOUNT_IDS").then(|| ADMIN.to_owned())).expect("valid")
}

fn work(action: Action, properties: Value) -> Work {
    Work {
        action,
        properties,
        stack_id: STACK.to_owned(),
        logical_id: "Member".to_owned(),
        resource_type: TYPE.to_owned(),
        request_id: REQUEST_ID.to_owned(),
        continued: false,
        channel: Channel::Direct,
    }
}

/// AssumeRole of both roles, ListRegions answering `regions` to both accounts, and the watch's mark.
fn sessions_and_regions(regions: &'static [&'static str]) -> Vec<Rule> {
    vec![
        mock!(aws_sdk_sts::Client::assume_role).then_output(|| {
            let credentials = aws_sdk_sts::types::Credentials::builder()
                .access_key_id("ASIAFAKE")
                .secret_access_key("secret")
                .session_token("token")
                .expiration(DateTime::from_secs(4_102_444_800))
                .build()
                .expect("complete credentials");
            AssumeRoleOutput::builder().credentials(credentials).build()
        }),
        mock!(aws_sdk_account::Client::list_regions).then_output(move || {
            let listed = regions.iter().map(|region| {
                AccountRegion::builder()
                    .region_name(*region)
                    .region_opt_status(RegionOptStatus::EnabledByDefault)
                    .build()
            });
            ListRegionsOutput::builder().set_regions(Some(listed.collect())).build()
        }),
        mock!(aws_sdk_organizations::Client::list_tags_for_resource)
            .then_output(|| ListTagsForResourceOutput::builder().build()),
        mock!(aws_sdk_organizations::Client::tag_resource).then_output(|| TagResourceOutput::builder().build()),
        mock!(aws_sdk_organizations::Client::untag_resource).then_output(|| UntagResourceOutput::builder().build()),
    ]
}

/// The stack as CloudFormation shows it while it waits: DescribeStacks and DescribeStackResource.
fn stack(stack_status: StackStatus, resource_status: ResourceStatus, physical_id: Option<&'static str>) -> Vec<Rule> {
    vec![
        mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(move || {
            let stack = Stack::builder()
                .stack_id(STACK)
                .stack_name("member")
                .stack_status(stack_status.clone())
                .creation_time(DateTime::from_secs(1_700_000_000))
                .build();
            DescribeStacksOutput::builder().stacks(stack).build()
        }),
        mock!(aws_sdk_cloudformation::Client::describe_stack_resource).then_output(move || {
            let detail = StackResourceDetail::builder()
                .logical_resource_id("Member")
                .resource_type(TYPE)
                .resource_status(resource_status.clone())
                .set_physical_resource_id(physical_id.map(str::to_owned))
                .last_updated_timestamp(DateTime::from_secs(1_700_000_000))
                .build();
            DescribeStackResourceOutput::builder().stack_resource_detail(detail).build()
        }),
    ]
}

/// Security Hub joining at once: added, invited, hub enabled, invitation accepted, member Enabled.
fn joining() -> Vec<Rule> {
    vec![
        mock!(aws_sdk_securityhub::Client::create_members).then_output(|| CreateMembersOutput::builder().build()),
        mock!(aws_sdk_securityhub::Client::invite_members).then_output(|| InviteMembersOutput::builder().build()),
        mock!(aws_sdk_securityhub::Client::enable_security_hub)
            .then_output(|| EnableSecurityHubOutput::builder().build()),
        mock!(aws_sdk_securityhub::Client::get_administrator_account)
            .then_output(|| GetAdministratorAccountOutput::builder().build()),
        mock!(aws_sdk_securityhub::Client::list_invitations).then_output(|| {
            let invitation = Invitation::builder().account_id(ADMIN).invitation_id("inv-1").member_status("Invited");
            ListInvitationsOutput::builder().invitations(invitation.build()).build()
        }),
        mock!(aws_sdk_securityhub::Client::accept_administrator_invitation)
            .then_output(|| AcceptAdministratorInvitationOutput::builder().build()),
        mock!(aws_sdk_securityhub::Client::get_members).then_output(|| {
            let member = Member::builder().account_id(MEMBER).administrator_id(ADMIN).member_status("Enabled");
            GetMembersOutput::builder().members(member.build()).build()
        }),
    ]
}

/// The administrator's hub is enabled (DescribeHub).
fn hub() -> Rule {
    mock!(aws_sdk_securityhub::Client::describe_hub).then_output(|| {
        DescribeHubOutput::builder().hub_arn("arn:aws:securityhub:us-east-1:111111111111:hub/default").build()
    })
}

async fn run_with(rules: &[Rule], work: Work) -> (Result<Done, LifecycleError>, Calls) {
    let (aws, calls) = fake::aws(PROVIDER, &rules.iter().collect::<Vec<_>>());
    let done = run(Arc::new(aws), config(), work, Progress::default()).await;
    (done, calls)
}

fn attributes(regions: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("AccountId".to_owned(), MEMBER.to_owned()),
        ("AdministratorAccountId".to_owned(), ADMIN.to_owned()),
        ("Regions".to_owned(), regions.to_owned()),
        ("AccountCreated".to_owned(), "false".to_owned()),
    ])
}

#[tokio::test]
async fn a_create_enrolls_an_existing_account_in_its_one_region() {
    let rules = [
        sessions_and_regions(&["us-east-1"]),
        stack(StackStatus::CreateInProgress, ResourceStatus::CreateInProgress, None),
        joining(),
    ]
    .concat();
    let properties = json!({"AdministratorAccountId": ADMIN, "AccountId": MEMBER});
    let (done, calls) = run_with(&rules, work(Action::Create, properties)).await;
    assert_eq!(done, Ok(Done { physical_id: MEMBER.to_owned(), attributes: attributes("us-east-1") }));
    // Both roles assumed (the stack is the provider's own), both sides' regions read, the origin checked, and
    // read again after the accept (the fence of a Create).
    assert_eq!(calls.count("AssumeRole"), 2, "{:?}", calls.all());
    assert_eq!(calls.count("ListRegions"), 2, "{:?}", calls.all());
    assert_eq!(calls.count("DescribeStacks"), 2, "{:?}", calls.all());
    assert_eq!(calls.count("DescribeStackResource"), 2, "{:?}", calls.all());
    assert_eq!(calls.count("GetTemplate"), 0, "a trusted request is not bound to its template");
    for operation in ["CreateMembers", "InviteMembers", "EnableSecurityHub", "AcceptAdministratorInvitation"] {
        assert_eq!(calls.count(operation), 1, "{operation}: {:?}", calls.all());
    }
    assert_eq!(calls.count("TagResource"), 1, "the member is marked for the watch");
}

#[tokio::test]
async fn an_update_that_adds_a_region_joins_it_and_leaves_nothing() {
    let rules = [
        sessions_and_regions(&["eu-west-1", "us-east-1"]),
        stack(StackStatus::UpdateInProgress, ResourceStatus::UpdateInProgress, Some(MEMBER)),
        joining(),
        vec![hub()],
    ]
    .concat();
    let old = json!({"AdministratorAccountId": ADMIN, "AccountId": MEMBER, "Regions": "us-east-1"});
    let new = json!({"AdministratorAccountId": ADMIN, "AccountId": MEMBER, "Regions": "us-east-1,eu-west-1"});
    let action = Action::Update { physical_id: MEMBER.to_owned(), old_properties: old };
    let (done, calls) = run_with(&rules, work(action, new)).await;
    assert_eq!(done, Ok(Done { physical_id: MEMBER.to_owned(), attributes: attributes("eu-west-1,us-east-1") }));
    assert_eq!(calls.count("CreateMembers"), 2, "{:?}", calls.all());
    assert_eq!(calls.count("AcceptAdministratorInvitation"), 2, "{:?}", calls.all());
    // An Update has no fence: the stack is read once, for the origin check.
    assert_eq!(calls.count("DescribeStacks"), 1, "{:?}", calls.all());
    for operation in ["DisassociateMembers", "DeleteMembers", "DisassociateFromAdministratorAccount"] {
        assert_eq!(calls.count(operation), 0, "{operation}: nothing to leave: {:?}", calls.all());
    }
}

#[tokio::test]
async fn a_delete_ends_the_membership_on_both_sides() {
    let rules = [
        sessions_and_regions(&["us-east-1"]),
        stack(StackStatus::DeleteInProgress, ResourceStatus::DeleteInProgress, Some(MEMBER)),
        vec![
            hub(),
            mock!(aws_sdk_securityhub::Client::disassociate_members)
                .then_output(|| DisassociateMembersOutput::builder().build()),
            mock!(aws_sdk_securityhub::Client::delete_members).then_output(|| DeleteMembersOutput::builder().build()),
            mock!(aws_sdk_securityhub::Client::get_administrator_account).then_output(|| {
                let administrator = Invitation::builder().account_id(ADMIN).member_status("Enabled").build();
                GetAdministratorAccountOutput::builder().administrator(administrator).build()
            }),
            mock!(aws_sdk_securityhub::Client::disassociate_from_administrator_account)
                .then_output(|| DisassociateFromAdministratorAccountOutput::builder().build()),
        ],
    ]
    .concat();
    let properties = json!({"AdministratorAccountId": ADMIN, "AccountId": MEMBER, "Regions": "us-east-1"});
    let action = Action::Delete { physical_id: MEMBER.to_owned() };
    let (done, calls) = run_with(&rules, work(action, properties)).await;
    assert_eq!(done, Ok(Done { physical_id: MEMBER.to_owned(), attributes: BTreeMap::new() }));
    for operation in ["DisassociateMembers", "DeleteMembers", "DisassociateFromAdministratorAccount"] {
        assert_eq!(calls.count(operation), 1, "{operation}: {:?}", calls.all());
    }
    assert_eq!(calls.count("DisableSecurityHub"), 0, "OnDelete defaults to Disassociate");
    assert_eq!(calls.count("ListTagsForResource"), 1, "the watch's mark is looked for");
}

#[tokio::test]
async fn an_administrator_the_operator_did_not_list_is_refused_before_any_call() {
    // No rules: any AWS call would panic the fake.
    let (aws, calls) = fake::aws(PROVIDER, &[]);
    let properties = json!({"AdministratorAccountId": "444444444444", "AccountId": MEMBER});
    let done = run(Arc::new(aws), config(), work(Action::Create, properties), Progress::default()).await;
    let error = done.expect_err("refused");
    assert!(error.is_refusal(), "{error}");
    assert!(error.to_string().contains("444444444444"), "{error}");
    assert_eq!(calls.all(), Vec::<String>::new());
}
