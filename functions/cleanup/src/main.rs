//! The `cleanup` Lambda: the cascade on the table's stream (keys of archived
//! applications and deleted Arx) and the scheduled sweep (expiry notices,
//! expiry and purge).

use api::config::CleanupConfig;
use environment::ProcessEnv;
use environment::aws::AwsAccess;
use jobs::SweepPolicy;
use notify::Notifications;
use store::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), jobs::lambda::Error> {
    api::lambda::init_tracing();
    let config = api::lambda::configured(CleanupConfig::from_env(&ProcessEnv)).await?;
    let access = api::lambda::configured(AwsAccess::from_env(&ProcessEnv)).await?;
    let endpoint = config.dynamodb_endpoint.as_deref();
    let store = DynamoStore::on_aws(&access, &config.table_name, endpoint);
    let topic = config.notifications_topic_arn.clone();
    let notifier = Notifications::on_aws(&access, &ProcessEnv, topic);
    let policy = SweepPolicy {
        retention: config.retention(),
        notice: config.expiry_notice,
    };
    jobs::lambda::serve_on_aws(store, notifier, policy).await
}
