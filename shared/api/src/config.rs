//! Configuration from the environment, the same in Lambda and in the dev server.
//! A missing or invalid variable stops the process at start, naming the variable.

use domain::{KeyPrefix, NoticePeriod};
use secrecy::SecretString;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("the environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Where variables come from: the process environment, or a map in tests.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name)
            .filter(|value| !value.trim().is_empty())
            .ok_or(ConfigError::Missing(name))
    }

    fn optional(&self, name: &str) -> Option<String> {
        self.get(name).filter(|value| !value.trim().is_empty())
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// How tokens are signed.
#[derive(Debug, Clone)]
pub enum SigningKeys {
    /// RS256 with the issuer's published keys (Cognito, any OIDC issuer).
    Jwks { url: String },
    /// HS256 with a shared secret: local runs only.
    Hs256 { secret: SecretString },
}

/// What the authorizer (and the dev server) need to verify tokens.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub issuer: String,
    pub audience: String,
    pub keys: SigningKeys,
    pub tenant_claim: String,
    pub role_claim: String,
    /// Tokens that would stay valid longer than this (from `iat`, or from now)
    /// are refused: a leaked long-lived token is a standing key.
    pub max_token_lifetime: std::time::Duration,
}

impl AuthConfig {
    /// One day: Cognito's longest ID and access tokens.
    pub const DEFAULT_MAX_TOKEN_LIFETIME: std::time::Duration =
        std::time::Duration::from_secs(24 * 60 * 60);

    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let keys = match (env.optional("JWKS_URL"), env.optional("JWT_HS256_SECRET")) {
            (Some(url), None) => SigningKeys::Jwks { url },
            (None, Some(secret)) => SigningKeys::Hs256 {
                secret: hs256_secret(secret)?,
            },
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    name: "JWKS_URL",
                    reason: "set either JWKS_URL or JWT_HS256_SECRET, not both".into(),
                });
            }
            (None, None) => return Err(ConfigError::Missing("JWKS_URL (or JWT_HS256_SECRET)")),
        };
        Ok(Self {
            issuer: env.required("JWT_ISSUER")?,
            audience: env.required("JWT_AUDIENCE")?,
            keys,
            tenant_claim: tenant_claim(env),
            role_claim: role_claim(env),
            max_token_lifetime: match env.optional("JWT_MAX_LIFETIME_SECONDS") {
                None => Self::DEFAULT_MAX_TOKEN_LIFETIME,
                Some(raw) => raw
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|seconds| (60..=7 * 24 * 60 * 60).contains(seconds))
                    .map(std::time::Duration::from_secs)
                    .ok_or(ConfigError::Invalid {
                        name: "JWT_MAX_LIFETIME_SECONDS",
                        reason: "must be a whole number of seconds from 60 to 604800".into(),
                    })?,
            },
        })
    }
}

/// An HS256 secret must be at least 32 bytes (RFC 7518 §3.2: as long as the hash).
pub fn hs256_secret(secret: String) -> Result<SecretString, ConfigError> {
    if secret.len() < 32 {
        return Err(ConfigError::Invalid {
            name: "JWT_HS256_SECRET",
            reason: "must be at least 32 bytes".into(),
        });
    }
    Ok(SecretString::from(secret))
}

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
        })
    }
}

/// The token claim that names the tenant (`TENANT_CLAIM`).
pub fn tenant_claim(env: &impl Env) -> String {
    env.optional("TENANT_CLAIM")
        .unwrap_or_else(|| "custom:tenant_id".into())
}

/// The token claim that names the role (`ROLE_CLAIM`).
pub fn role_claim(env: &impl Env) -> String {
    env.optional("ROLE_CLAIM")
        .unwrap_or_else(|| "custom:role".into())
}

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

/// What the GitHub secret scanning endpoint (`leak-report`) needs besides
/// the [`ServiceConfig`].
#[derive(Debug, Clone)]
pub struct LeakConfig {
    /// Where GitHub's signing keys are published (`SECRET_SCANNING_KEYS_URL`);
    /// tests point it at a local document.
    pub keys_url: String,
    /// Where leak notices are published; without one they are logged.
    pub notifications_topic_arn: Option<String>,
}

impl LeakConfig {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let keys_url = env
            .optional("SECRET_SCANNING_KEYS_URL")
            .unwrap_or_else(|| crate::leaks::GITHUB_KEYS_URL.into());
        let scheme_ok = keys_url.starts_with("https://") || keys_url.starts_with("http://");
        if !scheme_ok || keys_url.parse::<http::Uri>().is_err() {
            return Err(ConfigError::Invalid {
                name: "SECRET_SCANNING_KEYS_URL",
                reason: "must be an http(s) URL".into(),
            });
        }
        Ok(Self {
            keys_url,
            notifications_topic_arn: env.optional("NOTIFICATIONS_TOPIC_ARN"),
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

pub fn arx_base_url(env: &impl Env) -> String {
    let url = env
        .optional("ARX_BASE_URL")
        .unwrap_or_else(|| "https://arx.example.com".into());
    url.trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Env {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn names_the_missing_variable() {
        let error = ServiceConfig::from_env(&env(&[])).expect_err("incomplete");
        assert_eq!(
            error.to_string(),
            "the environment variable TABLE_NAME is required but not set"
        );
        let error =
            AuthConfig::from_env(&env(&[("JWKS_URL", "https://x")])).expect_err("incomplete");
        assert!(error.to_string().contains("JWT_ISSUER"), "{error}");
        let error = AuthConfig::from_env(&env(&[("JWT_ISSUER", "i")])).expect_err("incomplete");
        assert!(error.to_string().contains("JWKS_URL"), "{error}");
    }

    #[test]
    fn defaults_and_refusals() {
        let full = [
            ("JWT_ISSUER", "i"),
            ("JWT_AUDIENCE", "a"),
            ("JWT_HS256_SECRET", "s"),
        ];
        let error = AuthConfig::from_env(&env(&full)).expect_err("short secret");
        assert!(error.to_string().contains("at least 32 bytes"));
        let secret = "0123456789abcdef0123456789abcdef";
        let config = AuthConfig::from_env(&env(&[full[0], full[1], ("JWT_HS256_SECRET", secret)]))
            .expect("valid");
        assert_eq!(
            (config.tenant_claim.as_str(), config.role_claim.as_str()),
            ("custom:tenant_id", "custom:role")
        );
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
