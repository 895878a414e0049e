//! What the API sends and takes, as Rust types: a verdict and its code, a
//! key's record, a page, a created key (its access key in no `Debug`), and
//! a refusal's problem document.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Error;

/// Why a key is or is not valid: the verdict's `code`. New codes may come
/// with a later server ([`Code::Unknown`] until this library knows them),
/// so a `match` on it needs a `_` arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum Code {
    Valid,
    /// Not a key of this deployment's format (refused before any lookup).
    Malformed,
    NotFound,
    Expired,
    Deleted,
    Disabled,
    RateLimited,
    UsageExceeded,
    /// A good key without what the request asked for.
    InsufficientPermissions,
    /// A key whose allowlist does not hold the request's address.
    AddressNotAllowed,
    /// A code this version of the library does not know.
    #[serde(other)]
    Unknown,
}

impl Code {
    /// The wire name: `VALID`, `INSUFFICIENT_PERMISSIONS`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "VALID",
            Self::Malformed => "MALFORMED",
            Self::NotFound => "NOT_FOUND",
            Self::Expired => "EXPIRED",
            Self::Deleted => "DELETED",
            Self::Disabled => "DISABLED",
            Self::RateLimited => "RATE_LIMITED",
            Self::UsageExceeded => "USAGE_EXCEEDED",
            Self::InsufficientPermissions => "INSUFFICIENT_PERMISSIONS",
            Self::AddressNotAllowed => "ADDRESS_NOT_ALLOWED",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// Whether it may change by itself (a window passes, credits refill):
    /// such a refusal is never cached.
    pub fn passes_with_time(self) -> bool {
        matches!(self, Self::RateLimited | Self::UsageExceeded)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// What `POST /v1/verify` said of a key. Only a `VALID` verdict carries the
/// key's fields; `remaining` and `reset_at` are there for a limited key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Verdict {
    pub valid: bool,
    /// Why it is (or is not) valid.
    pub code: Code,
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub application_id: Option<String>,
    #[serde(default)]
    pub arx_id: Option<String>,
    #[serde(default)]
    pub arx_url: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    /// What the key may do: its own permissions and its roles' (a `VALID`
    /// verdict; empty otherwise).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// The roles the key has.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The key's owner in your own system, if it has one.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Your own JSON object about the key, if it has one.
    #[serde(default)]
    pub meta: Option<serde_json::Value>,
    /// The identity (your customer) whose `external_id` the key carries, if
    /// one is recorded.
    #[serde(default)]
    pub identity: Option<VerifiedIdentity>,
    #[serde(default)]
    pub remaining: Option<u64>,
    #[serde(default)]
    pub reset_at: Option<String>,
    /// Each limit a `VALID` verify charged (the key's, its identity's) and
    /// what it has left.
    #[serde(default)]
    pub limits: Vec<LimitLeft>,
    /// For `RATE_LIMITED` and `USAGE_EXCEEDED`: the limit that refused.
    #[serde(default)]
    pub limited_by: Option<LimitLeft>,
}

/// The identity a key belongs to, as a verdict names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct VerifiedIdentity {
    pub id: String,
    pub external_id: String,
    #[serde(default)]
    pub meta: Option<serde_json::Value>,
}

/// One limit and where it stands: `owner` is `key` or `identity`, `kind`
/// is `rate` or `credits`, `name` an identity's rate limit's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct LimitLeft {
    pub owner: String,
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    pub remaining: u64,
    #[serde(default)]
    pub reset_at: Option<String>,
}

/// An API key's record, as the API shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub application_id: String,
    pub arx_id: String,
    pub status: String,
    pub created_by: String,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub last_used_at: Option<String>,
    #[serde(default)]
    pub rotated_from: Option<String>,
    #[serde(default)]
    pub rotated_to: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub meta: Option<serde_json::Value>,
}

/// A new key and its access key, shown this once.
#[derive(Deserialize)]
pub struct CreatedKey {
    pub api_key: ApiKey,
    access_key: String,
}

impl CreatedKey {
    /// The access key, to hand to whoever will use it (it is in no `Debug`).
    pub fn access_key(&self) -> &str {
        &self.access_key
    }
}

impl fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedKey")
            .field("api_key", &self.api_key)
            .field("access_key", &"[REDACTED]")
            .finish()
    }
}

/// A page of keys.
#[derive(Debug, Clone, Deserialize)]
pub struct KeyPage {
    pub items: Vec<ApiKey>,
    pub next_cursor: Option<String>,
}

/// A refusal as an [`Error::Api`]: the problem document's `code` and `detail`.
pub(crate) fn problem(status: u16, body: &[u8]) -> Error {
    #[derive(Deserialize, Default)]
    struct Problem {
        code: Option<String>,
        detail: Option<String>,
    }
    let problem: Problem = serde_json::from_slice(body).unwrap_or_default();
    Error::Api {
        status,
        code: problem.code.unwrap_or_else(|| "unexpected".to_owned()),
        detail: problem
            .detail
            .unwrap_or_else(|| format!("the API answered {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_by_its_wire_name_and_a_new_one_as_unknown() {
        let code = |text: &str| serde_json::from_str::<Code>(text).expect("a code");
        assert_eq!(
            code("\"INSUFFICIENT_PERMISSIONS\""),
            Code::InsufficientPermissions
        );
        assert_eq!(code("\"RATE_LIMITED\"").as_str(), "RATE_LIMITED");
        assert_eq!(code("\"IP_NOT_ALLOWED\""), Code::Unknown);
        assert!(Code::UsageExceeded.passes_with_time() && !Code::Disabled.passes_with_time());
        assert_eq!(Code::Valid, "VALID");
    }
}

/// What `POST /v1/ratelimit` said: admitted and counted (`success`), the
/// limit (`limit` requests per `duration` seconds), what is left in this
/// window and when it ends. It never holds the identifier.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RateLimitAnswer {
    pub success: bool,
    pub limit: u64,
    pub duration: u64,
    pub remaining: u64,
    pub reset_at: String,
    /// Whole seconds until `reset_at`, by the server's clock: a `Retry-After`.
    pub reset_after: u64,
    /// The namespace's rule for a client that cannot reach the API.
    pub fail_open: bool,
}

impl RateLimitAnswer {
    /// The IETF draft's `RateLimit-Policy` and `RateLimit` fields
    /// (draft-ietf-httpapi-ratelimit-headers), named by the namespace, and
    /// `Retry-After` when refused. A namespace name holds no quote: it is a
    /// structured-field string as it is.
    pub fn headers(&self, namespace: &str) -> Vec<(http::HeaderName, String)> {
        let mut headers = vec![
            (
                http::HeaderName::from_static("ratelimit-policy"),
                format!("\"{namespace}\";q={};w={}", self.limit, self.duration),
            ),
            (
                http::HeaderName::from_static("ratelimit"),
                format!(
                    "\"{namespace}\";r={};t={}",
                    self.remaining, self.reset_after
                ),
            ),
        ];
        if !self.success {
            headers.push((http::header::RETRY_AFTER, self.reset_after.to_string()));
        }
        headers
    }
}

/// What `POST /v1/ratelimit/many` said: all admitted, or none counted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RateLimitAnswers {
    pub success: bool,
    pub results: Vec<RateLimitAnswer>,
}
