//! `POST /v1/ratelimit` and `/v1/ratelimit/many`: is this identifier within
//! its limit? Always 200 for a well-formed check, with `success` saying
//! whether the request may go on. The identifier is never repeated: not in
//! an answer, an error or a log line.

use std::sync::Arc;

use domain::limits::{RateRequests, RateSeconds};
use domain::{Cost, Identifier, NamespaceName};
use serde::{Deserialize, Serialize};
use verify::{LimitAnswer, LimitAsk, LimitError, RateLimitStore};

use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::routes::Route;
use crate::state::AppState;

/// The most limits one `/many` checks together.
const MAX_CHECKS: usize = 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    namespace: NamespaceName,
    identifier: Identifier,
    #[serde(default = "one")]
    cost: Cost,
    /// This check's own limit, instead of the namespace's (or override's).
    limit: Option<RateRequests>,
    duration: Option<RateSeconds>,
}

fn one() -> Cost {
    Cost::ONE
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManyBody {
    checks: Vec<CheckBody>,
}

#[derive(Serialize)]
struct ManyAnswer {
    success: bool,
    results: Vec<LimitAnswer>,
}

impl From<CheckBody> for LimitAsk {
    fn from(body: CheckBody) -> Self {
        LimitAsk {
            namespace: body.namespace,
            identifier: body.identifier,
            cost: body.cost,
            limit: body.limit,
            duration: body.duration,
        }
    }
}

pub async fn handle<S: RateLimitStore>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let asks: Vec<LimitAsk> = match route {
        Route::LimitRate => vec![request.json::<CheckBody>()?.into()],
        Route::LimitRateMany => {
            let body: ManyBody = request.json()?;
            if body.checks.is_empty() || body.checks.len() > MAX_CHECKS {
                return Err(ApiError::InvalidField {
                    field: "checks".into(),
                    reason: format!("must hold 1 to {MAX_CHECKS} checks"),
                });
            }
            body.checks.into_iter().map(LimitAsk::from).collect()
        }
        _ => return Err(ApiError::NoRoute),
    };
    let verifier = &state.verifier;
    let answers = verifier
        .rate_limits
        .check_counted(
            &state.store,
            &verifier.usage,
            &request.identity.tenant,
            &asks,
        )
        .await
        .map_err(|error| match error {
            LimitError::NoNamespace(_) => ApiError::UnknownName {
                field: "namespace",
                what: "rate-limit namespace",
            },
            LimitError::Check(error) => error.into(),
        })?;
    match route {
        Route::LimitRateMany => Ok(ApiResponse::json(
            200,
            &ManyAnswer {
                success: answers.iter().all(|answer| answer.success),
                results: answers,
            },
        )),
        _ => {
            let answer = answers.first().ok_or(ApiError::NoRoute)?;
            Ok(ApiResponse::json(200, answer))
        }
    }
}
