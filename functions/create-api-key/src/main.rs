//! The `create-api-key` Lambda: POST /v1/api-keys.

use api::handlers::create_api_key;
use api::{AppState, ServiceConfig, lambda};
use environment::ProcessEnv;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let config = lambda::configured(ServiceConfig::from_env(&ProcessEnv)).await?;
    let state = AppState::from_aws(&config).await;
    lambda::serve("create-api-key", state, create_api_key::handle).await
}
