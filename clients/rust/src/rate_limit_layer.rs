//! The tower layer for rate limits: limits a route by a function of the
//! request (the client's address, a header, the verdict's identity) in a
//! namespace, answering 429 with `Retry-After` and the IETF draft's
//! `RateLimit-Policy` and `RateLimit` headers itself, and adding those
//! headers to the route's own answer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

use crate::layer::{UNAVAILABLE_RETRY_AFTER, refusal};
use crate::{Client, Limit};

/// What a request is limited by: `None` lets it through unchecked.
pub type Identify =
    Arc<dyn Fn(&http::HeaderMap, &http::Extensions) -> Option<String> + Send + Sync>;

/// A tower layer limiting a route in a namespace.
#[derive(Clone)]
pub struct RateLimitLayer {
    client: Client,
    namespace: Arc<str>,
    identify: Identify,
    limit: Limit,
    fail_open: bool,
}

impl std::fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("namespace", &self.namespace)
            .field("fail_open", &self.fail_open)
            .finish_non_exhaustive()
    }
}

impl RateLimitLayer {
    /// Limits by `identify(headers, extensions)` in `namespace`: in axum,
    /// the client's address is
    /// `|_, extensions| extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string())`,
    /// a verdict's identity (after [`crate::VerifyLayer`])
    /// `|_, extensions| extensions.get::<Verdict>()?.external_id.clone()`.
    pub fn new(
        client: Client,
        namespace: impl Into<String>,
        identify: impl Fn(&http::HeaderMap, &http::Extensions) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            client,
            namespace: Arc::from(namespace.into()),
            identify: Arc::new(identify),
            limit: Limit::default(),
            fail_open: false,
        }
    }

    /// Each request counts for this (cost, or its own limit).
    pub fn with(self, limit: Limit) -> Self {
        Self { limit, ..self }
    }

    /// When the API cannot be asked and the namespace's rule is not known
    /// yet, let requests through (closed, 503, otherwise).
    pub fn failing_open(self, fail_open: bool) -> Self {
        Self { fail_open, ..self }
    }
}

impl<S> tower_layer::Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimited {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`RateLimitLayer`] makes.
#[derive(Debug, Clone)]
pub struct RateLimited<S> {
    inner: S,
    layer: RateLimitLayer,
}

impl<S, ReqBody, ResBody> tower_service::Service<http::Request<ReqBody>> for RateLimited<S>
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

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        // The clone is the one that was polled ready (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        let identifier = (layer.identify)(request.headers(), request.extensions());
        Box::pin(async move {
            let Some(identifier) = identifier else {
                return inner.call(request).await;
            };
            let namespace = &*layer.namespace;
            let answer = match layer
                .client
                .limit(namespace, &identifier, layer.limit)
                .await
            {
                Ok(answer) => answer,
                Err(error) => {
                    // The error only: never the identifier.
                    tracing::warn!(%error, namespace, "a rate limit could not be checked");
                    if layer.client.fails_open(namespace, layer.fail_open) {
                        return inner.call(request).await;
                    }
                    let detail = "the request could not be checked now; try again";
                    let mut refused = refusal(http::StatusCode::SERVICE_UNAVAILABLE, detail, None);
                    refused.headers_mut().insert(
                        http::header::RETRY_AFTER,
                        http::HeaderValue::from_static(UNAVAILABLE_RETRY_AFTER),
                    );
                    return Ok(refused);
                }
            };
            let mut response = if answer.success {
                inner.call(request).await?
            } else {
                let detail = "too many requests; try again later";
                refusal(
                    http::StatusCode::TOO_MANY_REQUESTS,
                    detail,
                    Some("RATE_LIMITED"),
                )
            };
            for (name, value) in answer.headers(namespace) {
                if let Ok(value) = http::HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, value);
                }
            }
            Ok(response)
        })
    }
}
