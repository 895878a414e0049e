//! The `audit-events` Lambda: GET /v1/audit-events (owners and admins).

use api::handlers::audit_events;
use api::{AppState, ServiceConfig, lambda};
use environment::ProcessEnv;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let config = lambda::configured(ServiceConfig::from_env(&ProcessEnv)).await?;
    let state = AppState::from_aws(&config).await;
    lambda::serve("audit-events", state, audit_events::handle).await
}
