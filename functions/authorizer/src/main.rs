//! The `authorizer` Lambda: verifies the bearer JWT and decides per route
//! (HTTP API Lambda authorizer, payload 2.0, simple responses).

use api::config::ProcessEnv;
use api::{AuthConfig, Verifier, lambda};

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let config = lambda::configured(AuthConfig::from_env(&ProcessEnv)).await?;
    let verifier = lambda::configured(Verifier::new(config)).await?;
    lambda::serve_authorizer(verifier).await
}
