//! HTTP/1.1 on hyper, in front of the API's handlers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use api::http::MAX_BODY_BYTES;
use api::routes::{Resolved, resolve};
use api::{ApiError, ApiRequest, ApiResponse, ApiStore, AppState, Route, Verifier};
use bytes::Bytes;
use domain::{ApplicationId, ArxId, PrefixedId};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jobs::CascadeTarget;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// What every connection shares.
pub(crate) struct Server<S> {
    pub(crate) state: Arc<AppState<S>>,
    pub(crate) verifier: Arc<Verifier>,
    /// Where archives and Arx deletions queue their cascade (the dev server's
    /// stand-in for the table's stream).
    pub(crate) cascades: mpsc::UnboundedSender<CascadeTarget>,
}

/// Accepts connections until `stopped` fires, each served on its own task.
pub(crate) async fn accept<S: ApiStore>(
    listener: TcpListener,
    server: Arc<Server<S>>,
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
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let server = Arc::clone(&server);
                async move { Ok::<_, Infallible>(handle(&server, request).await) }
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
    server: &Server<S>,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let started = Instant::now();
    let (route, response) = respond(server, request).await;
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
    server: &Server<S>,
    request: hyper::Request<Incoming>,
) -> (Option<Route>, ApiResponse) {
    let (route, id) = match resolve(request.method().as_str(), request.uri().path()) {
        Resolved::Route { route, id } => (route, id),
        Resolved::MethodNotAllowed { allowed } => {
            return (None, ApiError::MethodNotAllowed { allowed }.into_response());
        }
        Resolved::NotFound => return (None, ApiError::NoRoute.into_response()),
    };
    let request = match to_api_request(&server.verifier, route, id, request).await {
        Ok(request) => request,
        Err(error) => return (Some(route), error.into_response()),
    };
    let cascade = cascade_target(route, &request);
    let response = api::dispatch(Arc::clone(&server.state), route, request).await;
    if let Some(target) = cascade.filter(|_| (200..300).contains(&response.status)) {
        // The receiver lives as long as the server; a send can only fail while stopping.
        let _ = server.cascades.send(target);
    }
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

/// The cascade an archive or an Arx deletion starts once it succeeds.
fn cascade_target(route: Route, request: &ApiRequest) -> Option<CascadeTarget> {
    let tenant = request.identity.tenant.clone();
    let id = request.id.as_deref()?;
    match route {
        Route::ArchiveApplication => ApplicationId::parse(id)
            .ok()
            .map(|id| CascadeTarget::Application { tenant, id }),
        Route::DeleteArx => ArxId::parse(id)
            .ok()
            .map(|id| CascadeTarget::Arx { tenant, id }),
        _ => None,
    }
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
