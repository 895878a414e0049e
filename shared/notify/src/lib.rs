//! Notices for whoever runs the service: an SNS topic on AWS
//! (`NOTIFICATIONS_TOPIC_ARN`), the log on the dev server or when no topic is
//! set; and the console users' feedback, to its own topic (`FEEDBACK_TOPIC_ARN`).

use std::error::Error;

use domain::{ApiKey, Feedback, ServiceKey, Timestamp};
use environment::Env;
use environment::aws::AwsAccess;
use serde::Serialize;

/// The boxed cause of a failed publish.
pub type NoticeError = Box<dyn Error + Send + Sync>;

/// The key a notice is about, as every notice names it (flattened into it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeKey<'a> {
    pub tenant_id: &'a str,
    pub api_key_id: &'a str,
    pub api_key_name: &'a str,
    pub application_id: &'a str,
    pub application_name: &'a str,
    pub arx_id: &'a str,
    pub arx_name: &'a str,
}

impl<'a> NoticeKey<'a> {
    pub fn of(key: &'a ApiKey) -> Self {
        Self {
            tenant_id: key.tenant_id.as_str(),
            api_key_id: key.id.as_str(),
            api_key_name: key.name.as_str(),
            application_id: key.application_id.as_str(),
            application_name: key.application_name.as_str(),
            arx_id: key.arx_id.as_str(),
            arx_name: key.arx_name.as_str(),
        }
    }
}

/// A key that will stop working soon, as subscribers receive it (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiryNotice<'a> {
    /// What happened, for subscribers that take several kinds of notice.
    pub event: &'static str,
    #[serde(flatten)]
    pub key: NoticeKey<'a>,
    pub expires_at: Timestamp,
}

impl<'a> ExpiryNotice<'a> {
    pub const EVENT: &'static str = "api_key.expires_soon";

    /// The notice for `key`, which has an expiry (`None` otherwise).
    pub fn of(key: &'a ApiKey) -> Option<Self> {
        Some(Self {
            event: Self::EVENT,
            key: NoticeKey::of(key),
            expires_at: key.expires_at?.at(),
        })
    }
}

/// A key GitHub secret scanning found in public code, which was disabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeakNotice<'a> {
    pub event: &'static str,
    #[serde(flatten)]
    pub key: NoticeKey<'a>,
    /// Where GitHub found it (an https URL, as GitHub reported it).
    pub found_at: &'a str,
    pub disabled_at: Timestamp,
}

impl<'a> LeakNotice<'a> {
    pub const EVENT: &'static str = "api_key.leaked";

    pub fn of(key: &'a ApiKey, found_at: &'a str, disabled_at: Timestamp) -> Self {
        Self {
            event: Self::EVENT,
            key: NoticeKey::of(key),
            found_at,
            disabled_at,
        }
    }
}

/// A service key found in public code, and revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceKeyLeakNotice<'a> {
    pub event: &'static str,
    pub tenant_id: &'a str,
    pub service_key_id: &'a str,
    pub service_key_name: &'a str,
    pub role: &'static str,
    /// Where GitHub found it (an https URL, as GitHub reported it).
    pub found_at: &'a str,
    pub revoked_at: Timestamp,
}

impl<'a> ServiceKeyLeakNotice<'a> {
    pub const EVENT: &'static str = "service_key.leaked";

    pub fn of(key: &'a ServiceKey, found_at: &'a str, revoked_at: Timestamp) -> Self {
        Self {
            event: Self::EVENT,
            tenant_id: key.tenant_id.as_str(),
            service_key_id: key.id.as_str(),
            service_key_name: key.name.as_str(),
            role: key.role.as_str(),
            found_at,
            revoked_at,
        }
    }
}

/// Where notices go.
pub trait Notifier: Send + Sync {
    fn expiry_notice(
        &self,
        notice: &ExpiryNotice<'_>,
    ) -> impl Future<Output = Result<(), NoticeError>> + Send;

    fn leak_notice(
        &self,
        notice: &LeakNotice<'_>,
    ) -> impl Future<Output = Result<(), NoticeError>> + Send;

    fn service_key_leak_notice(
        &self,
        notice: &ServiceKeyLeakNotice<'_>,
    ) -> impl Future<Output = Result<(), NoticeError>> + Send;
}

/// Writes each notice to the log (ids and the expiry only: names are user text).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogNotifier;

impl Notifier for LogNotifier {
    async fn expiry_notice(&self, notice: &ExpiryNotice<'_>) -> Result<(), NoticeError> {
        tracing::info!(
            event = notice.event,
            tenant_id = notice.key.tenant_id,
            api_key_id = notice.key.api_key_id,
            expires_at = %notice.expires_at,
            "API key expires soon"
        );
        Ok(())
    }

    /// Ids only: where it was found is the reporter's text.
    async fn leak_notice(&self, notice: &LeakNotice<'_>) -> Result<(), NoticeError> {
        tracing::warn!(
            event = notice.event,
            tenant_id = notice.key.tenant_id,
            api_key_id = notice.key.api_key_id,
            "API key leaked: disabled"
        );
        Ok(())
    }

    async fn service_key_leak_notice(
        &self,
        notice: &ServiceKeyLeakNotice<'_>,
    ) -> Result<(), NoticeError> {
        tracing::warn!(
            event = notice.event,
            tenant_id = notice.tenant_id,
            service_key_id = notice.service_key_id,
            "service key leaked: revoked"
        );
        Ok(())
    }
}

/// Publishes each notice to an SNS topic: the JSON body, with the event and
/// tenant as message attributes so a subscription can filter on them.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: String) -> Self {
        Self { client, topic_arn }
    }

    /// A client with the function's region and role.
    pub fn on_aws(access: &AwsAccess, env: &impl Env, topic_arn: String) -> Self {
        Self::new(sns_client(access, env), topic_arn)
    }
}

/// An SNS client with the function's region and role, sent where
/// `AWS_ENDPOINT_URL_SNS` says if set (a test's fake topic).
pub fn sns_client(access: &AwsAccess, env: &impl Env) -> aws_sdk_sns::Client {
    use aws_sdk_sns::config::{BehaviorVersion, Region};
    let timeouts = environment::aws::SdkTimeouts::AWS;
    let mut config = aws_sdk_sns::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(access.region.clone()))
        .credentials_provider(access.credentials())
        .timeout_config(
            aws_sdk_sns::config::timeout::TimeoutConfig::builder()
                .connect_timeout(timeouts.connect)
                .operation_attempt_timeout(timeouts.attempt)
                .operation_timeout(timeouts.operation)
                .build(),
        );
    if let Some(endpoint) = environment::aws::endpoint_url(env, "SNS") {
        config = config.endpoint_url(endpoint);
    }
    aws_sdk_sns::Client::from_conf(config.build())
}

impl SnsNotifier {
    /// `message` as JSON, with its event and tenant as message attributes.
    async fn publish(
        &self,
        subject: &str,
        event: &str,
        tenant_id: &str,
        message: String,
    ) -> Result<(), NoticeError> {
        let text = |value: &str| {
            aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
        };
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(message)
            .message_attributes("event", text(event)?)
            .message_attributes("tenant_id", text(tenant_id)?)
            .send()
            .await?;
        Ok(())
    }
}

/// The topic a console user's feedback is published to (the stored
/// feedback as JSON, subject "API Keys manager feedback", its event and
/// tenant as message attributes like every notice).
#[derive(Debug, Clone)]
pub struct FeedbackTopic(SnsNotifier);

impl FeedbackTopic {
    pub const EVENT: &'static str = "feedback.submitted";

    pub fn on_aws(access: &AwsAccess, env: &impl Env, topic_arn: String) -> Self {
        Self(SnsNotifier::on_aws(access, env, topic_arn))
    }

    pub async fn publish(&self, feedback: &Feedback) -> Result<(), NoticeError> {
        let message = serde_json::to_string(feedback)?;
        self.0
            .publish(
                "API Keys manager feedback",
                Self::EVENT,
                feedback.tenant_id.as_str(),
                message,
            )
            .await
    }
}

impl Notifier for SnsNotifier {
    async fn expiry_notice(&self, notice: &ExpiryNotice<'_>) -> Result<(), NoticeError> {
        let message = serde_json::to_string(notice)?;
        self.publish(
            "API key expires soon",
            notice.event,
            notice.key.tenant_id,
            message,
        )
        .await
    }

    async fn leak_notice(&self, notice: &LeakNotice<'_>) -> Result<(), NoticeError> {
        let message = serde_json::to_string(notice)?;
        self.publish(
            "API key leaked and disabled",
            notice.event,
            notice.key.tenant_id,
            message,
        )
        .await
    }

    async fn service_key_leak_notice(
        &self,
        notice: &ServiceKeyLeakNotice<'_>,
    ) -> Result<(), NoticeError> {
        let message = serde_json::to_string(notice)?;
        self.publish(
            "Service key leaked and revoked",
            notice.event,
            notice.tenant_id,
            message,
        )
        .await
    }
}

/// Either kind, chosen at start from the configuration.
#[derive(Debug, Clone)]
pub enum Notifications {
    Log(LogNotifier),
    Sns(SnsNotifier),
}

impl Notifications {
    /// SNS when a topic is configured, the log otherwise.
    pub fn on_aws(access: &AwsAccess, env: &impl Env, topic_arn: Option<String>) -> Self {
        match topic_arn {
            Some(arn) => Self::Sns(SnsNotifier::on_aws(access, env, arn)),
            None => Self::Log(LogNotifier),
        }
    }
}

impl Notifier for Notifications {
    async fn expiry_notice(&self, notice: &ExpiryNotice<'_>) -> Result<(), NoticeError> {
        match self {
            Self::Log(log) => log.expiry_notice(notice).await,
            Self::Sns(sns) => sns.expiry_notice(notice).await,
        }
    }

    async fn leak_notice(&self, notice: &LeakNotice<'_>) -> Result<(), NoticeError> {
        match self {
            Self::Log(log) => log.leak_notice(notice).await,
            Self::Sns(sns) => sns.leak_notice(notice).await,
        }
    }

    async fn service_key_leak_notice(
        &self,
        notice: &ServiceKeyLeakNotice<'_>,
    ) -> Result<(), NoticeError> {
        match self {
            Self::Log(log) => log.service_key_leak_notice(notice).await,
            Self::Sns(sns) => sns.service_key_leak_notice(notice).await,
        }
    }
}
