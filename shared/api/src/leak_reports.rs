//! `POST /v1/leaks/github`, served: the route outside the route table (it has
//! no JWT: GitHub signs its reports), and the answer the `verify` crate's
//! leak response ([`verify::leaks`]) gives, as HTTP.

use notify::Notifier;
use verify::Verifier;
use verify::leaks::{GithubKeys, LeakStore, SignedReport};

use crate::http::ApiResponse;
use crate::problem::ApiError;

/// The endpoint's path (`POST`), outside the route table: it has no JWT.
pub const PATH: &str = "/v1/leaks/github";

/// The function that serves it.
pub const FUNCTION: &str = "leak-report";

/// Handles one report: 200 with a label per token, or the refusal.
pub async fn respond<S, N>(
    store: &S,
    verifier: &Verifier,
    keys: &GithubKeys,
    notifier: &N,
    report: SignedReport<'_>,
) -> ApiResponse
where
    S: LeakStore,
    N: Notifier,
{
    match verify::leaks::handle(store, verifier, keys, notifier, report).await {
        Ok(labels) => ApiResponse::json(200, &labels),
        Err(error) => {
            let error = ApiError::from(error);
            if error.status() < 500 {
                tracing::info!(
                    status = error.status(),
                    code = error.code(),
                    "leak report refused"
                );
            }
            error.into_response()
        }
    }
}
