//! The drop-in Lambda authorizer a team attaches to its own API Gateway API:
//! it reads an access key from `x-api-key` or `Authorization: Bearer`,
//! verifies it against our table (the same [`Verifier::verify`] as `POST /v1/verify`),
//! and passes `tenant_id`, `application_id`, `arx_id` and `key_id` to the
//! protected backend as authorizer context.
//!
//! Two event shapes, told apart by the event itself: HTTP API payload 2.0
//! with simple responses (`{"isAuthorized": …, "context": …}`), and REST API
//! `REQUEST` authorizers (an IAM policy). A refused key is a deny: API Gateway
//! answers the caller 403 (HTTP API) or 403 with an explicit deny (REST API);
//! an authorizer cannot choose another status.

use std::collections::BTreeMap;

use domain::{Cost, TenantId};
use environment::{ConfigError, Env};
use serde_json::{Value, json};

use crate::check::{Verifier, VerifyStore};
use crate::verdict::Verdict;

/// What the authorizer accepts: every tenant's keys, or one tenant's.
#[derive(Debug, Clone, Default)]
pub struct KeyAuthorizerConfig {
    /// `KEY_AUTHORIZER_TENANT_ID`: when set, another tenant's key is refused.
    pub tenant: Option<TenantId>,
}

impl KeyAuthorizerConfig {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let tenant = env
            .optional("KEY_AUTHORIZER_TENANT_ID")
            .map(|raw| {
                TenantId::parse(raw.trim()).map_err(|reason| ConfigError::Invalid {
                    name: "KEY_AUTHORIZER_TENANT_ID",
                    reason: reason.to_string(),
                })
            })
            .transpose()?;
        Ok(Self { tenant })
    }
}

/// The authorizer's answer to one event (either shape).
pub async fn authorize<S: VerifyStore>(
    store: &S,
    verifier: &Verifier,
    config: &KeyAuthorizerConfig,
    event: &Value,
) -> Value {
    let tenant = config.tenant.as_ref();
    let verdict = match presented_key(&event["headers"]) {
        Some(key) => match verifier.verify(store, tenant, key, Cost::ONE).await {
            Ok(verdict) => Some(verdict),
            Err(error) => {
                // Fail closed: a store or hashing failure denies the request.
                tracing::error!(error = %store::error_chain(&error), "verification failed");
                None
            }
        },
        None => None,
    };
    let context = verdict.as_ref().and_then(context_of);
    tracing::info!(
        allowed = context.is_some(),
        code = verdict.as_ref().map(|v| code_name(v)).unwrap_or("NO_KEY"),
        "key authorizer decided"
    );
    answer(event, context)
}

/// The answer in the event's own shape: allowed with `context`, or denied.
pub fn answer(event: &Value, context: Option<BTreeMap<&'static str, String>>) -> Value {
    let rest = event["type"] == "REQUEST" && event.get("methodArn").is_some();
    if rest {
        rest_response(event, context)
    } else {
        json!({
            "isAuthorized": context.is_some(),
            "context": context.unwrap_or_default(),
        })
    }
}

/// The key from `x-api-key`, else from `Authorization: Bearer`; header names
/// in any case (REST API passes them as sent).
fn presented_key(headers: &Value) -> Option<&str> {
    let headers = headers.as_object()?;
    let header = |wanted: &str| {
        headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .and_then(|(_, value)| value.as_str())
    };
    if let Some(key) = header("x-api-key") {
        return Some(key.trim());
    }
    let (scheme, token) = header("authorization")?.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn context_of(verdict: &Verdict) -> Option<BTreeMap<&'static str, String>> {
    let key = verdict.key.as_ref().filter(|_| verdict.valid)?;
    let mut context = BTreeMap::from([
        ("tenant_id", key.tenant_id.to_string()),
        ("application_id", key.application_id.to_string()),
        ("arx_id", key.arx_id.to_string()),
        ("key_id", key.key_id.to_string()),
    ]);
    // A key with limits: the backend may pass on what is left.
    if let Some(remaining) = verdict.remaining {
        context.insert("remaining", remaining.to_string());
    }
    Some(context)
}

fn code_name(verdict: &Verdict) -> &'static str {
    use crate::verdict::VerdictCode::*;
    match verdict.code {
        Valid => "VALID",
        Malformed => "MALFORMED",
        NotFound => "NOT_FOUND",
        Expired => "EXPIRED",
        Deleted => "DELETED",
        Disabled => "DISABLED",
        RateLimited => "RATE_LIMITED",
        UsageExceeded => "USAGE_EXCEEDED",
    }
}

/// A REST API answer: an IAM policy for the whole stage, so that a cached
/// decision (API Gateway caches it per key) holds for every method, and the
/// context. The principal is the key's id, never the key.
fn rest_response(event: &Value, context: Option<BTreeMap<&'static str, String>>) -> Value {
    let method_arn = event["methodArn"].as_str().unwrap_or_default();
    // arn:aws:execute-api:region:account:api-id/stage/METHOD/path → …/stage/*
    let resource = match method_arn.splitn(3, '/').collect::<Vec<_>>().as_slice() {
        [api, stage, _] => format!("{api}/{stage}/*"),
        _ => method_arn.to_owned(),
    };
    let allowed = context.is_some();
    let principal = context
        .as_ref()
        .and_then(|c| c.get("key_id").cloned())
        .unwrap_or_else(|| "anonymous".into());
    json!({
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": if allowed { "Allow" } else { "Deny" },
                "Resource": resource,
            }],
        },
        "context": context.unwrap_or_default(),
    })
}
