//! HTTP/1.1 on hyper, in front of the API's handlers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use api::http::MAX_BODY_BYTES;
use api::routes::{Resolved, resolve};
use api::{ApiError, ApiRequest, ApiResponse, ApiStore, AppState, Verifier};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Accepts connections until `stopped` fires, each served on its own task.
pub(crate) async fn accept<S: ApiStore>(
    listener: TcpListener,
    state: Arc<AppState<S>>,
    verifier: Arc<Verifier>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    continue;
                }
            },
            _ = &mut stopped => return,
        };
        let (state, verifier) = (Arc::clone(&state), Arc::clone(&verifier));
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let (state, verifier) = (Arc::clone(&state), Arc::clone(&verifier));
                async move { Ok::<_, Infallible>(handle(&state, &verifier, request).await) }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
}

async fn handle<S: ApiStore>(
    state: &Arc<AppState<S>>,
    verifier: &Verifier,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = respond(state, verifier, request).await;
    // Method, path (ids are public) and status only: never headers or bodies.
    tracing::info!(%method, %path, status = response.status, elapsed_ms = started.elapsed().as_millis() as u64, "request");
    to_hyper(response)
}

/// What API Gateway, the authorizer and the function would answer together.
async fn respond<S: ApiStore>(
    state: &Arc<AppState<S>>,
    verifier: &Verifier,
    request: hyper::Request<Incoming>,
) -> ApiResponse {
    let (route, id) = match resolve(request.method().as_str(), request.uri().path()) {
        Resolved::Route { route, id } => (route, id),
        Resolved::MethodNotAllowed { allowed } => {
            let method = request.method().to_string();
            return ApiError::MethodNotAllowed { method, allowed }.into_response();
        }
        Resolved::NotFound => return ApiError::NoRoute.into_response(),
    };
    let authorization = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let identity = match verifier.authorize(authorization, route).await {
        Ok(identity) => identity,
        Err(denied) => {
            tracing::info!(route = %route.route_key(), reason = %denied, "request denied");
            let error = if denied.status() == 401 {
                ApiError::Unauthenticated
            } else {
                ApiError::Forbidden
            };
            return error.into_response();
        }
    };
    let query = request
        .uri()
        .query()
        .map(|query| {
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return ApiError::BodyTooLarge {
                max_bytes: MAX_BODY_BYTES,
            }
            .into_response();
        }
    };
    let request = ApiRequest {
        identity,
        id,
        query,
        body,
    };
    api::dispatch(Arc::clone(state), route, request).await
}

fn to_hyper(response: ApiResponse) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder().status(response.status);
    if let Some(content_type) = response.content_type {
        builder = builder.header(hyper::header::CONTENT_TYPE, content_type);
    }
    for (name, value) in &response.headers {
        builder = builder.header(*name, value);
    }
    builder
        .body(Full::new(Bytes::from(response.body)))
        .unwrap_or_else(|_| {
            let mut fallback = hyper::Response::new(Full::new(Bytes::new()));
            *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}
