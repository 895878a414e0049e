//! What handlers share, built once per process (a Lambda's cold start, the dev
//! server's start).

use domain::NoticePeriod;
use environment::ProcessEnv;
use environment::aws::AwsAccess;
use notify::FeedbackTopic;
use store::DynamoStore;
use verify::Verifier;

use crate::config::ServiceConfig;

/// The parts a management function's handlers share: the store, the data
/// plane's [`Verifier`] (the verify route checks keys with it; creates hash
/// new keys with its gate, and a change that revokes clears its verdicts),
/// and the management API's own settings.
#[derive(Debug)]
pub struct AppState<S> {
    pub store: S,
    pub verifier: Verifier,
    /// Arx URLs are `<arx_base_url>/<arx id>`.
    pub arx_base_url: String,
    /// Keys within this of their expiry show `expires_soon`.
    pub expiry_notice: NoticePeriod,
    pub feedback_topic: Option<FeedbackTopic>,
}

impl<S> AppState<S> {
    pub fn new(store: S, config: &ServiceConfig) -> Self {
        Self {
            store,
            verifier: Verifier::new(config.access_key_prefix.clone(), config.verify_cache)
                .counting_every(config.usage_flush),
            arx_base_url: config.arx_base_url.clone(),
            expiry_notice: config.expiry_notice,
            feedback_topic: None,
        }
    }
}

impl AppState<DynamoStore> {
    /// The state of a Lambda function: clients with the function's region
    /// and role, built once.
    pub fn on_aws(access: &AwsAccess, config: &ServiceConfig) -> Self {
        let endpoint = config.dynamodb_endpoint.as_deref();
        let store =
            DynamoStore::on_aws(access, &config.table_name, endpoint).with_leases(config.leases);
        let mut state = Self::new(store, config);
        state.feedback_topic = config
            .feedback_topic_arn
            .clone()
            .map(|arn| FeedbackTopic::on_aws(access, &ProcessEnv, arn));
        state
    }
}
