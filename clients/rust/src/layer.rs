//! The tower layer: reads the key a request carries, verifies it, answers
//! 401, 403, 429 (and 503 when the key manager cannot be asked) itself, and
//! hands the route the [`Verdict`] in the request's extensions.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

use crate::{Check, Client, Code, Verdict};

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
    match verdict.code {
        Code::Expired
        | Code::Deleted
        | Code::Disabled
        | Code::InsufficientPermissions
        | Code::AddressNotAllowed => http::StatusCode::FORBIDDEN,
        Code::RateLimited | Code::UsageExceeded => http::StatusCode::TOO_MANY_REQUESTS,
        _ => http::StatusCode::UNAUTHORIZED,
    }
}

/// How a request's connection address is read (the server's own view: in
/// axum, `ConnectInfo<SocketAddr>` in the extensions).
pub type PeerAddress = Arc<dyn Fn(&http::Extensions) -> Option<IpAddr> + Send + Sync>;

/// Where the end user's address comes from, for keys with an allowlist.
#[derive(Clone, Default)]
struct Addresses {
    peer: Option<PeerAddress>,
    /// Proxies you run in front of the service, each appending to
    /// `X-Forwarded-For`: the client is the entry this far from its end.
    trusted_proxies: usize,
}

impl std::fmt::Debug for Addresses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Addresses")
            .field("peer", &self.peer.is_some())
            .field("trusted_proxies", &self.trusted_proxies)
            .finish()
    }
}

impl Addresses {
    /// The end user's address: the connection's with no proxy trusted; else
    /// the `X-Forwarded-For` entry the nearest trusted proxy appended (the
    /// entries before it are whatever the client wrote, never read). Fewer
    /// entries than proxies: none.
    fn of(&self, parts: &http::HeaderMap, extensions: &http::Extensions) -> Option<IpAddr> {
        let peer = self.peer.as_ref().and_then(|peer| peer(extensions))?;
        if self.trusted_proxies == 0 {
            return Some(peer);
        }
        let forwarded: Vec<&str> = parts
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let at = forwarded.len().checked_sub(self.trusted_proxies)?;
        forwarded.get(at)?.parse().ok()
    }
}

/// A tower layer letting requests through only with a good key.
#[derive(Debug, Clone)]
pub struct VerifyLayer {
    client: Client,
    permissions: Option<Arc<str>>,
    addresses: Addresses,
}

impl VerifyLayer {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            permissions: None,
            addresses: Addresses::default(),
        }
    }

    /// Reads the connection's address with `peer` (in axum:
    /// `|extensions| extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())`),
    /// and sends it with each check, for keys with an allowlist. Without it
    /// no address is sent, and such keys are refused.
    pub fn client_address(
        self,
        peer: impl Fn(&http::Extensions) -> Option<IpAddr> + Send + Sync + 'static,
    ) -> Self {
        Self {
            addresses: Addresses {
                peer: Some(Arc::new(peer)),
                ..self.addresses
            },
            ..self
        }
    }

    /// `n` proxies you run sit in front and append to `X-Forwarded-For`:
    /// the client is the entry the nearest one appended. 0 (the default)
    /// reads no header at all: a client can write any.
    pub fn trusting_proxies(self, n: usize) -> Self {
        Self {
            addresses: Addresses {
                trusted_proxies: n,
                ..self.addresses
            },
            ..self
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
            addresses: self.addresses.clone(),
        }
    }
}

/// The service [`VerifyLayer`] makes.
#[derive(Debug, Clone)]
pub struct Verify<S> {
    inner: S,
    client: Client,
    permissions: Option<Arc<str>>,
    addresses: Addresses,
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
        let address = self.addresses.of(request.headers(), request.extensions());
        Box::pin(async move {
            let Some(key) = presented_key(request.headers()).map(str::to_owned) else {
                return Ok(refusal(
                    http::StatusCode::UNAUTHORIZED,
                    "an API key is required (x-api-key or Authorization: Bearer)",
                    None,
                ));
            };
            let check = Check {
                permissions: permissions.as_deref(),
                address,
                ..Check::default()
            };
            match client.check(&key, check).await {
                Ok(verdict) if verdict.valid => {
                    request.extensions_mut().insert(verdict);
                    inner.call(request).await
                }
                Ok(verdict) => {
                    let status = refused_with(&verdict);
                    // The verdict's code only: never the key.
                    let detail = format!("the API key was refused: {}", verdict.code);
                    Ok(refusal(status, &detail, Some(verdict.code.as_str())))
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

pub(crate) fn refusal<B: From<Bytes>>(
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
}
