//! Each Lambda function's whole program, one function apiece returning it as
//! a [`Program`]: the `main` in `functions/<name>` only awaits it.
//!
//! Why here and not in each `main`: release builds do not share generic code
//! between crates, so what a function instantiates (its handler on the
//! DynamoDB store, the Lambda runtime around it) was compiled again inside
//! every binary, twelve times. Each program is a boxed future: the binary
//! polls it through a pointer, and the code behind a pointer is compiled by
//! the crate that makes it, here, once (an `async fn` would not do: its body
//! is compiled where it is polled). `docs/benchmarks.md`, build time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use environment::ProcessEnv;
use environment::aws::AwsAccess;
use notify::Notifications;
use store::DynamoStore;
use verify::key_authorizer::KeyAuthorizerConfig;
use verify::leaks::{GithubKeys, LeakConfig};

use crate::handlers;
use crate::lambda::{self, Error, configured};
use crate::{ApiError, ApiRequest, ApiResponse, AppState, Route, ServiceConfig};

/// A function's whole program, for its `main` to await.
pub type Program = Pin<Box<dyn Future<Output = Result<(), Error>>>>;

/// `applications` (its routes: `Route::of_function`, as for each below).
pub fn applications() -> Program {
    api_function("applications", handlers::applications::handle)
}

/// `arx`.
pub fn arx() -> Program {
    api_function("arx", handlers::arx::handle)
}

/// `audit-events`.
pub fn audit_events() -> Program {
    api_function("audit-events", handlers::audit_events::handle)
}

/// `change-api-key`.
pub fn change_api_key() -> Program {
    api_function("change-api-key", handlers::change_keys::handle)
}

/// `create-api-key`: the routes that mint a key (argon2id's work in one function).
pub fn create_api_key() -> Program {
    api_function("create-api-key", handlers::issue_keys::handle)
}

/// `identities`.
pub fn identities() -> Program {
    api_function("identities", handlers::identities::handle)
}

/// `list-api-keys`.
pub fn list_api_keys() -> Program {
    api_function("list-api-keys", handlers::read_keys::handle)
}

/// `ratelimit`: the checks of rate limits for anything (the data plane).
pub fn ratelimit() -> Program {
    api_function("ratelimit", handlers::ratelimit::handle)
}

/// `ratelimit-namespaces`.
pub fn ratelimit_namespaces() -> Program {
    api_function("ratelimit-namespaces", handlers::rate_limits::handle)
}

/// `roles`.
pub fn roles() -> Program {
    api_function("roles", handlers::roles::handle)
}

/// `submit-feedback`.
pub fn submit_feedback() -> Program {
    api_function("submit-feedback", handlers::feedback::handle)
}

/// `verify-key`.
pub fn verify_key() -> Program {
    api_function("verify-key", handlers::verification::handle)
}

/// `key-authorizer`: checks access keys for a team's own API (see
/// docs/protect-your-api.md).
pub fn key_authorizer() -> Program {
    Box::pin(async move {
        lambda::init_tracing();
        // Settings first: a missing one is named before any call is made.
        let authorizer = configured(KeyAuthorizerConfig::from_env(&ProcessEnv)).await?;
        let AppState {
            store, verifier, ..
        } = api_state().await?;
        // Boxed, as the authorizer's: too deep to lay out inside this one.
        let serving: Program = Box::pin(lambda::serve_key_authorizer(store, verifier, authorizer));
        serving.await
    })
}

/// `leak-report`: GitHub's secret scanning reports (`POST /v1/leaks/github`).
pub fn leak_report() -> Program {
    Box::pin(async move {
        lambda::init_tracing();
        let config = configured(ServiceConfig::from_env(&ProcessEnv)).await?;
        let access = configured(AwsAccess::from_env(&ProcessEnv)).await?;
        let leaks = configured(LeakConfig::from_env(&ProcessEnv)).await?;
        let keys = configured(GithubKeys::new(leaks.keys_url)).await?;
        let AppState {
            store, verifier, ..
        } = AppState::on_aws(&access, &config);
        refuse_newer_data(&store).await?;
        let notifier = Notifications::on_aws(&access, &ProcessEnv, leaks.notifications_topic_arn);
        lambda::serve_leak_reports(store, verifier, keys, notifier).await
    })
}

/// `authorizer`: the management API's bearer credentials (JWTs and
/// service keys), per route.
pub fn authorizer() -> Program {
    Box::pin(async move {
        lambda::init_tracing();
        // Settings first: a missing one is named before any call is made.
        let config = configured(auth::AuthConfig::from_env(&ProcessEnv)).await?;
        let tokens = configured(auth::Authenticator::new(config)).await?;
        let AppState {
            store, verifier, ..
        } = api_state().await?;
        // Boxed: the runtime's future around the check is too deep to lay
        // out inside this one.
        let serving: Program = Box::pin(lambda::serve_authorizer(lambda::Callers {
            tokens,
            store,
            verifier,
        }));
        serving.await
    })
}

/// `service-keys`: owners' and admins' service keys.
pub fn service_keys() -> Program {
    api_function("service-keys", handlers::service_keys::handle)
}

/// A management function: `handler` serves the routes of `function`. Generic,
/// but instantiated by the functions above, so in this crate.
fn api_function<H, Fut>(function: &'static str, handler: H) -> Program
where
    H: Fn(Arc<AppState<DynamoStore>>, Route, ApiRequest) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<ApiResponse, ApiError>> + Send + 'static,
{
    Box::pin(async move {
        lambda::init_tracing();
        let state = api_state().await?;
        lambda::serve(function, state, handler).await
    })
}

/// What every management function starts with (after the log): its
/// settings, and the store and clients built once for the instance.
async fn api_state() -> Result<AppState<DynamoStore>, Error> {
    let config = configured(ServiceConfig::from_env(&ProcessEnv)).await?;
    let access = configured(AwsAccess::from_env(&ProcessEnv)).await?;
    let state = AppState::on_aws(&access, &config);
    refuse_newer_data(&state.store).await?;
    Ok(state)
}

/// Refuses to start on data a later release wrote (an init error naming both
/// versions: a rollback past a data change must restore a backup, see
/// `docs/operations.md`), rather than half-read it. One GetItem at start;
/// bringing older data up to date is the cleanup function's alone.
pub async fn refuse_newer_data(store: &DynamoStore) -> Result<(), Error> {
    configured(store::refuse_newer(store, env!("CARGO_PKG_VERSION")).await).await?;
    Ok(())
}
