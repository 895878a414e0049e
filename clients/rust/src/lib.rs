//! Check API keys of a self-hosted API Keys manager from a Rust service.
//!
//! - [`Client`]: `POST /v1/verify` and the key lifecycle, authenticated with
//!   a service key. Each call times out (5 s by default) and is retried on
//!   503 only (the server did nothing: busy), waiting what `Retry-After` says
//!   or a growing backoff; never on a 4xx, and never after a timeout (a
//!   limited key's verify may have been charged). A refusal is
//!   [`Error::Api`] with the problem's `code`.
//! - [`VerifyLayer`]: a tower layer that reads the key from `x-api-key` or
//!   `Authorization: Bearer`, verifies it, answers 401, 403 or 429 itself,
//!   and puts the [`Verdict`] in the request's extensions (with axum:
//!   `Extension<Verdict>`).
//! - An opt-in verdict cache ([`ClientBuilder::cache_for`], at most 30 s),
//!   keyed by a keyed BLAKE2b of the presented key, never the key.
//!
//! No key, the service key or a presented one, is ever in an error, a log
//! line or a `Debug` output.

mod cache;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::cache::VerdictCache;

/// The longest a verdict may be reused in process.
pub const MAX_CACHE: Duration = Duration::from_secs(30);

/// What `POST /v1/verify` said of a key. Only a `VALID` verdict carries the
/// key's fields; `remaining` and `reset_at` are there for a limited key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Verdict {
    pub valid: bool,
    /// `VALID`, `MALFORMED`, `NOT_FOUND`, `EXPIRED`, `DELETED`, `DISABLED`,
    /// `RATE_LIMITED`, `USAGE_EXCEEDED`, `INSUFFICIENT_PERMISSIONS`.
    pub code: String,
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
    /// What the key may do (a `VALID` verdict; empty otherwise).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// The key's owner in your own system, if it has one.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Your own JSON object about the key, if it has one.
    #[serde(default)]
    pub meta: Option<serde_json::Value>,
    #[serde(default)]
    pub remaining: Option<u64>,
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

/// Why a call failed. None of these ever holds a key.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API refused: its status, its problem `code` and `detail`.
    #[error("{status} {code}: {detail}")]
    Api {
        status: u16,
        code: String,
        detail: String,
    },
    #[error("the API did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the API could not be reached")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the API's answer could not be read")]
    Decode(#[source] serde_json::Error),
    #[error("the base URL is not a URL")]
    BadUrl,
    /// The service key holds a space, a control or a non-ASCII character
    /// inside it (the message never repeats it).
    #[error(
        "the service key holds a space, a control or a non-ASCII character inside it: it is not \
         a service key (it is not repeated here)"
    )]
    BadServiceKey,
}

type Connector = hyper_util::client::legacy::connect::HttpConnector;
#[cfg(feature = "rustls")]
type Transport = hyper_rustls::HttpsConnector<Connector>;
#[cfg(not(feature = "rustls"))]
type Transport = Connector;

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

    /// The verdict on `key` (a limited key is charged 1).
    pub async fn verify(&self, key: &str) -> Result<Verdict, Error> {
        self.verify_requiring(key, None).await
    }

    /// The verdict on `key` for a request that needs what `permissions`
    /// asks (`documents.read AND (billing.write OR admin)`): a good key that
    /// lacks it is `INSUFFICIENT_PERMISSIONS`, and is not charged.
    pub async fn verify_asking(&self, key: &str, permissions: &str) -> Result<Verdict, Error> {
        self.verify_requiring(key, Some(permissions)).await
    }

    async fn verify_requiring(
        &self,
        key: &str,
        permissions: Option<&str>,
    ) -> Result<Verdict, Error> {
        let cache = self.inner.cache.as_ref();
        if let Some(verdict) = cache.and_then(|cache| cache.get(key, permissions)) {
            return Ok(verdict);
        }
        let body = match permissions {
            Some(query) => serde_json::json!({ "key": key, "permissions": query }),
            None => serde_json::json!({ "key": key }),
        };
        let verdict: Verdict = self.call("POST", "/v1/verify", Some(body)).await?;
        if let Some(cache) = cache {
            cache.put(key, permissions, &verdict);
        }
        Ok(verdict)
    }

    /// The verdict on `key`, charging a limited key `cost` (never cached).
    pub async fn verify_with_cost(&self, key: &str, cost: u32) -> Result<Verdict, Error> {
        let body = serde_json::json!({ "key": key, "cost": cost });
        self.call("POST", "/v1/verify", Some(body)).await
    }

    /// A new key for an application and an Arx (a developer or admin service key).
    pub async fn create_key(
        &self,
        application_id: &str,
        arx_id: &str,
        name: Option<&str>,
    ) -> Result<CreatedKey, Error> {
        let body =
            serde_json::json!({ "application_id": application_id, "arx_id": arx_id, "name": name });
        self.call("POST", "/v1/api-keys", Some(body)).await
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

    /// A replacement, the old key working `grace_seconds` more.
    pub async fn rotate_key(&self, id: &str, grace_seconds: u32) -> Result<CreatedKey, Error> {
        let body = serde_json::json!({ "grace_seconds": grace_seconds });
        let path = format!("/v1/api-keys/{}/rotate", path_part(id));
        self.call("POST", &path, Some(body)).await
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

fn problem(status: u16, body: &[u8]) -> Error {
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

/// The key a request carries: `x-api-key`, else an `Authorization: Bearer` credential.
pub fn presented_key(headers: &http::HeaderMap) -> Option<&str> {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(key) = text("x-api-key")
        .map(str::trim)
        .filter(|key| !key.is_empty())
    {
        return Some(key);
    }
    let (scheme, credential) = text("authorization")?.trim().split_once(' ')?;
    let credential = credential.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credential.is_empty()).then_some(credential)
}

/// The status a protected route answers a refused verdict with.
pub fn refused_with(verdict: &Verdict) -> http::StatusCode {
    match verdict.code.as_str() {
        "EXPIRED" | "DELETED" | "DISABLED" | "INSUFFICIENT_PERMISSIONS" => {
            http::StatusCode::FORBIDDEN
        }
        "RATE_LIMITED" | "USAGE_EXCEEDED" => http::StatusCode::TOO_MANY_REQUESTS,
        _ => http::StatusCode::UNAUTHORIZED,
    }
}

/// A tower layer letting requests through only with a good key.
#[derive(Debug, Clone)]
pub struct VerifyLayer {
    client: Client,
    permissions: Option<Arc<str>>,
}

impl VerifyLayer {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            permissions: None,
        }
    }

    /// Lets through only keys whose permissions satisfy `query`
    /// (`documents.read OR admin`); a good key that lacks them gets 403.
    pub fn requiring(self, query: impl Into<String>) -> Self {
        Self {
            permissions: Some(Arc::from(query.into())),
            ..self
        }
    }
}

impl<S> tower_layer::Layer<S> for VerifyLayer {
    type Service = Verify<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Verify {
            inner,
            client: self.client.clone(),
            permissions: self.permissions.clone(),
        }
    }
}

/// The service [`VerifyLayer`] makes.
#[derive(Debug, Clone)]
pub struct Verify<S> {
    inner: S,
    client: Client,
    permissions: Option<Arc<str>>,
}

impl<S, ReqBody, ResBody> tower_service::Service<http::Request<ReqBody>> for Verify<S>
where
    S: tower_service::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
    ResBody: From<Bytes>,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        // The clone is the one that was polled ready (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let client = self.client.clone();
        let permissions = self.permissions.clone();
        Box::pin(async move {
            let Some(key) = presented_key(request.headers()).map(str::to_owned) else {
                return Ok(refusal(
                    http::StatusCode::UNAUTHORIZED,
                    "an API key is required (x-api-key or Authorization: Bearer)",
                    None,
                ));
            };
            match client.verify_requiring(&key, permissions.as_deref()).await {
                Ok(verdict) if verdict.valid => {
                    request.extensions_mut().insert(verdict);
                    inner.call(request).await
                }
                Ok(verdict) => {
                    let status = refused_with(&verdict);
                    // The verdict's code only: never the key.
                    let detail = format!("the API key was refused: {}", verdict.code);
                    Ok(refusal(status, &detail, Some(&verdict.code)))
                }
                // The key was not checked: not let in, and told to come back.
                Err(error) => {
                    tracing::warn!(%error, "a key could not be verified");
                    Ok(refusal(
                        http::StatusCode::SERVICE_UNAVAILABLE,
                        "the key could not be checked now; try again",
                        None,
                    ))
                }
            }
        })
    }
}

/// What a protected route's `Retry-After` says (seconds) when the key
/// manager cannot be asked: the same in every client library's middleware.
pub const UNAVAILABLE_RETRY_AFTER: &str = "5";

fn refusal<B: From<Bytes>>(
    status: http::StatusCode,
    detail: &str,
    code: Option<&str>,
) -> http::Response<B> {
    let body = serde_json::json!({ "error": detail, "code": code }).to_string();
    let mut response = http::Response::new(B::from(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if status == http::StatusCode::UNAUTHORIZED {
        headers.insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer"),
        );
    }
    if status == http::StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static(UNAVAILABLE_RETRY_AFTER),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_read_from_either_header() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(presented_key(&headers), None);
        headers.insert(
            "authorization",
            http::HeaderValue::from_static("Bearer akm_x"),
        );
        assert_eq!(presented_key(&headers), Some("akm_x"));
        headers.insert("x-api-key", http::HeaderValue::from_static(" akm_y "));
        assert_eq!(presented_key(&headers), Some("akm_y"));
        headers.remove("x-api-key");
        headers.insert("authorization", http::HeaderValue::from_static("Basic abc"));
        assert_eq!(presented_key(&headers), None);
    }

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
