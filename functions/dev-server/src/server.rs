//! HTTP/1.1 on hyper, in front of the API's handlers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use api::http::MAX_BODY_BYTES;
use api::routes::{Resolved, resolve};
use api::{ApiError, ApiRequest, ApiResponse, ApiStore, AppState, Route, Verifier};
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
    let (route, response) = respond(state, verifier, request).await;
    // The route's template, never the raw path or query: a user may paste an
    // access key where an id goes, and it must not reach the log.
    let route = route.map_or_else(|| "no route".to_owned(), |route| route.route_key());
    let elapsed_ms = started.elapsed().as_millis() as u64;
    tracing::info!(%route, status = response.status, elapsed_ms, "request");
    to_hyper(response)
}

/// What API Gateway, the authorizer and the function would answer together,
/// and the route it was for.
async fn respond<S: ApiStore>(
    state: &Arc<AppState<S>>,
    verifier: &Verifier,
    request: hyper::Request<Incoming>,
) -> (Option<Route>, ApiResponse) {
    let (route, id) = match resolve(request.method().as_str(), request.uri().path()) {
        Resolved::Route { route, id } => (route, id),
        Resolved::MethodNotAllowed { allowed } => {
            return (None, ApiError::MethodNotAllowed { allowed }.into_response());
        }
        Resolved::NotFound => return (None, ApiError::NoRoute.into_response()),
    };
    let response = match to_api_request(verifier, route, id, request).await {
        Ok(request) => api::dispatch(Arc::clone(state), route, request).await,
        Err(error) => error.into_response(),
    };
    (Some(route), response)
}

/// Runs the authorizer's logic, then reads the query and the (bounded) body.
async fn to_api_request(
    verifier: &Verifier,
    route: Route,
    id: Option<String>,
    request: hyper::Request<Incoming>,
) -> Result<ApiRequest, ApiError> {
    let authorization = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let identity = verifier
        .authorize(authorization, route)
        .await
        .map_err(|denied| {
            tracing::info!(route = %route.route_key(), reason = %denied, "request denied");
            if denied.status() == 401 {
                ApiError::Unauthenticated
            } else {
                ApiError::Forbidden
            }
        })?;
    let query = request
        .uri()
        .query()
        .map(|query| {
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let body = Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|_| ApiError::BodyTooLarge {
            max_bytes: MAX_BODY_BYTES,
        })?
        .to_bytes();
    Ok(ApiRequest {
        identity,
        id,
        query,
        body,
    })
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
