//! The `change-api-key` Lambda: ends or suspends one key.
//! DELETE /v1/api-keys/{id}, POST /v1/api-keys/{id}/disable and /enable.

use api::handlers::change_api_key;
use api::{AppState, ServiceConfig, lambda};
use environment::ProcessEnv;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let config = lambda::configured(ServiceConfig::from_env(&ProcessEnv)).await?;
    let state = AppState::from_aws(&config).await;
    lambda::serve("change-api-key", state, change_api_key::handle).await
}
