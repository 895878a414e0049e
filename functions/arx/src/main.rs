//! The `arx` Lambda: the /v1/arx routes.

use api::handlers::arx;
use api::{AppState, ServiceConfig, lambda};
use environment::ProcessEnv;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let config = lambda::configured(ServiceConfig::from_env(&ProcessEnv)).await?;
    let state = AppState::from_aws(&config).await;
    lambda::serve("arx", state, arx::handle).await
}
