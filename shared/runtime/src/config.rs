//! Settings more than one function reads (the API's and the cleanup's),
//! and the cleanup function's own, from the environment. A missing or
//! invalid variable stops the process at start, naming the variable.

use domain::NoticePeriod;
use environment::{ConfigError, Env};

/// What the cleanup function needs.
#[derive(Debug, Clone)]
pub struct CleanupConfig {
    pub table_name: String,
    pub dynamodb_endpoint: Option<String>,
    /// Deleted and expired keys are purged this many days after they ended.
    pub retention_days: u16,
    pub expiry_notice: NoticePeriod,
    /// Where expiry notices are published; without one they are logged.
    pub notifications_topic_arn: Option<String>,
}

impl CleanupConfig {
    pub const DEFAULT_RETENTION_DAYS: u16 = 30;

    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let retention_days = match env.optional("RETENTION_DAYS") {
            None => Self::DEFAULT_RETENTION_DAYS,
            Some(raw) => raw
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|days| (1..=3650).contains(days))
                .ok_or(ConfigError::Invalid {
                    name: "RETENTION_DAYS",
                    reason: "must be a whole number of days from 1 to 3650".into(),
                })?,
        };
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            dynamodb_endpoint: env.optional("DYNAMODB_ENDPOINT"),
            retention_days,
            expiry_notice: expiry_notice(env)?,
            notifications_topic_arn: env.optional("NOTIFICATIONS_TOPIC_ARN"),
        })
    }

    pub fn retention(&self) -> time::Duration {
        time::Duration::days(self.retention_days.into())
    }
}

/// How long before its expiry a key is "expiring soon" (`EXPIRY_NOTICE_DAYS`,
/// 0 to 90, default 7; 0 turns notices off).
pub fn expiry_notice(env: &impl Env) -> Result<NoticePeriod, ConfigError> {
    let Some(raw) = env.optional("EXPIRY_NOTICE_DAYS") else {
        return Ok(NoticePeriod::default());
    };
    raw.trim()
        .parse::<u16>()
        .ok()
        .and_then(|days| NoticePeriod::days(days).ok())
        .ok_or(ConfigError::Invalid {
            name: "EXPIRY_NOTICE_DAYS",
            reason: format!(
                "must be a whole number of days from 0 to {}",
                NoticePeriod::MAX_DAYS
            ),
        })
}
