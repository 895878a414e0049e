//! `/v1/ratelimit-namespaces`: a tenant's namespaces of rate limits and
//! their overrides. Everyone who reads keys reads them; owners and admins
//! make, change and delete them. A change reaches other processes' checks
//! within the namespace cache's TTL (`VERIFY_CACHE_SECONDS`), this one's at
//! once.
//!
//! Overrides are named by their identifier or pattern in the body (`PUT`
//! and `DELETE .../overrides`), never in the URL: an identifier may be an
//! e-mail, and URLs end up in access logs.

use std::sync::Arc;

use domain::limits::{RateRequests, RateSeconds};
use domain::ratelimit::rate_limit;
use domain::{
    IdentifierPattern, NamespaceEdit, NamespaceId, NamespaceName, RateLimitNamespace, Timestamp,
};
use serde::Deserialize;
use store::{Conflict, NamespaceStore, StoreError, UsageLog, until_written};

use super::views::{NamespaceView, OverridesView, PageView};
use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::queries::NamespacesQuery;
use crate::routes::Route;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: NamespaceName,
    /// Requests a window allows an identifier with no override.
    limit: RateRequests,
    /// The window, in seconds.
    duration: RateSeconds,
    #[serde(default)]
    fail_open: bool,
}

/// The name is fixed (checks name the namespace by it).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    limit: Option<RateRequests>,
    duration: Option<RateSeconds>,
    fail_open: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    identifier: IdentifierPattern,
    limit: RateRequests,
    duration: RateSeconds,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveOverrideBody {
    identifier: IdentifierPattern,
}

pub async fn handle<S: NamespaceStore + UsageLog>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    match route {
        Route::CreateRateLimitNamespace => create(&state, &request).await,
        Route::ListRateLimitNamespaces => list(&state, &request).await,
        Route::GetRateLimitNamespace => Ok(ApiResponse::json(
            200,
            &NamespaceView::of(&find(&state, &request).await?),
        )),
        Route::UpdateRateLimitNamespace => update(&state, &request).await,
        Route::DeleteRateLimitNamespace => delete(&state, &request).await,
        Route::ListRateLimitOverrides => Ok(ApiResponse::json(
            200,
            &OverridesView::of(&find(&state, &request).await?),
        )),
        Route::SetRateLimitOverride => set_override(&state, &request).await,
        Route::RemoveRateLimitOverride => remove_override(&state, &request).await,
        Route::GetRateLimitNamespaceUsage => super::usage::namespace_usage(state, request).await,
        _ => Err(ApiError::NoRoute),
    }
}

async fn create<S: NamespaceStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: CreateBody = request.json()?;
    let identity = &request.identity;
    let (namespace, audit) = RateLimitNamespace::create(
        identity.tenant.clone(),
        body.name,
        rate_limit(body.limit, body.duration),
        body.fail_open,
        &identity.author(Timestamp::now()),
    );
    state
        .store
        .create_namespace(&namespace, &audit)
        .await
        .map_err(|error| match error {
            StoreError::Conflict(Conflict::AlreadyExists) => ApiError::conflict(
                "namespace_exists",
                "the organisation already has a rate-limit namespace with this name",
            ),
            other => other.into(),
        })?;
    tracing::info!(namespace_id = %namespace.id, tenant = %identity.tenant, "rate-limit namespace created");
    Ok(ApiResponse::json(201, &NamespaceView::of(&namespace)))
}

async fn list<S: NamespaceStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let asked: NamespacesQuery = request.query()?;
    let page = state
        .store
        .list_namespaces(
            &request.identity.tenant,
            asked.limit.unwrap_or_default(),
            asked.cursor.as_ref(),
        )
        .await?;
    Ok(ApiResponse::json(
        200,
        &PageView::of(&page, NamespaceView::of),
    ))
}

async fn find<S: NamespaceStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<RateLimitNamespace, ApiError> {
    let id: NamespaceId = request.path_id()?;
    state
        .store
        .get_namespace(&request.identity.tenant, &id)
        .await?
        .ok_or(ApiError::NotFound {
            what: "rate-limit namespace",
        })
}

/// Reads the namespace, decides with `decide` (`None`: nothing to write)
/// and writes, again while another change wins the race.
async fn change<S, F>(
    state: &AppState<S>,
    request: &ApiRequest,
    decide: F,
) -> Result<RateLimitNamespace, ApiError>
where
    S: NamespaceStore,
    F: Fn(
        &RateLimitNamespace,
    ) -> Result<Option<(RateLimitNamespace, domain::AuditEvent)>, ApiError>,
{
    until_written(|| async {
        let current = find(state, request).await?;
        let Some((next, audit)) = decide(&current)? else {
            return Ok(current);
        };
        state.store.update_namespace(&current, &next, &audit).await?;
        tracing::info!(namespace_id = %next.id, tenant = %request.identity.tenant, "rate-limit namespace changed");
        Ok(next)
    })
    .await
}

async fn update<S: NamespaceStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: ChangeBody = request.json()?;
    if body.limit.is_none() && body.duration.is_none() && body.fail_open.is_none() {
        return Err(ApiError::MalformedBody {
            detail: "the body names nothing to change: give limit, duration or fail_open".into(),
            field: None,
        });
    }
    let author = request.identity.author(Timestamp::now());
    let next = change(state, request, |current| {
        let limit = rate_limit(
            body.limit.unwrap_or(current.limit.requests),
            body.duration.unwrap_or(current.limit.per_seconds),
        );
        let edit = NamespaceEdit {
            limit: Some(limit),
            fail_open: body.fail_open,
        };
        Ok(current.edit(edit, &author))
    })
    .await?;
    Ok(ApiResponse::json(200, &NamespaceView::of(&next)))
}

/// Checks in a deleted namespace are refused (422) from then on; its
/// counters end with their windows, and a namespace made again with the
/// same name counts afresh.
async fn delete<S: NamespaceStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let current = find(state, request).await?;
    let audit = current.deleted_event(&request.identity.author(Timestamp::now()));
    state.store.delete_namespace(&current, &audit).await?;
    tracing::info!(namespace_id = %current.id, tenant = %request.identity.tenant, "rate-limit namespace deleted");
    Ok(ApiResponse::no_content())
}

async fn set_override<S: NamespaceStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: OverrideBody = request.json()?;
    let author = request.identity.author(Timestamp::now());
    let limit = rate_limit(body.limit, body.duration);
    let next = change(state, request, |current| {
        current
            .set_override(body.identifier.clone(), limit, &author)
            .map(Some)
            .map_err(|too_many| ApiError::conflict("too_many_overrides", too_many.to_string()))
    })
    .await?;
    Ok(ApiResponse::json(200, &OverridesView::of(&next)))
}

async fn remove_override<S: NamespaceStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: RemoveOverrideBody = request.json()?;
    let author = request.identity.author(Timestamp::now());
    let next = change(state, request, |current| {
        current
            .remove_override(&body.identifier, &author)
            .map(Some)
            .ok_or(ApiError::Missing {
                what: "override for this identifier",
            })
    })
    .await?;
    Ok(ApiResponse::json(200, &OverridesView::of(&next)))
}
