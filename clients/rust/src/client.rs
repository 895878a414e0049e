//! The HTTP client: `POST /v1/verify` and the key lifecycle, authenticated
//! with a service key, with its timeouts, its retries (503 only) and the
//! opt-in verdict cache.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::cache::VerdictCache;
use crate::wire::problem;
use crate::{ApiKey, CreatedKey, Error, KeyPage, RateLimitAnswer, RateLimitAnswers, Verdict};

/// The longest a verdict may be reused in process.
pub const MAX_CACHE: Duration = Duration::from_secs(30);

/// What a verify asks besides the key: the permissions the request needs
/// (`documents.read AND (billing.write OR admin)`: a good key that lacks
/// them is `INSUFFICIENT_PERMISSIONS` and is not charged), what a limited
/// key (and its identity) is charged (1 when not given), and which of its
/// identity's named rate limits to charge, each at its own cost (`None`:
/// every one, at `cost`). A verify that names a cost or rate limits is
/// never answered from the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Check<'a> {
    pub permissions: Option<&'a str>,
    pub cost: Option<u32>,
    pub rate_limits: Option<&'a [(&'a str, u32)]>,
    /// The end user's address, as your service saw the connection (or as
    /// a proxy you run reports it): what a key with an allowlist is judged
    /// by. Never a header the client could write.
    pub address: Option<std::net::IpAddr>,
}

type Connector = hyper_util::client::legacy::connect::HttpConnector;
#[cfg(feature = "rustls")]
type Transport = hyper_rustls::HttpsConnector<Connector>;
#[cfg(not(feature = "rustls"))]
type Transport = Connector;

/// What a rate-limit check asks besides the namespace and identifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limit {
    /// What the request counts for (1 when `None`; 0 counts nothing and peeks).
    pub cost: Option<u32>,
    /// This check's own limit instead of the namespace's: `requests` per `duration` seconds.
    pub requests: Option<u32>,
    pub duration: Option<u32>,
}

/// The client: one per process is enough (it keeps its connections).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    base: String,
    service_key: SecretString,
    http: hyper_util::client::legacy::Client<Transport, Full<Bytes>>,
    timeout: Duration,
    retries: u32,
    cache: Option<VerdictCache>,
    /// Each namespace's `fail_open`, as its last answer said.
    fails_open: std::sync::Mutex<std::collections::HashMap<String, bool>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base)
            .field("service_key", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// How a [`Client`] is made: [`Client::builder`].
pub struct ClientBuilder {
    base: String,
    service_key: SecretString,
    timeout: Duration,
    retries: u32,
    cache: Option<Duration>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Per attempt; 5 s by default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Tries after a 503; 2 by default.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Reuse verdicts in this process for `ttl` (at most [`MAX_CACHE`]). The
    /// trade-off: a key revoked on the server is still let in here until its
    /// verdict's TTL ends. A limited key's verdicts (they carry `remaining`)
    /// are never kept, since each verify must be charged, nor are
    /// `RATE_LIMITED` and `USAGE_EXCEEDED`, which change on their own.
    pub fn cache_for(mut self, ttl: Duration) -> Self {
        self.cache = Some(ttl.min(MAX_CACHE));
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let base = self.base.trim_end_matches('/').to_owned();
        if base.parse::<http::Uri>().is_err() {
            return Err(Error::BadUrl);
        }
        // A key read from a file ends with a newline: the whitespace around
        // it goes; anything else in it would only fail later, in a header.
        let service_key = self.service_key.expose_secret().trim();
        if service_key.is_empty() || !service_key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::BadServiceKey);
        }
        let service_key = SecretString::from(service_key.to_owned());
        #[cfg(feature = "rustls")]
        let transport = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| Error::Transport(Box::new(e)))?
            .https_or_http()
            .enable_http1()
            .build();
        #[cfg(not(feature = "rustls"))]
        let transport = Connector::new();
        let http =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(transport);
        Ok(Client {
            inner: Arc::new(Inner {
                base,
                service_key,
                http,
                timeout: self.timeout,
                retries: self.retries,
                cache: self
                    .cache
                    .filter(|ttl| !ttl.is_zero())
                    .map(VerdictCache::new),
                fails_open: std::sync::Mutex::default(),
            }),
        })
    }
}

impl Client {
    /// A client of the API at `base_url` (`https://api.example.com`), as the
    /// service key `service_key` (`akmsk_…`).
    pub fn builder(base_url: impl Into<String>, service_key: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base: base_url.into(),
            service_key: SecretString::from(service_key.into()),
            timeout: Duration::from_secs(5),
            retries: 2,
            cache: None,
        }
    }

    /// The verdict on `key` (a limited key is charged 1): [`Client::check`]
    /// asking nothing more.
    pub async fn verify(&self, key: &str) -> Result<Verdict, Error> {
        self.check(key, Check::default()).await
    }

    /// The verdict on `key` for what `check` asks: the permissions the
    /// request needs and the cost to charge, together.
    pub async fn check(&self, key: &str, check: Check<'_>) -> Result<Verdict, Error> {
        // A cost is a charge the caller chose: never answered from memory.
        let chosen_charge = check.cost.is_some() || check.rate_limits.is_some();
        let cache = self.inner.cache.as_ref().filter(|_| !chosen_charge);
        // A verdict answers only the same question: the query, and the address.
        let scope = match (check.permissions, check.address) {
            (query, None) => query.map(str::to_owned),
            (query, Some(address)) => Some(format!("{}\u{0}{address}", query.unwrap_or_default())),
        };
        if let Some(verdict) = cache.and_then(|cache| cache.get(key, scope.as_deref())) {
            return Ok(verdict);
        }
        let mut body = serde_json::json!({ "key": key });
        if let Some(query) = check.permissions {
            body["permissions"] = query.into();
        }
        if let Some(cost) = check.cost {
            body["cost"] = cost.into();
        }
        if let Some(address) = check.address {
            body["ip"] = address.to_string().into();
        }
        if let Some(limits) = check.rate_limits {
            let limits: Vec<serde_json::Value> = limits
                .iter()
                .map(|(name, cost)| serde_json::json!({"name": name, "cost": cost}))
                .collect();
            body["rate_limits"] = limits.into();
        }
        let verdict: Verdict = self.call("POST", "/v1/verify", Some(body)).await?;
        if let Some(cache) = cache {
            cache.put(key, scope.as_deref(), &verdict);
        }
        Ok(verdict)
    }

    /// Is `identifier` (an address, an e-mail, a user id) within its limit
    /// in `namespace`? Counted when `success`. The identifier is sent once
    /// and never kept, logged or put in an error. An error when the API
    /// cannot be asked: see [`Client::fails_open`].
    pub async fn limit(
        &self,
        namespace: &str,
        identifier: &str,
        limit: Limit,
    ) -> Result<RateLimitAnswer, Error> {
        let body = limit_body(namespace, identifier, limit);
        let answer: RateLimitAnswer = self.call("POST", "/v1/ratelimit", Some(body)).await?;
        self.remember(namespace, &answer);
        Ok(answer)
    }

    /// Several checks at once (`(namespace, identifier, limit)`), all or
    /// nothing: each counted, or none.
    pub async fn limit_many(
        &self,
        checks: &[(&str, &str, Limit)],
    ) -> Result<RateLimitAnswers, Error> {
        let checks: Vec<serde_json::Value> = checks
            .iter()
            .map(|(namespace, identifier, limit)| limit_body(namespace, identifier, *limit))
            .collect();
        let answers: RateLimitAnswers = self
            .call(
                "POST",
                "/v1/ratelimit/many",
                Some(serde_json::json!({ "checks": checks })),
            )
            .await?;
        for (check, answer) in checks.iter().zip(&answers.results) {
            if let Some(namespace) = check["namespace"].as_str() {
                self.remember(namespace, answer);
            }
        }
        Ok(answers)
    }

    fn remember(&self, namespace: &str, answer: &RateLimitAnswer) {
        let mut known = self
            .inner
            .fails_open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if known.len() >= 1000 && !known.contains_key(namespace) {
            known.clear();
        }
        known.insert(namespace.to_owned(), answer.fail_open);
    }

    /// Whether a request may go on when `namespace` cannot be checked: the
    /// namespace's own rule as its last answer in this process said, else
    /// `fallback` (closed: refuse, unless you say otherwise).
    pub fn fails_open(&self, namespace: &str, fallback: bool) -> bool {
        let known = self
            .inner
            .fails_open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known.get(namespace).copied().unwrap_or(fallback)
    }

    /// A new key for an application and an Arx (a developer or admin
    /// service key), sent with a new `Idempotency-Key`.
    pub async fn create_key(
        &self,
        application_id: &str,
        arx_id: &str,
        name: Option<&str>,
    ) -> Result<CreatedKey, Error> {
        self.create_key_once(application_id, arx_id, name, None)
            .await
    }

    /// [`Client::create_key`] under an `Idempotency-Key` of yours: sent
    /// again with it (within a day), it makes no second key and is
    /// [`Error::Replayed`].
    pub async fn create_key_once(
        &self,
        application_id: &str,
        arx_id: &str,
        name: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<CreatedKey, Error> {
        let body =
            serde_json::json!({ "application_id": application_id, "arx_id": arx_id, "name": name });
        self.mint("/v1/api-keys", body, idempotency_key).await
    }

    /// A page of keys, newest first; `query` is the list's query string (`limit=100`).
    pub async fn list_keys(&self, query: &str) -> Result<KeyPage, Error> {
        let path = if query.is_empty() {
            "/v1/api-keys".to_owned()
        } else {
            format!("/v1/api-keys?{query}")
        };
        self.call("GET", &path, None).await
    }

    pub async fn get_key(&self, id: &str) -> Result<ApiKey, Error> {
        self.call("GET", &format!("/v1/api-keys/{}", path_part(id)), None)
            .await
    }

    /// A replacement, the old key working `grace_seconds` more (sent with a
    /// new `Idempotency-Key`).
    pub async fn rotate_key(&self, id: &str, grace_seconds: u32) -> Result<CreatedKey, Error> {
        let body = serde_json::json!({ "grace_seconds": grace_seconds });
        let path = format!("/v1/api-keys/{}/rotate", path_part(id));
        self.mint(&path, body, None).await
    }

    pub async fn disable_key(&self, id: &str) -> Result<ApiKey, Error> {
        let path = format!("/v1/api-keys/{}/disable", path_part(id));
        self.call("POST", &path, None).await
    }

    pub async fn enable_key(&self, id: &str) -> Result<ApiKey, Error> {
        let path = format!("/v1/api-keys/{}/enable", path_part(id));
        self.call("POST", &path, None).await
    }

    pub async fn delete_key(&self, id: &str) -> Result<(), Error> {
        let path = format!("/v1/api-keys/{}", path_part(id));
        let body = serde_json::json!({ "confirm": id });
        self.call::<serde_json::Value>("DELETE", &path, Some(body))
            .await
            .map(|_| ())
    }

    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, Error> {
        self.call_keyed(method, path, body, None).await
    }

    /// A create or rotation, with an `Idempotency-Key` (`key`, or a new
    /// one; the same on each retry after a 503): a repeat under it makes no
    /// second key and is [`Error::Replayed`] (its answer holds no secret).
    async fn mint(
        &self,
        path: &str,
        body: serde_json::Value,
        key: Option<&str>,
    ) -> Result<CreatedKey, Error> {
        let fresh;
        let key = match key {
            Some(key) => key,
            None => {
                use rand::{RngCore, TryRngCore, rngs::OsRng};
                let mut bytes = [0u8; 16];
                OsRng.unwrap_err().fill_bytes(&mut bytes);
                fresh = bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
                &fresh
            }
        };
        let answer: serde_json::Value =
            self.call_keyed("POST", path, Some(body), Some(key)).await?;
        if answer["replayed"] == true {
            let key_id = answer["api_key"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            return Err(Error::Replayed { key_id });
        }
        serde_json::from_value(answer).map_err(Error::Decode)
    }

    async fn call_keyed<T: for<'de> Deserialize<'de>>(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
        idempotency_key: Option<&str>,
    ) -> Result<T, Error> {
        let inner = &self.inner;
        let body = body.map(|body| Bytes::from(body.to_string()));
        let mut attempt = 0;
        loop {
            let mut request = http::Request::builder()
                .method(method)
                .uri(format!("{}{path}", inner.base))
                .header("accept", "application/json")
                .header(
                    "authorization",
                    format!("Bearer {}", inner.service_key.expose_secret()),
                );
            if let Some(key) = idempotency_key {
                request = request.header("idempotency-key", key);
            }
            if body.is_some() {
                request = request.header("content-type", "application/json");
            }
            let request = request
                .body(Full::new(body.clone().unwrap_or_default()))
                .map_err(|_| Error::BadUrl)?;
            let sent = tokio::time::timeout(inner.timeout, async {
                let response = inner.http.request(request).await?;
                let (parts, body) = response.into_parts();
                let bytes = body.collect().await?.to_bytes();
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((parts, bytes))
            })
            .await
            .map_err(|_| Error::Timeout(inner.timeout))?
            .map_err(Error::Transport)?;
            let (parts, bytes) = sent;
            let status = parts.status.as_u16();
            if status == 503 && attempt < inner.retries {
                let wait = wait_before_retry(&parts.headers, attempt);
                tracing::info!(
                    method,
                    path,
                    wait_ms = wait.as_millis() as u64,
                    "the API is busy (503); retrying"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            if status >= 400 {
                return Err(problem(status, &bytes));
            }
            let bytes = if bytes.is_empty() {
                Bytes::from_static(b"null")
            } else {
                bytes
            };
            return serde_json::from_slice(&bytes).map_err(Error::Decode);
        }
    }
}

/// An id for a path: only the characters ids have, so no key text or
/// path trick ever reaches a URL.
fn path_part(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// `Retry-After` (seconds) when given, else 200 ms doubling; at most 5 s.
fn wait_before_retry(headers: &http::HeaderMap, attempt: u32) -> Duration {
    let said = headers
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    said.unwrap_or_else(|| Duration::from_millis(200u64 << attempt.min(5)))
        .min(Duration::from_secs(5))
}

fn limit_body(namespace: &str, identifier: &str, limit: Limit) -> serde_json::Value {
    let mut body = serde_json::json!({ "namespace": namespace, "identifier": identifier });
    for (name, value) in [
        ("cost", limit.cost),
        ("limit", limit.requests),
        ("duration", limit.duration),
    ] {
        if let Some(value) = value {
            body[name] = value.into();
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_prints_the_service_key() {
        let client = Client::builder("http://127.0.0.1:1", "akmsk_a-secret-service-key")
            .build()
            .expect("a client");
        assert!(!format!("{client:?}").contains("a-secret-service-key"));
        let from_a_file = Client::builder("http://127.0.0.1:1", "akmsk_from-a-file\n").build();
        assert!(from_a_file.is_ok());
        for broken in [
            "akmsk_a\nsecret",
            "akmsk_a secret",
            "akmsk_a\0",
            "akmsk_é",
            " \n",
        ] {
            let refused = Client::builder("http://127.0.0.1:1", broken).build();
            let Err(error) = refused else {
                panic!("{broken:?} was taken as a service key");
            };
            assert!(matches!(error, Error::BadServiceKey));
            assert!(!error.to_string().contains("secret"), "{error}");
        }
        assert_eq!(path_part("apikey--01/../x?y"), "apikey--01xy");
    }
}
