//! `GET /v1/api-keys` (the dashboard) and `GET /v1/api-keys/{id}`; the
//! same function serves what keys did ([`super::usage`]).

use std::sync::Arc;

use domain::{ApiKeyId, Timestamp};
use store::{ApiKeyCharge, ApiKeyFilter, ApiKeyQuery, ApiKeyRead, IdentityStore, UsageLog};

use super::views::{ApiKeyView, PageView};
use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::queries::ListApiKeysQuery;
use crate::routes::Route;
use crate::state::AppState;

pub async fn handle<S: ApiKeyRead + ApiKeyCharge + IdentityStore + UsageLog>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    match route {
        Route::GetApiKey => get(&state, &request).await,
        Route::GetApiKeyUsage | Route::GetTenantUsage => {
            super::usage::handle(state, route, request).await
        }
        _ => list(&state, &request).await,
    }
}

async fn list<S: ApiKeyRead>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let asked: ListApiKeysQuery = request.query()?;
    let query = ApiKeyQuery {
        filter: ApiKeyFilter {
            application_id: asked.application_id,
            arx_id: asked.arx_id,
            status: asked.status,
            hide_deleted: !asked.include_deleted.unwrap_or(true),
            name_contains: asked.name.map(|name| name.as_str().to_lowercase()),
            external_id: asked.external_id,
        },
        limit: asked.limit.unwrap_or_default(),
        cursor: asked.cursor,
        oldest_first: asked.oldest_first.unwrap_or(false),
        ..Default::default()
    };
    let tenant = &request.identity.tenant;
    let (page, counts) = tokio::try_join!(
        state.store.list_api_keys(tenant, &query),
        state.store.api_key_counts(tenant),
    )?;
    let mut view = PageView::of(&page, |key| {
        ApiKeyView::at(key, query.as_of, state.expiry_notice)
    });
    view.counts = Some(counts);
    Ok(ApiResponse::json(200, &view))
}

/// One key, with what is left of its limits (read beside it).
async fn get<S: ApiKeyRead + ApiKeyCharge>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let id: ApiKeyId = request.path_id()?;
    let (key, mut balance) = tokio::try_join!(
        state.store.get_api_key(&request.identity.tenant, &id),
        state.store.api_key_balance(&id),
    )?;
    let key = key.ok_or(ApiError::NotFound { what: "API key" })?;
    // A key of a rotation chain spends the chain's counters: show those.
    if key.balance_key() != &key.id {
        balance = state.store.api_key_balance(key.balance_key()).await?;
    }
    let now = Timestamp::now();
    Ok(ApiResponse::json(
        200,
        &ApiKeyView::at(&key, now, state.expiry_notice).with_balance(balance.as_ref(), now),
    ))
}
