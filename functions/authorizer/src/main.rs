//! The `authorizer` Lambda: verifies the bearer JWT and decides per route
//! (HTTP API Lambda authorizer, payload 2.0, simple responses).

use api::lambda;
use auth::{AuthConfig, Authenticator};
use environment::ProcessEnv;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let config = lambda::configured(AuthConfig::from_env(&ProcessEnv)).await?;
    let authenticator = lambda::configured(Authenticator::new(config)).await?;
    lambda::serve_authorizer(authenticator).await
}
