//! The `cleanup` Lambda: the cascade on the table's stream (keys of archived
//! applications and deleted Arx) and the scheduled sweep (expiry notices,
//! expiry and purge).

// The sweep's future nests the SDK's deeply; the default limit (128) is too low
// to compute its layout.
#![recursion_limit = "256"]

use api::config::{CleanupConfig, ProcessEnv};
use jobs::SweepPolicy;
use jobs::notify::Notifications;
use store::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), jobs::lambda::Error> {
    api::lambda::init_tracing();
    let config = api::lambda::configured(CleanupConfig::from_env(&ProcessEnv)).await?;
    let endpoint = config.dynamodb_endpoint.as_deref();
    let store = DynamoStore::from_environment(&config.table_name, endpoint).await;
    let notifier = Notifications::from_environment(config.notifications_topic_arn.clone()).await;
    let policy = SweepPolicy {
        retention: config.retention(),
        notice: config.expiry_notice,
    };
    jobs::lambda::serve(store, notifier, policy).await
}
