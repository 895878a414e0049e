//! The `submit-feedback` Lambda: POST /v1/feedback.

use api::handlers::submit_feedback;
use api::{AppState, ServiceConfig, lambda};
use environment::ProcessEnv;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let config = lambda::configured(ServiceConfig::from_env(&ProcessEnv)).await?;
    let state = AppState::from_aws(&config).await;
    lambda::serve("submit-feedback", state, submit_feedback::handle).await
}
