//! The management API's configuration, from the environment (see the
//! `environment` crate), the same in Lambda and in the dev server. A missing
//! or invalid variable stops the process at start, naming the variable.

use domain::{KeyPrefix, NoticePeriod};
pub use environment::{ConfigError, Env, ProcessEnv};
pub use runtime::config::{CleanupConfig, expiry_notice};

/// What the API functions need.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub table_name: String,
    /// A local DynamoDB-compatible server instead of AWS.
    pub dynamodb_endpoint: Option<String>,
    pub access_key_prefix: KeyPrefix,
    pub feedback_topic_arn: Option<String>,
    /// Arx URLs are `<ARX_BASE_URL>/<arx id>`.
    pub arx_base_url: String,
    /// How long a verify verdict is reused in process (`VERIFY_CACHE_SECONDS`,
    /// 0 to 60, default 30): the longest a revoked key may still pass on
    /// another instance.
    pub verify_cache: std::time::Duration,
    /// Keys within this of their expiry show `expires_soon`.
    pub expiry_notice: NoticePeriod,
    /// How often counted verifies are written (`USAGE_FLUSH_SECONDS`, 1 to
    /// 60, default 5; `off` counts nothing): see `verify::usage`.
    pub usage_flush: Option<std::time::Duration>,
    /// How long a lease of a hot key's limits may be spent (`LEASE_SECONDS`,
    /// 0 to 60, default 5; 0 takes none): see `docs/data-model.md`.
    pub leases: store::LeaseSettings,
}

impl ServiceConfig {
    pub const DEFAULT_VERIFY_CACHE: std::time::Duration = std::time::Duration::from_secs(30);

    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            dynamodb_endpoint: env.optional("DYNAMODB_ENDPOINT"),
            access_key_prefix: access_key_prefix(env)?,
            feedback_topic_arn: env.optional("FEEDBACK_TOPIC_ARN"),
            arx_base_url: arx_base_url(env),
            verify_cache: verify_cache(env)?,
            expiry_notice: expiry_notice(env)?,
            usage_flush: usage_flush(env)?,
            leases: leases(env)?,
        })
    }
}

pub fn access_key_prefix(env: &impl Env) -> Result<KeyPrefix, ConfigError> {
    match env.optional("ACCESS_KEY_PREFIX") {
        None => Ok(KeyPrefix::default()),
        Some(raw) => KeyPrefix::parse(&raw).map_err(|reason| ConfigError::Invalid {
            name: "ACCESS_KEY_PREFIX",
            reason: reason.to_string(),
        }),
    }
}

pub fn verify_cache(env: &impl Env) -> Result<std::time::Duration, ConfigError> {
    match env.optional("VERIFY_CACHE_SECONDS") {
        None => Ok(ServiceConfig::DEFAULT_VERIFY_CACHE),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|seconds| *seconds <= 60)
            .map(std::time::Duration::from_secs)
            .ok_or(ConfigError::Invalid {
                name: "VERIFY_CACHE_SECONDS",
                reason: "must be a whole number of seconds from 0 to 60".into(),
            }),
    }
}

pub fn usage_flush(env: &impl Env) -> Result<Option<std::time::Duration>, ConfigError> {
    match env.optional("USAGE_FLUSH_SECONDS") {
        None => Ok(Some(verify::UsageCounter::DEFAULT_INTERVAL)),
        Some(raw) if raw.trim() == "off" => Ok(None),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|seconds| (1..=60).contains(seconds))
            .map(|seconds| Some(std::time::Duration::from_secs(seconds)))
            .ok_or(ConfigError::Invalid {
                name: "USAGE_FLUSH_SECONDS",
                reason: "must be a whole number of seconds from 1 to 60, or off".into(),
            }),
    }
}

pub fn leases(env: &impl Env) -> Result<store::LeaseSettings, ConfigError> {
    match env.optional("LEASE_SECONDS") {
        None => Ok(store::LeaseSettings::DEFAULT),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|seconds| *seconds <= 60)
            .map(|seconds| store::LeaseSettings {
                expiry: std::time::Duration::from_secs(seconds),
            })
            .ok_or(ConfigError::Invalid {
                name: "LEASE_SECONDS",
                reason: "must be a whole number of seconds from 0 to 60".into(),
            }),
    }
}

pub fn arx_base_url(env: &impl Env) -> String {
    let url = env
        .optional("ARX_BASE_URL")
        .unwrap_or_else(|| "https://arx.example.com".into());
    url.trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use environment::of_pairs as env;

    use super::*;

    #[test]
    fn names_the_missing_variable() {
        let error = ServiceConfig::from_env(&env(&[])).expect_err("incomplete");
        assert_eq!(
            error.to_string(),
            "the environment variable TABLE_NAME is required but not set"
        );
    }

    #[test]
    fn defaults_and_refusals() {
        let bad_prefix =
            ServiceConfig::from_env(&env(&[("TABLE_NAME", "t"), ("ACCESS_KEY_PREFIX", "A!")]));
        assert!(
            bad_prefix
                .expect_err("invalid")
                .to_string()
                .contains("ACCESS_KEY_PREFIX")
        );
    }
}
