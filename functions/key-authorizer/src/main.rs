//! The `key-authorizer` Lambda: an API Gateway authorizer that checks access
//! keys for a team's own API (see docs/protect-your-api.md).

use api::{AppState, ServiceConfig, lambda};
use environment::ProcessEnv;
use verify::key_authorizer::KeyAuthorizerConfig;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let config = lambda::configured(ServiceConfig::from_env(&ProcessEnv)).await?;
    let authorizer = lambda::configured(KeyAuthorizerConfig::from_env(&ProcessEnv)).await?;
    let AppState {
        store, verifier, ..
    } = AppState::from_aws(&config).await;
    lambda::serve_key_authorizer(store, verifier, authorizer).await
}
