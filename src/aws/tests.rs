//! AssumeRole and the mapping of SDK errors, against SDK fakes.
use super::*;
use aws_sdk_organizations::operation::close_account::CloseAccountOutput;
use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::DateTime;

const ROLE: &str = "arn:aws:iam::444455556666:role/OrganizationAccountAccessRole";
/// 2030-01-01T00:00:00Z.
const EXPIRY_SECS: i64 = 1_893_456_000;

fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(1))
}

fn sts(rules: &[&Rule]) -> aws_sdk_sts::Client {
    mock_client!(aws_sdk_sts, RuleMode::MatchAny, rules.iter().copied(), |config| config.retry_config(retry_config()))
}

/// An STS error as the service sends it (AWS Query, XML).
fn sts_error(code: &str, message: &str) -> Option<String> {
    Some(format!(
        r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fake</RequestId></ErrorResponse>"#
    ))
}

fn access_denied() -> Option<String> {
    sts_error(
        "AccessDenied",
        "User: arn:aws:sts::111111111111:assumed-role/provider/x is not authorized to perform: sts:AssumeRole",
    )
}

fn assumed() -> AssumeRoleOutput {
    let credentials = aws_sdk_sts::types::Credentials::builder()
        .access_key_id("ASIAFAKEKEYID")
        .secret_access_key("fake-secret")
        .session_token("fake-token")
        .expiration(DateTime::from_secs(EXPIRY_SECS))
        .build()
        .expect("every field");
    AssumeRoleOutput::builder().credentials(credentials).build()
}

/// AssumeRole of [`ROLE`] by this provider's session name: refused with AccessDenied `refusals` times, then granted.
fn assumable_after(refusals: usize) -> Rule {
    let rule = mock!(aws_sdk_sts::Client::assume_role)
        .match_requests(|request| request.role_arn() == Some(ROLE) && request.role_session_name() == Some("session"))
        .sequence();
    let rule = if refusals > 0 { rule.http_status(403, access_denied()).times(refusals) } else { rule };
    rule.output(assumed).repeatedly().build()
}

#[tokio::test(start_paused = true)]
async fn access_denied_is_tried_again_within_the_patience() {
    let rule = assumable_after(3);
    let start = tokio::time::Instant::now();
    let credentials = assume_role(&sts(&[&rule]), ROLE, Duration::from_secs(180), "session").await.expect("assumed");
    assert_eq!(rule.num_calls(), 4);
    // Pauses of at most 1, 2 and 4 s.
    assert!(start.elapsed() <= Duration::from_secs(7), "{:?}", start.elapsed());
    assert_eq!(credentials.access_key_id(), "ASIAFAKEKEYID");
    assert_eq!(credentials.secret_access_key(), "fake-secret");
    assert_eq!(credentials.session_token(), Some("fake-token"));
    assert_eq!(credentials.expiry(), Some(SystemTime::UNIX_EPOCH + Duration::from_secs(EXPIRY_SECS as u64)));
}

#[tokio::test(start_paused = true)]
async fn access_denied_without_patience_fails_at_once_naming_the_role() {
    let rule = assumable_after(usize::MAX - 1);
    let start = tokio::time::Instant::now();
    let error = assume_role(&sts(&[&rule]), ROLE, Duration::ZERO, "session").await.unwrap_err();
    assert_eq!((rule.num_calls(), start.elapsed()), (1, Duration::ZERO));
    assert_eq!((error.operation, error.code.as_deref()), ("AssumeRole", Some("AccessDenied")));
    assert!(error.message.starts_with(&format!("{ROLE}: AccessDenied: User: ")), "{}", error.message);
}

#[tokio::test(start_paused = true)]
async fn access_denied_past_the_patience_is_the_error() {
    let rule = assumable_after(usize::MAX - 1);
    let start = tokio::time::Instant::now();
    let error = assume_role(&sts(&[&rule]), ROLE, Duration::from_secs(20), "session").await.unwrap_err();
    assert!(error.is("AccessDenied"));
    assert!(rule.num_calls() > 1);
    // No pause that would end past the patience is taken.
    assert!(start.elapsed() < Duration::from_secs(20), "{:?}", start.elapsed());
}

#[tokio::test(start_paused = true)]
async fn other_refusals_are_not_tried_again() {
    // A modeled error of AssumeRole.
    let message = "STS is not activated in this region for account:444455556666.";
    let rule = mock!(aws_sdk_sts::Client::assume_role)
        .sequence()
        .http_status(403, sts_error("RegionDisabledException", message))
        .repeatedly()
        .build();
    let error = assume_role(&sts(&[&rule]), ROLE, Duration::from_secs(180), "session").await.unwrap_err();
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(error.code.as_deref(), Some("RegionDisabledException"));
    assert_eq!(error.message, format!("{ROLE}: RegionDisabledException: {message}"));
}

fn organizations(rules: &[&Rule]) -> aws_sdk_organizations::Client {
    mock_client!(aws_sdk_organizations, RuleMode::MatchAny, rules.iter().copied(), |config| config
        .retry_config(retry_config()))
}

/// CloseAccount (a JSON 1.1 operation) answering HTTP `status` with `body`, mapped to an [`AwsError`].
async fn close_account_error(status: u16, body: Option<String>) -> AwsError {
    let rule =
        mock!(aws_sdk_organizations::Client::close_account).sequence().http_status(status, body).repeatedly().build();
    let org = organizations(&[&rule]);
    let answer: Result<CloseAccountOutput, _> = org.close_account().account_id("444455556666").send().await;
    answer.op("CloseAccount").unwrap_err()
}

#[tokio::test(start_paused = true)]
async fn a_modeled_error_gives_its_code_and_message() {
    let body = r#"{"__type":"AccountNotFoundException","Message":"You specified an account that doesn't exist."}"#;
    let error = close_account_error(400, Some(body.to_owned())).await;
    assert_eq!(error.operation, "CloseAccount");
    assert!(error.is("AccountNotFoundException"));
    assert_eq!(error.message, "AccountNotFoundException: You specified an account that doesn't exist.");
    assert_eq!(error.to_string(), format!("CloseAccount: {}", error.message));
}

#[tokio::test(start_paused = true)]
async fn an_unmodeled_error_gives_its_code_and_message_too() {
    let body = r#"{"__type":"SomethingNewException","Message":"a code this SDK does not know"}"#;
    let error = close_account_error(400, Some(body.to_owned())).await;
    assert!(error.is("SomethingNewException"));
    assert_eq!(error.message, "SomethingNewException: a code this SDK does not know");
}

#[tokio::test(start_paused = true)]
async fn an_error_without_a_code_is_described_in_the_sdk_s_words() {
    let error = close_account_error(400, None).await;
    assert_eq!(error.code, None);
    assert!(!error.message.is_empty());
}

#[tokio::test(start_paused = true)]
async fn error_messages_lose_control_characters_and_are_capped() {
    // JSON escapes, so that the message really carries the control characters.
    let long = "x".repeat(2 * MAX_MESSAGE_CHARS);
    let body = format!(r#"{{"__type":"ConstraintViolationException","Message":"line\r\nforged\u001b[31m\t{long}"}}"#);
    let error = close_account_error(400, Some(body)).await;
    assert!(error.message.starts_with("ConstraintViolationException: line  forged [31m xxx"), "{}", error.message);
    assert!(!error.message.chars().any(char::is_control));
    assert_eq!(error.message.chars().count(), MAX_MESSAGE_CHARS);
}

#[test]
fn session_names_carry_the_request_id_within_iam_s_limits() {
    let name = session_name("5f0c2a9e-3b1d-4c7e-9a6f-0e8d7c6b5a41");
    assert_eq!(name, "securityhub-member-account-5f0c2a9e-3b1d-4c7e-9a6f-0e8d7c6b5a41");
    assert_eq!(session_name("5F0C2A9E-3B1D-4C7E-9A6F-0E8D7C6B5A41"), name, "one spelling in CloudTrail");
    // A caller-chosen id never reaches CloudTrail: a short hash of it, the same for the same id.
    let hostile = session_name(&format!("a b/c\n{}", "x".repeat(300)));
    assert!(hostile.len() <= 64 && hostile.starts_with("securityhub-member-account-h"), "{hostile}");
    assert!(hostile.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)));
    assert!(!hostile.contains("abc") && !hostile.contains("xxx"), "{hostile}");
    assert_eq!(hostile, session_name(&format!("a b/c\n{}", "x".repeat(300))));
    for lookalike in [
        "admin-AssumedByProvider",
        "5f0c2a9e-3b1d-4c7e-9a6f-0e8d7c6b5a4",
        "5f0c2a9e3b1d4c7e9a6f0e8d7c6b5a41",
        "5f0c2a9e-3b1d-4c7e-9a6f-0e8d7c6b5a4g",
    ] {
        let named = session_name(lookalike);
        assert!(named.starts_with("securityhub-member-account-h") && named.len() == 44, "{named}");
    }
    assert_ne!(session_name("r1"), session_name("r2"));
}

// --- patience with throttling, through the SDK's own retry loop ---------------------------------------------

/// A Security Hub client with the provider's retry settings and `patience`, over fake answers. Standard
/// mode, not adaptive: the adaptive rate limiter keeps the wall clock, which a paused test clock does not move.
fn patient_securityhub(rules: &[&Rule], patience: &Arc<Patience>) -> aws_sdk_securityhub::Client {
    mock_client!(aws_sdk_securityhub, RuleMode::Sequential, rules.iter().copied(), |config| config
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(RETRY_INITIAL_BACKOFF)
                .with_max_backoff(RETRY_MAX_BACKOFF)
        )
        .retry_partition(patience::partition("test-patience", "111111111111", "eu-west-1"))
        .interceptor(patience.interceptor()))
}

fn securityhub_error(code: &str) -> Option<String> {
    Some(format!(r#"{{"__type":"{code}","Message":"{code} from the fake"}}"#))
}

/// DescribeHub answering `status` / `code` `failures` times, then (when `then_answered`) an empty hub.
fn failing_describe_hub(status: u16, code: &str, failures: usize, then_answered: bool) -> Rule {
    let failing =
        mock!(aws_sdk_securityhub::Client::describe_hub).sequence().http_status(status, securityhub_error(code));
    let failing = failing.times(failures);
    match then_answered {
        true => failing
            .output(|| aws_sdk_securityhub::operation::describe_hub::DescribeHubOutput::builder().build())
            .build(),
        false => failing.build(),
    }
}

/// Patience for a request whose answer is due in `seconds`.
fn patience_for(seconds: u64) -> (Arc<Patience>, Instant) {
    let patience = Arc::new(Patience::default());
    let answer_by = Instant::now() + Duration::from_secs(seconds);
    patience.begin(answer_by);
    (patience, answer_by)
}

#[tokio::test(start_paused = true)]
async fn a_throttled_call_is_tried_for_as_long_as_the_answer_can_wait() {
    let throttled = failing_describe_hub(429, "LimitExceededException", 25, true);
    let (patience, _) = patience_for(600);
    let client = patient_securityhub(&[&throttled], &patience);
    client.describe_hub().send().await.expect("answered once the queue drained");
    assert_eq!((throttled.num_calls(), patience.throttled()), (26, 25));
}

#[tokio::test(start_paused = true)]
async fn throttling_stops_being_retried_before_the_answer_is_due() {
    let throttled = failing_describe_hub(429, "LimitExceededException", 1000, true);
    let (patience, answer_by) = patience_for(30);
    let error =
        patient_securityhub(&[&throttled], &patience).describe_hub().send().await.op("DescribeHub").unwrap_err();
    assert!(error.is("LimitExceededException"), "{error}");
    // Given up before the answer is due, but not long before: once a full pause no longer fits.
    assert!(Instant::now() <= answer_by, "tried past the answer time");
    assert!(Instant::now() + 2 * RETRY_MAX_BACKOFF >= answer_by, "gave up with time to spare");
    assert!(patience.throttled() > 10, "gave up after {} throttled tries", patience.throttled());
}

#[tokio::test(start_paused = true)]
async fn a_server_error_that_persists_gets_a_bounded_number_of_tries() {
    let failing = failing_describe_hub(500, "InternalException", 50, false);
    let (patience, _) = patience_for(600);
    let error = patient_securityhub(&[&failing], &patience).describe_hub().send().await.op("DescribeHub").unwrap_err();
    assert!(error.is("InternalException"), "{error}");
    assert_eq!((failing.num_calls(), patience.throttled()), (patience::OTHER_ATTEMPTS as usize, 0));
}
