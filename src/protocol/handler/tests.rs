//! The handler's decisions in process: pure helpers, and whole requests through [`Provider::handle`] with SDK
//! fakes ([`crate::aws::fake`]) and a loopback listener standing in for the ResponseURL.
use super::*;
use crate::aws::fake;
use aws_sdk_account::operation::list_regions::ListRegionsOutput;
use aws_sdk_account::types::{Region as AccountRegion, RegionOptStatus};
use aws_sdk_cloudformation::operation::describe_stack_resource::DescribeStackResourceOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::types::{ResourceStatus, Stack, StackResourceDetail, StackStatus};
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_mocks::{mock, Rule};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::DateTime;
use serde_json::json;
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[test]
fn failed_ids_are_never_account_ids() {
    for request_id in ["123456789012", "", "a/b\nc", &"9".repeat(500)] {
        let echo = Echo { request_id: request_id.to_owned(), ..Echo::default() };
        let id = failed_id(&echo);
        assert!(crate::ids::AccountId::parse(&id).is_none());
        assert!(id.len() <= 80 && !id.contains('\n'));
    }
}

#[test]
fn a_creation_cut_short_is_named_with_how_to_take_the_account_on() {
    let progress = Progress::default();
    let plain = timed_out(Bound::ServiceTimeout, Duration::from_secs(1200), &progress);
    assert!(plain.contains("ServiceTimeout, 1200 s") && plain.ends_with("it is safe to retry"), "{plain}");
    progress.set_creation("car-0123456789abcdef");
    let creating = timed_out(Bound::ServiceTimeout, Duration::from_secs(1200), &progress);
    assert!(creating.contains("CreateAccount request car-0123456789abcdef"), "{creating}");
    assert!(creating.contains("give AccountId instead of AccountName and Email"), "{creating}");
    let lambda = timed_out(Bound::Lambda, Duration::from_secs(1200), &progress);
    assert!(lambda.contains("Lambda time limit") && lambda.contains("car-0123456789abcdef"), "{lambda}");
}

#[test]
fn margin_is_bounded() {
    let now = Instant::now();
    assert_eq!(answer_margin(now + Duration::from_secs(900)), MAX_ANSWER_MARGIN);
    assert_eq!(answer_margin(now + Duration::from_secs(3)), MIN_ANSWER_MARGIN);
}

const PROVIDER: &str = "123456789012";
const MEMBER: &str = "222222222222";
const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/member/0a1b2c3d-0000-0000-0000-000000000000";
const TYPE: &str = "Custom::SecurityHubMemberAccount";
const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:provider";

/// The provider's account is the administrator; answers go to loopback.
fn config() -> Config {
    Config::from_lookup(|name| match name {
        "ADMINISTRATOR_ACCOUNT_IDS" => Some(PROVIDER.to_owned()),
        "ALLOW_LOOPBACK_RESPONSE_URL" => Some("true".to_owned()),
        _ => None,
    })
    .expect("valid")
}

/// A Create of `MEMBER` whose work never finishes: the member's role refuses AssumeRole (retried for a minute),
/// while the administrator's side (the provider's own account) and the origin check pass.
fn stuck_create() -> Vec<Rule> {
    vec![
        mock!(aws_sdk_sts::Client::assume_role).then_error(|| {
            let meta =
                ErrorMetadata::builder().code("AccessDenied").message("not authorized to perform: sts:AssumeRole");
            AssumeRoleError::generic(meta.build())
        }),
        mock!(aws_sdk_account::Client::list_regions).then_output(|| {
            let region =
                AccountRegion::builder().region_name("us-east-1").region_opt_status(RegionOptStatus::EnabledByDefault);
            ListRegionsOutput::builder().regions(region.build()).build()
        }),
        mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(|| {
            let stack = Stack::builder()
                .stack_id(STACK)
                .stack_name("member")
                .stack_status(StackStatus::CreateInProgress)
                .creation_time(DateTime::from_secs(1_700_000_000))
                .build();
            DescribeStacksOutput::builder().stacks(stack).build()
        }),
        mock!(aws_sdk_cloudformation::Client::describe_stack_resource).then_output(|| {
            let detail = StackResourceDetail::builder()
                .logical_resource_id("Member")
                .resource_type(TYPE)
                .resource_status(ResourceStatus::CreateInProgress)
                .last_updated_timestamp(DateTime::from_secs(1_700_000_000))
                .build();
            DescribeStackResourceOutput::builder().stack_resource_detail(detail).build()
        }),
    ]
}

fn create(response_url: &str, service_timeout: Option<&str>) -> Value {
    let mut properties = json!({"ServiceToken": FUNCTION, "AdministratorAccountId": PROVIDER, "AccountId": MEMBER});
    if let Some(timeout) = service_timeout {
        properties["ServiceTimeout"] = json!(timeout);
    }
    json!({
        "RequestType": "Create",
        "RequestId": "5b2d7c1e-0000-4000-8000-000000000002",
        "ResponseURL": response_url,
        "StackId": STACK,
        "LogicalResourceId": "Member",
        "ResourceType": TYPE,
        "ResourceProperties": properties,
    })
}

/// An invocation of `payload` that must end `remaining` from now.
fn invocation(payload: Value, remaining: Duration) -> LambdaEvent<Value> {
    let mut context = lambda_runtime::Context::default();
    context.request_id = "lambda-request".to_owned();
    context.invoked_function_arn = FUNCTION.to_owned();
    let now = u64::try_from(clock::epoch_millis(SystemTime::now())).expect("after the epoch");
    context.deadline = now + u64::try_from(remaining.as_millis()).expect("short");
    LambdaEvent::new(payload, context)
}

/// A one-shot HTTP listener on loopback standing in for the ResponseURL: answers 200 to the first request and
/// gives its body; gives up by itself after `patience`.
async fn response_listener(patience: Duration) -> (String, tokio::task::JoinHandle<Option<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}/response?X-Amz-Signature=secret", listener.local_addr().expect("bound"));
    let served = tokio::spawn(async move {
        let served = async move {
            let (mut stream, _) = listener.accept().await.ok()?;
            let mut request = Vec::new();
            let mut chunk = [0_u8; 4096];
            let body = loop {
                let read = stream.read(&mut chunk).await.ok()?;
                if read == 0 || request.len() > 64 * 1024 {
                    return None;
                }
                request.extend_from_slice(&chunk[..read]);
                let text = String::from_utf8_lossy(&request).into_owned();
                let Some((head, body)) = text.split_once("\r\n\r\n") else { continue };
                let length = head
                    .lines()
                    .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(str::to_owned))
                    .and_then(|length| length.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    break body.to_owned();
                }
            };
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await.ok()?;
            Some(body)
        };
        tokio::time::timeout(patience, served).await.ok().flatten()
    });
    (url, served)
}

type Invoked = (Option<String>, Option<InvocationType>, Value);

#[tokio::test]
async fn near_the_lambda_deadline_the_request_is_handed_on_as_it_arrived() {
    let invoked: Arc<Mutex<Vec<Invoked>>> = Arc::default();
    let seen = Arc::clone(&invoked);
    let invoke = mock!(aws_sdk_lambda::Client::invoke)
        .match_requests(move |input| {
            let payload = input.payload().and_then(|blob| serde_json::from_slice(blob.as_ref()).ok());
            let call = (input.function_name().map(str::to_owned), input.invocation_type().cloned(), payload);
            seen.lock().expect("not poisoned").push((call.0, call.1, call.2.unwrap_or_default()));
            true
        })
        .then_output(|| InvokeOutput::builder().status_code(202).build());
    let rules = [stuck_create(), vec![invoke]].concat();
    let (aws, calls) = fake::aws(PROVIDER, &rules.iter().collect::<Vec<_>>());
    let provider = Provider::new(Ok(config()), delivery::client().expect("a client"), aws);
    let (url, listener) = response_listener(Duration::from_secs(10)).await;
    let event = create(&url, None);
    // 3 s left: the answer is due 1 s before the deadline, and CloudFormation waits an hour.
    let handled = provider.handle(invocation(event.clone(), Duration::from_secs(3))).await;
    assert!(handled.is_ok(), "{handled:?}");
    assert_eq!(calls.count("Invoke"), 1, "{:?}", calls.all());
    let invoked = invoked.lock().expect("not poisoned").clone();
    let (function, invocation_type, payload) = &invoked[0];
    assert_eq!(function.as_deref(), Some(FUNCTION));
    assert_eq!(invocation_type, &Some(InvocationType::Event));
    assert_eq!(payload[continuation::REQUEST_KEY], event, "the request as it arrived");
    assert_eq!(payload[continuation::ENVELOPE_KEY]["Hop"], json!(1));
    assert!(!listener.is_finished(), "a request handed on is not answered here");
    listener.abort();
}

#[tokio::test]
async fn before_cloudformation_stops_waiting_the_request_answers_failed() {
    let rules = stuck_create();
    let (aws, calls) = fake::aws(PROVIDER, &rules.iter().collect::<Vec<_>>());
    let provider = Provider::new(Ok(config()), delivery::client().expect("a client"), aws);
    let (url, listener) = response_listener(Duration::from_secs(10)).await;
    // CloudFormation waits 3 s, the Lambda 15 min: CloudFormation's deadline stops the work, 1 s before it.
    let handled = provider.handle(invocation(create(&url, Some("3")), Duration::from_secs(900))).await;
    assert!(handled.is_ok(), "{handled:?}");
    let body = listener.await.expect("the listener ran").expect("an answer was delivered");
    let body: Value = serde_json::from_str(&body).expect("a JSON body");
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(body["PhysicalResourceId"], MEMBER, "the account is known, so the rollback's Delete cleans up");
    let reason = body["Reason"].as_str().unwrap_or_default();
    let expected = "timed out: the work could not finish before CloudFormation stops waiting (ServiceTimeout, 3 s)";
    assert!(reason.starts_with(expected), "{reason}");
    assert_eq!(calls.count("Invoke"), 0, "no hand-off when CloudFormation's deadline comes first");
}
