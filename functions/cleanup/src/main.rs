//! The `cleanup` Lambda: the cascade on the table's stream (keys of archived
//! applications and deleted Arx) and the scheduled sweep (expiry notices,
//! expiry and purge).

use environment::ProcessEnv;
use environment::aws::AwsAccess;
use jobs::SweepPolicy;
use notify::Notifications;
use runtime::config::CleanupConfig;
use store::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), jobs::lambda::Error> {
    runtime::init_tracing();
    let config = runtime::configured(CleanupConfig::from_env(&ProcessEnv)).await?;
    let access = runtime::configured(AwsAccess::from_env(&ProcessEnv)).await?;
    let endpoint = config.dynamodb_endpoint.as_deref();
    let store = DynamoStore::on_aws(&access, &config.table_name, endpoint);
    // The one function that brings the data up to date and records its
    // version (every other one only refuses newer data), and checks the
    // table's indexes, stream and TTL (control-plane calls: one caller).
    let release = env!("CARGO_PKG_VERSION");
    runtime::configured(store::open_data(&store, release).await).await?;
    match store.missing_from_table().await {
        Ok(lacks) => {
            for lack in lacks {
                tracing::error!(
                    %lack,
                    "the table lacks what this release needs: deploy it as docs/deploy.md says"
                );
            }
        }
        Err(error) => {
            let reason = store::error_chain(&error);
            tracing::warn!(%reason, "the table's indexes, stream and TTL could not be checked");
        }
    }
    let topic = config.notifications_topic_arn.clone();
    let notifier = Notifications::on_aws(&access, &ProcessEnv, topic);
    let policy = SweepPolicy {
        retention: config.retention(),
        notice: config.expiry_notice,
    };
    jobs::lambda::serve_on_aws(store, notifier, policy).await
}
