//! `POST /v1/verify`: is this access key good, and for what? Always 200 for a
//! well-formed request, with the verdict in the body.

use std::sync::Arc;

use domain::{Cost, PermissionQuery};
use serde::Deserialize;

use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::routes::Route;
use crate::state::AppState;
use verify::{Ask, RateLimitCost, VerifyStore};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    /// Never echoed: a refused value is not repeated (see `http::without_echo`).
    key: String,
    /// What this request spends of the key's limits (0 peeks).
    #[serde(default = "one")]
    cost: Cost,
    /// What the request needs of the key's permissions (`a AND (b OR c)`).
    permissions: Option<String>,
    /// Which of the key's identity's rate limits to charge, at what cost
    /// (absent: every one, at `cost`).
    rate_limits: Option<Vec<RateLimitCost>>,
    /// The end user's address, as the caller vouches for it: what a key's
    /// allowlist is judged by (none is on no list).
    ip: Option<String>,
}

fn one() -> Cost {
    Cost::ONE
}

pub async fn handle<S: VerifyStore>(
    state: Arc<AppState<S>>,
    _route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: VerifyBody = request.json()?;
    // An identity has at most this many: naming more asks for nothing more.
    let most = domain::IdentityLimits::MAX_RATE_LIMITS;
    if body
        .rate_limits
        .as_ref()
        .is_some_and(|asked| asked.len() > most)
    {
        return Err(ApiError::InvalidField {
            field: "rate_limits".into(),
            reason: format!("must name at most {most} rate limits"),
        });
    }
    let permissions = body
        .permissions
        .as_deref()
        .map(PermissionQuery::parse)
        .transpose()
        .map_err(|reason| ApiError::invalid("permissions", reason))?;
    let address = body
        .ip
        .as_deref()
        .map(|ip| ip.trim().parse::<std::net::IpAddr>())
        .transpose()
        .map_err(|_| ApiError::InvalidField {
            field: "ip".into(),
            reason: "must be an IPv4 or IPv6 address".into(),
        })?;
    let tenant = Some(&request.identity.tenant);
    let verdict = state
        .verifier
        .verify(
            &state.store,
            tenant,
            &body.key,
            &Ask {
                cost: body.cost,
                permissions: permissions.as_ref(),
                rate_limits: body.rate_limits.as_deref(),
                address,
            },
        )
        .await?;
    Ok(ApiResponse::json(200, &verdict))
}
