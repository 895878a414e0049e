//! The management API: its routes (one row each), the handlers, their problem
//! answers, and the runners of the functions that serve them.
//!
//! In Lambda ([`lambda`]) or in the dev server (which calls
//! [`handlers::dispatch`] behind [`auth::Authenticator`]). Checking
//! keys is the `verify` crate's; this crate serves its route, the
//! key-authorizer and the leak endpoint, and hashes new keys with it.

use std::future::Future;

pub mod config;
pub mod functions;
pub mod handlers;
pub mod http;
pub mod lambda;
pub mod leak_reports;
pub mod problem;
pub mod queries;
pub mod routes;
pub mod state;

pub use config::{ConfigError, ServiceConfig};
pub use handlers::{ApiStore, dispatch};
pub use http::{ApiRequest, ApiResponse, Identity};
pub use problem::ApiError;
pub use routes::Route;
pub use state::AppState;

/// Runs a route's handler with what every route shares: the role is checked
/// again (the authorizer already did; a mis-wired route must still fail
/// closed), and errors become problem responses.
pub async fn respond<F, Fut>(route: Route, request: ApiRequest, handler: F) -> ApiResponse
where
    F: FnOnce(Route, ApiRequest) -> Fut,
    Fut: Future<Output = Result<ApiResponse, ApiError>>,
{
    if !request.identity.role.may(route.operation()) {
        tracing::warn!(route = %route.route_key(), role = %request.identity.role, "role refused by the function");
        return ApiError::Forbidden.into_response();
    }
    // Refused here for every route, so a stray parameter never passes unseen.
    let outcome = match request.query_params(route.query_parameters()) {
        Ok(_) => handler(route, request).await,
        Err(error) => Err(error),
    };
    let response = match outcome {
        Ok(response) => response,
        Err(error) => {
            if error.status() < 500 {
                tracing::info!(route = %route.route_key(), status = error.status(), code = error.code(), "request refused");
            }
            error.into_response()
        }
    };
    telemetry::metrics::REQUESTS.inc(route.name());
    telemetry::metrics::RESPONSES.inc(telemetry::metrics::status_class(response.status));
    response
}
