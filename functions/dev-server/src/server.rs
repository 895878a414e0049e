//! HTTP/1.1 on hyper, in front of the API's handlers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::http::{MAX_BODY_BYTES, check_content_type};
use api::leak_reports;
use api::routes::{Resolved, resolve};
use api::{ApiError, ApiRequest, ApiResponse, ApiStore, AppState, Route};
use auth::{Authenticator, Denied};
use bytes::Bytes;
use domain::{ApplicationId, ArxId, PrefixedId};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use jobs::CascadeTarget;
use notify::LogNotifier;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use verify::CallerRefused;

use crate::Limits;
use crate::connections::Connections;
use crate::console::Console;

/// What every connection shares.
pub(crate) struct Server<S> {
    pub(crate) state: Arc<AppState<S>>,
    pub(crate) authenticator: Arc<Authenticator>,
    /// Where archives and Arx deletions queue their cascade (the dev server's
    /// stand-in for the table's stream).
    pub(crate) cascades: mpsc::UnboundedSender<CascadeTarget>,
    pub(crate) limits: Limits,
    /// Everything outside `/v1`: the web console and its local sign-in.
    pub(crate) console: Console,
    /// What `POST /v1/leaks/github` checks signatures against.
    pub(crate) github_keys: verify::leaks::GithubKeys,
    /// Where the server listens (the local sign-in answers only on loopback).
    pub(crate) local_addr: SocketAddr,
    /// `METRICS_TOKEN`: the bearer token that reads `/metrics` from another
    /// machine (a Prometheus elsewhere); none: loopback only.
    pub(crate) metrics_token: Option<String>,
}

/// Accepts connections until `stopped` fires, each served on its own task,
/// within `limits`.
pub(crate) async fn accept<S: ApiStore>(
    listener: TcpListener,
    server: Arc<Server<S>>,
    mut stopped: oneshot::Receiver<()>,
) {
    let limits = server.limits;
    let connections = Connections::new(limits.max_connections);
    let mut failures = AcceptFailures::default();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: retrying at once would spin
                    // a core and write a log line per try. Wait, then retry.
                    let pause = failures.failed(&error);
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => continue,
                        _ = &mut stopped => return,
                    }
                }
            },
            _ = &mut stopped => return,
        };
        failures.recovered();
        let Some(admitted) = connections.admit() else {
            // Every connection is in a request: say so and close at once
            // rather than hold another socket. A best-effort write; a client
            // that cannot take it just sees the close.
            let _ = stream.try_write(BUSY_RESPONSE);
            continue;
        };
        let admitted = Arc::new(admitted);
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            let connection = Arc::clone(&admitted);
            let service = service_fn(move |request| {
                let (server, connection) = (Arc::clone(&server), Arc::clone(&connection));
                async move {
                    connection.request_started();
                    let serving = async move { handle(&server, request, peer).await };
                    let answer = isolated(serving).await;
                    connection.request_answered();
                    Ok::<_, Infallible>(answer)
                }
            });
            let mut http = http1::Builder::new();
            http.timer(TokioTimer::new())
                // Covers slow headers and, between requests, idle keep-alive.
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(MAX_HEADER_BYTES);
            let serving = http.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                served = serving => if let Err(error) = served {
                    tracing::debug!(%error, "connection ended with an error");
                },
                // Idle and the longest so: dropped (closed) for a newcomer.
                () = admitted.closed_for_another() => {}
            }
        });
    }
}

/// The most a client may send as request line and headers (a Cognito token is
/// about 1 KB): a slow client holds at most this much of our memory.
const MAX_HEADER_BYTES: usize = 16 * 1024;

const BUSY_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n\
content-length: 0\r\nconnection: close\r\n\r\n";

/// Failed accepts: a growing pause between tries, and one log line per
/// interval however many failed.
#[derive(Default)]
struct AcceptFailures {
    in_a_row: u32,
    since_logged: u64,
    logged_at: Option<Instant>,
}

impl AcceptFailures {
    const LOG_EVERY: Duration = Duration::from_secs(10);

    fn failed(&mut self, error: &std::io::Error) -> Duration {
        self.in_a_row = self.in_a_row.saturating_add(1);
        self.since_logged += 1;
        if self
            .logged_at
            .is_none_or(|at| at.elapsed() >= Self::LOG_EVERY)
        {
            tracing::warn!(%error, failures = self.since_logged, "accepting connections fails; backing off");
            self.logged_at = Some(Instant::now());
            self.since_logged = 0;
        }
        // 10 ms, doubling, at most a second.
        Duration::from_millis(10u64 << self.in_a_row.min(7)).min(Duration::from_secs(1))
    }

    fn recovered(&mut self) {
        self.in_a_row = 0;
    }
}

/// Serves one request so that a panic in a handler ends that request alone:
/// the client gets a 500 problem and the server goes on. The panic is caught
/// where it unwinds, on the connection's own task: spawning a task per
/// request did the same at the price of a wake-up across threads for every
/// request (a quarter of the CPU time under load was the scheduler's).
async fn isolated(
    serving: impl Future<Output = hyper::Response<Full<Bytes>>>,
) -> hyper::Response<Full<Bytes>> {
    use futures_util::FutureExt;
    // The state a handler shares outlives a panic safely: its mutexes are
    // read through poisoning (`lock` in the verdict cache), the stores'
    // transactions abort when dropped.
    match std::panic::AssertUnwindSafe(serving).catch_unwind().await {
        Ok(response) => response,
        Err(_) => to_hyper(ApiError::panicked().into_response()),
    }
}

async fn handle<S: ApiStore>(
    server: &Server<S>,
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    if request.uri().path() == HEALTH_PATH {
        // Polled by load balancers: answered before anything else, unlogged.
        return to_hyper(health(request.method()));
    }
    if request.uri().path() == METRICS_PATH {
        // Scraped every few seconds: unlogged, like the health check.
        return to_hyper(metrics(server, &request, peer));
    }
    let started = Instant::now();
    let carries_body = !request.body().is_end_stream();
    let (route, response) = if request.uri().path() == leak_reports::PATH {
        // No bearer token here: GitHub signs its reports instead.
        (
            "POST /v1/leaks/github".to_owned(),
            leak_report(server, request).await,
        )
    } else if is_api_path(request.uri().path()) {
        let (route, response) = respond(server, request).await;
        // The route's template, never the raw path or query: a user may paste
        // an access key where an id goes, and it must not reach the log.
        let route = route.map_or_else(|| "no route".to_owned(), |route| route.route_key());
        (route, response)
    } else {
        ("console".to_owned(), console(server, request, peer).await)
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    tracing::info!(%route, status = response.status, elapsed_ms, "request");
    let mut response = to_hyper(response);
    if carries_body && response.status().as_u16() >= 400 {
        // A refusal may come before the body is read (too large, no token,
        // no route), and then hyper closes the connection once it has
        // answered. Saying so keeps a client from sending its next request
        // on a connection about to close, which it would see as a failure
        // of that request.
        response.headers_mut().insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Where a load balancer (or a script) asks whether the server is up.
const HEALTH_PATH: &str = "/healthz";

/// `200 {"status":"ok"}` to GET and HEAD, with no token: it says only that
/// the process answers, and reads nothing.
fn health(method: &hyper::Method) -> ApiResponse {
    if method == hyper::Method::GET || method == hyper::Method::HEAD {
        ApiResponse {
            status: 200,
            content_type: Some("application/json"),
            headers: Vec::new(),
            body: b"{\"status\":\"ok\"}\n".to_vec(),
        }
    } else {
        let allowed = vec!["GET", "HEAD"];
        ApiError::MethodNotAllowed { allowed }.into_response()
    }
}

/// Where Prometheus scrapes the metrics.
const METRICS_PATH: &str = "/metrics";

/// The metrics in Prometheus' text format, to GET and HEAD from this machine
/// (the peer on loopback), or from anywhere with `METRICS_TOKEN` as a bearer
/// token. They hold no key and no tenant, but say how busy the server is.
fn metrics<S>(
    server: &Server<S>,
    request: &hyper::Request<Incoming>,
    peer: SocketAddr,
) -> ApiResponse {
    let method = request.method();
    if method != hyper::Method::GET && method != hyper::Method::HEAD {
        let allowed = vec!["GET", "HEAD"];
        return ApiError::MethodNotAllowed { allowed }.into_response();
    }
    let presented = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let token_matches = match (&server.metrics_token, presented) {
        (Some(token), Some(presented)) => same_text(token.as_bytes(), presented.as_bytes()),
        _ => false,
    };
    if !peer.ip().is_loopback() && !token_matches {
        return ApiError::Forbidden.into_response();
    }
    ApiResponse {
        status: 200,
        content_type: Some(telemetry::prometheus::CONTENT_TYPE),
        headers: Vec::new(),
        body: telemetry::prometheus::render().into_bytes(),
    }
}

/// Whether two byte strings are equal, in time that depends on their
/// lengths only.
fn same_text(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// The GitHub secret scanning endpoint, served like its Lambda: no JWT.
async fn leak_report<S: ApiStore>(
    server: &Server<S>,
    request: hyper::Request<Incoming>,
) -> ApiResponse {
    if request.method() != hyper::Method::POST {
        let allowed = vec!["POST"];
        return ApiError::MethodNotAllowed { allowed }.into_response();
    }
    let headers = request.headers().clone();
    let body = match read_body(request, server.limits.body_timeout).await {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let report = verify::leaks::SignedReport::of(&headers, &body);
    let state = &server.state;
    let keys = &server.github_keys;
    leak_reports::respond(&state.store, &state.verifier, keys, &LogNotifier, report).await
}

/// `/v1` and below is the API; every other path belongs to the console.
fn is_api_path(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/")
}

/// The console's files (GET, HEAD) and its local sign-in (POST).
async fn console<S>(
    server: &Server<S>,
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> ApiResponse {
    let console = &server.console;
    let method = request.method().clone();
    if method == hyper::Method::GET || method == hyper::Method::HEAD {
        return console.page(request.uri().path());
    }
    if method != hyper::Method::POST || request.uri().path() != "/local-sign-in" {
        let allowed = vec!["GET", "HEAD"];
        return console.secured(ApiError::MethodNotAllowed { allowed }.into_response());
    }
    let from_this_machine = server.local_addr.ip().is_loopback() && peer.ip().is_loopback();
    let header = |name: hyper::header::HeaderName| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let host = header(hyper::header::HOST);
    let origin = header(hyper::header::ORIGIN);
    let content_type = header(hyper::header::CONTENT_TYPE);
    let answer = match read_body(request, server.limits.body_timeout).await {
        Ok(body) => console.sign_in(
            from_this_machine,
            host.as_deref(),
            origin.as_deref(),
            content_type.as_deref(),
            &body,
        ),
        Err(error) => Err(error),
    };
    console.secured(answer.unwrap_or_else(ApiError::into_response))
}

/// Reads a body of at most [`MAX_BODY_BYTES`] within `timeout`.
async fn read_body(
    request: hyper::Request<Incoming>,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    let reading = Limited::new(request.into_body(), MAX_BODY_BYTES).collect();
    Ok(tokio::time::timeout(timeout, reading)
        .await
        .map_err(|_| ApiError::BodyTimeout)?
        .map_err(|_| ApiError::BodyTooLarge {
            max_bytes: MAX_BODY_BYTES,
        })?
        .to_bytes())
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
    let request = match to_api_request(server, route, id, request).await {
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
async fn to_api_request<S: ApiStore>(
    server: &Server<S>,
    route: Route,
    id: Option<String>,
    request: hyper::Request<Incoming>,
) -> Result<ApiRequest, ApiError> {
    // A body claimed too large is refused before anything is read or checked.
    let claimed = request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if claimed.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(ApiError::BodyTooLarge {
            max_bytes: MAX_BODY_BYTES,
        });
    }
    let authorization = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let state = &server.state;
    let identity = state
        .verifier
        .authorize_caller(
            &state.store,
            &server.authenticator,
            authorization,
            route.operation(),
        )
        .await
        .map_err(|refused| match refused {
            CallerRefused::Denied(denied) => {
                // `denied` is one of our fixed reasons, never the credential's text.
                tracing::info!(route = %route.route_key(), reason = %denied, "request denied");
                match denied {
                    Denied::ServiceKeyForbidden => ApiError::ServiceKeyForbidden,
                    denied if denied.status() == 401 => ApiError::Unauthenticated,
                    _ => ApiError::Forbidden,
                }
            }
            CallerRefused::Unavailable(error) => ApiError::from(error),
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
    let content_type = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let idempotency_key = api::http::idempotency_key_of(request.headers());
    let body = read_body(request, server.limits.body_timeout).await?;
    let media = check_content_type(content_type.as_deref(), &body)?;
    Ok(ApiRequest {
        identity,
        id,
        query,
        body,
        idempotency_key,
        media,
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
    let response = response.with_security_headers();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_request_is_answered_500_and_the_next_is_served() {
        let panicked = isolated(async { panic!("a handler bug") }).await;
        assert_eq!(panicked.status(), 500);
        let body = panicked
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let problem: serde_json::Value = serde_json::from_slice(&body).expect("a problem");
        assert_eq!(problem["code"], "internal");
        assert!(
            !problem.to_string().contains("a handler bug"),
            "the message stays out"
        );
        let next = isolated(async { to_hyper(ApiResponse::no_content()) }).await;
        assert_eq!(next.status(), 204);
    }
}
