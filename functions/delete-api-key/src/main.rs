//! The `delete-api-key` Lambda: DELETE /v1/api-keys/{id}.

use api::config::ProcessEnv;
use api::handlers::delete_api_key;
use api::{AppState, ServiceConfig, lambda};

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let config = ServiceConfig::from_env(&ProcessEnv)?;
    let state = AppState::from_aws(&config).await;
    lambda::serve("delete-api-key", state, delete_api_key::handle).await
}
