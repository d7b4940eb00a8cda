//! The Lambda entry point (`bootstrap` on provided.al2023): wires the provider to the Runtime API.

use lambda_runtime::{service_fn, LambdaEvent};
use securityhub_member_account::{init_logging, response_client, Aws, Config, Provider};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let provider = Arc::new(Provider::new(Config::from_env(), response_client()?, Aws::new()));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let provider = provider.clone();
        // Boxed: the request's future is large, and the runtime's own future around it too deep unboxed.
        async move { Box::pin(provider.handle(event)).await }
    }))
    .await
}
