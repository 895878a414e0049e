//! What verifying tokens needs, from the environment.

use environment::{ConfigError, Env};
use secrecy::SecretString;

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
            tenant_claim: environment::tenant_claim(env),
            role_claim: environment::role_claim(env),
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

#[cfg(test)]
mod tests {
    use environment::of_pairs as env;

    use super::*;

    #[test]
    fn names_the_missing_variable() {
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
    }
}
