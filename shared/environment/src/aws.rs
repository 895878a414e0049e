//! What an AWS SDK client needs, as Lambda gives it to every function: the
//! region and the execution role's credentials, in the environment.
//!
//! In place of `aws-config`'s provider chain. In Lambda that chain stops at
//! its first link, these same variables, and reads them once too (Lambda
//! keeps them valid for the execution environment's life); its other links
//! (profiles, SSO, web identity through STS, instance metadata) never run
//! there, yet they were compiled into every function: about a quarter of the
//! SDK code each binary built (`docs/benchmarks.md`, build time). A missing
//! variable now stops the function at start, naming it, instead of failing
//! its first request.

use std::fmt;

use aws_credential_types::Credentials;

use crate::{ConfigError, Env};

/// How long the AWS SDK clients of a function wait (connecting, one
/// attempt, a call with its retries), so that a hung request cannot stall a
/// function, or the usage counting that waits on it, for good. DynamoDB and
/// SNS answer within milliseconds in their region; these leave room for a
/// slow moment and stay well inside every function's timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdkTimeouts {
    pub connect: std::time::Duration,
    pub attempt: std::time::Duration,
    pub operation: std::time::Duration,
}

impl SdkTimeouts {
    /// On AWS, in the function's region.
    pub const AWS: Self = Self {
        connect: std::time::Duration::from_secs(1),
        attempt: std::time::Duration::from_secs(3),
        operation: std::time::Duration::from_secs(10),
    };
    /// On a local DynamoDB-compatible server: the test server answers one
    /// request at a time and may take seconds under a storm of writes.
    pub const LOCAL: Self = Self {
        connect: std::time::Duration::from_secs(2),
        attempt: std::time::Duration::from_secs(30),
        operation: std::time::Duration::from_secs(60),
    };
}

/// The region and credentials from `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`. Its `Debug` never prints
/// the secret or the token.
#[derive(Clone)]
pub struct AwsAccess {
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl AwsAccess {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        Ok(Self {
            region: env.required("AWS_REGION")?,
            access_key_id: env.required("AWS_ACCESS_KEY_ID")?,
            secret_access_key: env.required("AWS_SECRET_ACCESS_KEY")?,
            session_token: env.optional("AWS_SESSION_TOKEN"),
        })
    }
}

impl AwsAccess {
    /// The credentials, for any SDK client's configuration (every service
    /// crate takes this type).
    pub fn credentials(&self) -> Credentials {
        Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            self.session_token.clone(),
            None,
            "lambda-environment",
        )
    }
}

impl fmt::Debug for AwsAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsAccess")
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[REDACTED]")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// The endpoint a service's client is sent to instead of AWS's, the SDK's
/// own convention: `AWS_ENDPOINT_URL_<SERVICE>` (`SNS`, say), else
/// `AWS_ENDPOINT_URL`. Unset in AWS; a test points a client at a fake.
pub fn endpoint_url(env: &impl Env, service: &str) -> Option<String> {
    env.optional(&format!("AWS_ENDPOINT_URL_{service}"))
        .or_else(|| env.optional("AWS_ENDPOINT_URL"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::of_pairs;

    #[test]
    fn lambdas_variables_are_read_and_the_secrets_never_printed() {
        let env = of_pairs(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret-access-key-text"),
            ("AWS_SESSION_TOKEN", "session-token-text"),
            ("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:9"),
        ]);
        let access = AwsAccess::from_env(&env).expect("complete");
        assert_eq!(access.region, "eu-west-1");
        assert_eq!(access.session_token.as_deref(), Some("session-token-text"));
        let printed = format!("{access:?}");
        assert!(printed.contains("ASIAEXAMPLE"), "{printed}");
        assert!(!printed.contains("secret-access-key-text"), "{printed}");
        assert!(!printed.contains("session-token-text"), "{printed}");
        assert_eq!(
            endpoint_url(&env, "SNS").as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(endpoint_url(&env, "DYNAMODB"), None);
    }

    #[test]
    fn a_missing_variable_is_named() {
        let env = of_pairs(&[("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "A")]);
        let error = AwsAccess::from_env(&env).expect_err("no secret");
        assert_eq!(
            error.to_string(),
            "the environment variable AWS_SECRET_ACCESS_KEY is required but not set"
        );
    }
}
