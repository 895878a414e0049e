//! The `list-api-keys` Lambda: GET /v1/api-keys and GET /v1/api-keys/{id}.

use api::handlers::list_api_keys;
use api::{AppState, ServiceConfig, lambda};
use environment::ProcessEnv;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let config = lambda::configured(ServiceConfig::from_env(&ProcessEnv)).await?;
    let state = AppState::from_aws(&config).await;
    lambda::serve("list-api-keys", state, list_api_keys::handle).await
}
