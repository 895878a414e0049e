//! The `leak-report` Lambda: POST /v1/leaks/github, the GitHub secret scanning
//! partner endpoint (docs/leak-response.md). Behind no JWT authorizer: each
//! report is authenticated by GitHub's signature over its body.

use api::{AppState, ServiceConfig, lambda};
use environment::ProcessEnv;
use notify::Notifications;
use verify::leaks::{GithubKeys, LeakConfig};

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let config = lambda::configured(ServiceConfig::from_env(&ProcessEnv)).await?;
    let leaks = lambda::configured(LeakConfig::from_env(&ProcessEnv)).await?;
    let keys = lambda::configured(GithubKeys::new(leaks.keys_url)).await?;
    // One load of the SDK's configuration for the store and the topic.
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let AppState {
        store, verifier, ..
    } = AppState::from_sdk(&sdk, &config);
    let notifier = Notifications::from_config(&sdk, leaks.notifications_topic_arn);
    lambda::serve_leak_reports(store, verifier, keys, notifier).await
}
