//! The `cleanup` Lambda: the cascade on the table's stream (keys of archived
//! applications and deleted Arx) and the scheduled sweep (expiry notices,
//! expiry and purge).

// The sweep's future nests the SDK's deeply; the default limit (128) is too low
// to compute its layout.
#![recursion_limit = "256"]

use api::config::CleanupConfig;
use environment::ProcessEnv;
use jobs::SweepPolicy;
use notify::Notifications;
use store::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), jobs::lambda::Error> {
    api::lambda::init_tracing();
    let config = api::lambda::configured(CleanupConfig::from_env(&ProcessEnv)).await?;
    // One load of the SDK's configuration for both clients.
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let endpoint = config.dynamodb_endpoint.as_deref();
    let store = DynamoStore::from_config(&sdk, &config.table_name, endpoint);
    let notifier = Notifications::from_config(&sdk, config.notifications_topic_arn.clone());
    let policy = SweepPolicy {
        retention: config.retention(),
        notice: config.expiry_notice,
    };
    jobs::lambda::serve(store, notifier, policy).await
}
