//! Configuration from the environment, the same in Lambda and in the dev
//! server. Each part reads its own settings (`auth`, `verify`, `api`,
//! `jobs`) through [`Env`]; a missing or invalid variable stops the process
//! at start, naming the variable.

pub mod aws;

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

/// An environment of just these variables, for tests.
pub fn of_pairs(pairs: &[(&str, &str)]) -> impl Env + use<> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

/// The token claim that names the tenant (`TENANT_CLAIM`): the authorizer's
/// and the console's.
pub fn tenant_claim(env: &impl Env) -> String {
    env.optional("TENANT_CLAIM")
        .unwrap_or_else(|| "custom:tenant_id".into())
}

/// The token claim that names the role (`ROLE_CLAIM`).
pub fn role_claim(env: &impl Env) -> String {
    env.optional("ROLE_CLAIM")
        .unwrap_or_else(|| "custom:role".into())
}

/// An error and its sources on one line: what a log needs to explain a
/// failure (a bad setting at start, a failed call). Here, in the crate every
/// other one uses, so that each writes it the same way.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_missing_and_names_the_variable() {
        let env = |name: &str| (name == "BLANK").then(|| "  ".to_owned());
        assert_eq!(env.optional("BLANK"), None);
        let error = env.required("BLANK").expect_err("blank");
        assert_eq!(
            error.to_string(),
            "the environment variable BLANK is required but not set"
        );
        assert_eq!(tenant_claim(&env), "custom:tenant_id");
        assert_eq!(role_claim(&env), "custom:role");
    }
}
