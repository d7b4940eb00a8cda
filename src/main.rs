//! The Lambda entry point (`bootstrap` on provided.al2023): wires the provider to the Runtime API.

use lambda_runtime::{service_fn, LambdaEvent};
use securityhub_member_account::protocol::{delivery, handler::Provider};
use securityhub_member_account::{aws::Aws, config::Config, logging};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let provider = Arc::new(Provider::new(Config::from_env(), delivery::client()?, Aws::new()));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let provider = provider.clone();
        // Boxed: the request's future is large, and the runtime's own future around it too deep unboxed.
        async move { Box::pin(provider.handle(event)).await }
    }))
    .await
}
