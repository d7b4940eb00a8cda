//! Account creation against SDK fakes: found again rather than made twice, and retried when
//! Organizations is busy with another change.
use super::*;
use aws_sdk_organizations::operation::{
    create_account::CreateAccountOutput, describe_create_account_status::DescribeCreateAccountStatusOutput,
    list_accounts::ListAccountsOutput, list_create_account_status::ListCreateAccountStatusOutput,
    list_tags_for_resource::ListTagsForResourceOutput,
};
use aws_sdk_organizations::types::{Account, CreateAccountFailureReason, CreateAccountStatus};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

const OURS: &str = "444455556666";
const THEIRS: &str = "777788889999";
const EMAIL: &str = "member@example.com";
const NAME: &str = "Member";
const STACK: &str = "arn:aws:cloudformation:eu-west-1:111111111111:stack/members/1";
const OTHER_STACK: &str = "arn:aws:cloudformation:eu-west-1:111111111111:stack/others/2";

fn new_account() -> NewAccount {
    NewAccount { name: NAME.to_owned(), email: EMAIL.to_owned(), parent_id: None }
}

fn owner() -> Owner {
    Owner { stack_id: STACK.to_owned(), logical_id: "Member".to_owned() }
}

fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_organizations, RuleMode::MatchAny, rules.iter().copied(), |config| config.retry_config(
        aws_config::retry::RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(1))
    ))
}

/// An Organizations error as the service sends it (JSON 1.1, code in the body).
fn error_body(code: &str) -> Option<String> {
    Some(format!(r#"{{"__type":"{code}","Message":"{code} from the fake"}}"#))
}

fn accounts(listed: &'static [(&'static str, &'static str)]) -> impl Fn() -> ListAccountsOutput + Send + Sync {
    move || {
        let accounts = listed.iter().map(|(id, email)| Account::builder().id(*id).email(*email).build());
        ListAccountsOutput::builder().set_accounts(Some(accounts.collect())).build()
    }
}

/// ListTagsForResource of `account`: the creation tags of `stack`.
fn tags_of(account: &'static str, stack: &'static str) -> Rule {
    mock!(Client::list_tags_for_resource)
        .match_requests(move |request| request.resource_id() == Some(account))
        .then_output(move || {
            let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build().expect("key and value");
            ListTagsForResourceOutput::builder()
                .tags(tag("team", "security"))
                .tags(tag(STACK_TAG, stack))
                .tags(tag(LOGICAL_ID_TAG, "Member"))
                .build()
        })
}

fn none_in_progress() -> Rule {
    mock!(Client::list_create_account_status).then_output(|| ListCreateAccountStatusOutput::builder().build())
}

fn status(
    request_id: &str,
    state: CreateAccountState,
) -> aws_sdk_organizations::types::builders::CreateAccountStatusBuilder {
    CreateAccountStatus::builder().id(request_id).account_name(NAME).state(state)
}

fn started(request_id: &'static str) -> impl Fn() -> CreateAccountOutput + Send + Sync {
    move || {
        CreateAccountOutput::builder()
            .create_account_status(status(request_id, CreateAccountState::InProgress).build())
            .build()
    }
}

/// DescribeCreateAccountStatus of `request_id`: still in progress `polls_in_progress` times, then `end`.
fn creation(request_id: &'static str, polls_in_progress: usize, end: CreateAccountStatus) -> Rule {
    let in_progress = move || {
        let status = status(request_id, CreateAccountState::InProgress).build();
        DescribeCreateAccountStatusOutput::builder().create_account_status(status).build()
    };
    let rule = mock!(Client::describe_create_account_status)
        .match_requests(move |request| request.create_account_request_id() == Some(request_id))
        .sequence();
    let rule = if polls_in_progress > 0 { rule.output(in_progress).times(polls_in_progress) } else { rule };
    rule.output(move || DescribeCreateAccountStatusOutput::builder().create_account_status(end.clone()).build())
        .repeatedly()
        .build()
}

fn succeeded(request_id: &str, account: &str) -> CreateAccountStatus {
    status(request_id, CreateAccountState::Succeeded).account_id(account).build()
}

fn failed(request_id: &str, reason: &str) -> CreateAccountStatus {
    status(request_id, CreateAccountState::Failed).failure_reason(CreateAccountFailureReason::from(reason)).build()
}

/// A creation's request id, where a test does not look at it.
fn nothing(_: &str) {}

fn ours<'a>(org: &'a Client, new: &'a NewAccount, owner: &'a Owner, started: Started<'a>) -> Creation<'a> {
    Creation { org, new, role_name: "OrganizationAccountAccessRole", owner, started }
}

#[tokio::test(start_paused = true)]
async fn a_second_run_finds_its_own_account_by_email_and_tags() {
    let listed = mock!(Client::list_accounts)
        .then_output(accounts(&[(THEIRS, "someone@example.com"), (OURS, "Member@Example.com")]));
    let create = mock!(Client::create_account).then_output(started("car-ours"));
    let org = client(&[&listed, &tags_of(OURS, STACK), &create]);

    let account = create_or_find(&ours(&org, &new_account(), &owner(), &nothing)).await;
    assert_eq!(account.expect("found").as_str(), OURS);
    assert_eq!(create.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_in_progress_creation_that_turns_out_ours_is_waited_for_and_taken() {
    let listed = mock!(Client::list_accounts).then_output(accounts(&[]));
    let in_progress = mock!(Client::list_create_account_status).then_output(|| {
        ListCreateAccountStatusOutput::builder()
            .create_account_statuses(CreateAccountStatus::builder().id("car-theirs").account_name("Another").build())
            .create_account_statuses(status("car-ours", CreateAccountState::InProgress).build())
            .build()
    });
    let polls = creation("car-ours", 2, succeeded("car-ours", OURS));
    let create = mock!(Client::create_account).then_output(started("car-new"));
    let org = client(&[&listed, &in_progress, &polls, &tags_of(OURS, STACK), &create]);

    let start = Instant::now();
    let seen = std::sync::Mutex::new(Vec::new());
    let started = |request_id: &str| seen.lock().unwrap().push(request_id.to_owned());
    let account = create_or_find(&ours(&org, &new_account(), &owner(), &started)).await;
    assert_eq!(account.expect("taken").as_str(), OURS);
    assert_eq!((polls.num_calls(), create.num_calls()), (3, 0));
    assert_eq!(*seen.lock().unwrap(), ["car-ours"], "the creation waited for is named while it is waited for");
    // Polled at once, 0.5 s later, then 1.5 s after that.
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn an_in_progress_creation_of_another_resource_is_not_taken() {
    // Names are not unique: the account being created under this name has another stack's tags.
    let listed = mock!(Client::list_accounts).then_output(accounts(&[(THEIRS, "them@example.com")]));
    let in_progress = mock!(Client::list_create_account_status).then_output(|| {
        let status = status("car-theirs", CreateAccountState::InProgress).build();
        ListCreateAccountStatusOutput::builder().create_account_statuses(status).build()
    });
    let their_creation = creation("car-theirs", 0, succeeded("car-theirs", THEIRS));
    let create = mock!(Client::create_account).then_output(started("car-ours"));
    let our_creation = creation("car-ours", 0, succeeded("car-ours", OURS));
    let org = client(&[&listed, &in_progress, &their_creation, &tags_of(THEIRS, OTHER_STACK), &create, &our_creation]);

    let account = create_or_find(&ours(&org, &new_account(), &owner(), &nothing)).await;
    assert_eq!(account.expect("created").as_str(), OURS);
    assert_eq!(create.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_email_used_by_an_account_this_resource_did_not_create_is_refused_naming_it() {
    let listed = mock!(Client::list_accounts).then_output(accounts(&[(THEIRS, EMAIL)]));
    let create = mock!(Client::create_account).then_output(started("car-ours"));
    let org = client(&[&listed, &tags_of(THEIRS, OTHER_STACK), &create]);

    let error = create_or_find(&ours(&org, &new_account(), &owner(), &nothing)).await.unwrap_err();
    assert_eq!(error, AccountError::EmailTaken(THEIRS.to_owned()));
    assert!(error.to_string().contains(&format!("AccountId: {THEIRS}")), "{error}");
    assert_eq!(create.num_calls(), 0);
}

/// An organization with no account of this email and no creation of this name under way.
fn empty_organization() -> (Rule, Rule) {
    (mock!(Client::list_accounts).then_output(accounts(&[])), none_in_progress())
}

#[tokio::test(start_paused = true)]
async fn create_account_refused_for_a_concurrent_modification_is_tried_again() {
    let (listed, in_progress) = empty_organization();
    let create = mock!(Client::create_account)
        .sequence()
        .http_status(400, error_body("ConcurrentModificationException"))
        .times(2)
        .output(started("car-ours"))
        .build();
    let polls = creation("car-ours", 0, succeeded("car-ours", OURS));
    let org = client(&[&listed, &in_progress, &create, &polls]);

    let account = create_or_find(&ours(&org, &new_account(), &owner(), &nothing)).await;
    assert_eq!(account.expect("created").as_str(), OURS);
    // The SDK does not retry this error: each call is one of the crate's own tries.
    assert_eq!(create.num_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_creation_failed_as_a_duplicate_waits_for_the_twin_and_never_creates_again() {
    // CONCURRENT_ACCOUNT_MODIFICATION: "You already submitted a request with the same information". The twin's
    // creation shows on the second look, and is ours.
    let listed = mock!(Client::list_accounts).then_output(accounts(&[]));
    let in_progress = mock!(Client::list_create_account_status)
        .sequence()
        .output(|| ListCreateAccountStatusOutput::builder().build())
        .times(2)
        .output(|| {
            ListCreateAccountStatusOutput::builder()
                .create_account_statuses(status("car-twin", CreateAccountState::InProgress).build())
                .build()
        })
        .build();
    let create = mock!(Client::create_account).then_output(started("car-mine"));
    let mine = creation("car-mine", 0, failed("car-mine", "CONCURRENT_ACCOUNT_MODIFICATION"));
    let twin = creation("car-twin", 1, succeeded("car-twin", OURS));
    let org = client(&[&listed, &in_progress, &create, &mine, &twin, &tags_of(OURS, STACK)]);

    let account = create_or_find(&ours(&org, &new_account(), &owner(), &nothing)).await;
    assert_eq!(account.expect("the twin's").as_str(), OURS);
    assert_eq!(create.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_whose_twin_never_shows_fails_naming_the_reason() {
    let (listed, in_progress) = empty_organization();
    let create = mock!(Client::create_account).then_output(started("car-mine"));
    let mine = creation("car-mine", 0, failed("car-mine", "CONCURRENT_ACCOUNT_MODIFICATION"));
    let org = client(&[&listed, &in_progress, &create, &mine]);

    let error = create_or_find(&ours(&org, &new_account(), &owner(), &nothing)).await.unwrap_err();
    assert_eq!(error, AccountError::CreationFailed("CONCURRENT_ACCOUNT_MODIFICATION".to_owned()));
    assert_eq!(create.num_calls(), 1);
}

fn described(created: bool, email: &str) -> Described {
    Described { created, email: email.to_owned(), closing: false }
}

#[test]
fn only_an_account_created_for_this_resource_with_its_email_may_be_closed() {
    assert_eq!(may_close(true, &described(true, "A@example.com"), Some("a@example.com")), Ok(()));
    assert!(may_close(false, &described(true, EMAIL), Some(EMAIL)).unwrap_err().contains("creation tags"));
    assert!(may_close(true, &described(false, EMAIL), Some(EMAIL)).unwrap_err().contains("JoinedMethod"));
    assert!(may_close(true, &described(true, EMAIL), Some("other@example.com")).unwrap_err().contains("email"));
    assert!(may_close(true, &described(true, EMAIL), None).unwrap_err().contains("email"));
}

#[tokio::test(start_paused = true)]
async fn concurrent_modifications_are_tried_a_bounded_number_of_times() {
    let (listed, in_progress) = empty_organization();
    let create = mock!(Client::create_account)
        .sequence()
        .http_status(400, error_body("ConcurrentModificationException"))
        .repeatedly()
        .build();
    let org = client(&[&listed, &in_progress, &create]);

    let error = create_or_find(&ours(&org, &new_account(), &owner(), &nothing)).await.unwrap_err();
    assert!(matches!(&error, AccountError::Aws(error) if error.is("ConcurrentModificationException")), "{error}");
    assert_eq!(create.num_calls(), CREATE_ATTEMPTS as usize);
}

#[tokio::test(start_paused = true)]
async fn a_creation_failed_for_another_reason_gives_that_reason() {
    let (listed, in_progress) = empty_organization();
    let create = mock!(Client::create_account).then_output(started("car-ours"));
    let polls = creation("car-ours", 1, failed("car-ours", "ACCOUNT_LIMIT_EXCEEDED"));
    let org = client(&[&listed, &in_progress, &create, &polls]);

    let error = create_or_find(&ours(&org, &new_account(), &owner(), &nothing)).await.unwrap_err();
    assert_eq!(error, AccountError::CreationFailed("ACCOUNT_LIMIT_EXCEEDED".to_owned()));
    assert_eq!(create.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn losing_the_create_account_race_finds_the_account_of_the_twin() {
    // A twin run of the same request created the account between this run's look and its CreateAccount.
    let listed =
        mock!(Client::list_accounts).sequence().output(accounts(&[])).output(accounts(&[(OURS, EMAIL)])).build();
    let create = mock!(Client::create_account).then_output(started("car-ours"));
    let polls = creation("car-ours", 0, failed("car-ours", "EMAIL_ALREADY_EXISTS"));
    let org = client(&[&listed, &none_in_progress(), &create, &polls, &tags_of(OURS, STACK)]);

    let account = create_or_find(&ours(&org, &new_account(), &owner(), &nothing)).await;
    assert_eq!(account.expect("the twin's").as_str(), OURS);
    assert_eq!((listed.num_calls(), create.num_calls()), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn a_creation_still_in_progress_after_the_patience_is_slow() {
    let polls = creation("car-ours", usize::MAX - 1, succeeded("car-ours", OURS));
    let org = client(&[&polls]);

    let start = Instant::now();
    assert_eq!(wait_for_creation(&org, "car-ours").await, Err(AccountError::CreationSlow));
    assert!(start.elapsed() < CREATION_PATIENCE, "{:?}", start.elapsed());
    // 0.5 s, then every 1.5 s: the polls of 14 minutes, none of them at or past the end.
    assert_eq!(polls.num_calls(), 2 + (CREATION_PATIENCE.as_millis() as usize - 500 - 1) / 1500);
}
