//! Ending or suspending one key: `DELETE /v1/api-keys/{id}` with
//! `{"confirm": "<the exact key id>"}` (everyone), and
//! `POST /v1/api-keys/{id}/disable` and `/enable` (owners and admins), and
//! `PATCH /v1/api-keys/{id}` with `{"limits": …}` (owners and admins).

use std::sync::Arc;

use domain::{ApiKey, ApiKeyId, ApiKeyStatus, AuditAction, KeyLimits, Timestamp};
use serde::Deserialize;
use store::{ApiKeyCharge, ApiKeyDelete, ApiKeyLimit, ApiKeyRead, ApiKeySuspend};

use super::views::ApiKeyView;
use super::{audit_by, until_written};
use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::routes::Route;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirmation {
    confirm: Option<String>,
}

/// `PATCH /v1/api-keys/{id}`: the limits, required (`null` or `{}` removes them).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsChange {
    // `deserialize_with` makes the field required: a body that forgot it
    // must not silently remove a key's limits.
    #[serde(deserialize_with = "Option::deserialize")]
    limits: Option<KeyLimits>,
}

pub async fn handle<S: ApiKeyRead + ApiKeyDelete + ApiKeySuspend + ApiKeyLimit + ApiKeyCharge>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    match route {
        Route::DisableApiKey => {
            let key = set_status(&state, &request, ApiKeyStatus::Disabled).await?;
            Ok(ApiResponse::json(
                200,
                &ApiKeyView::at(&key, Timestamp::now(), state.expiry_notice),
            ))
        }
        Route::EnableApiKey => {
            let key = set_status(&state, &request, ApiKeyStatus::Active).await?;
            Ok(ApiResponse::json(
                200,
                &ApiKeyView::at(&key, Timestamp::now(), state.expiry_notice),
            ))
        }
        Route::UpdateApiKey => set_limits(&state, &request).await,
        _ => delete(&state, &request).await,
    }
}

/// Sets a key's limits; its counters start afresh from them (a new credit
/// balance, a new rate window), and every key of its rotation chain is
/// charged against them. A key that has ended keeps what it had, and a
/// rotated key's limits are its replacement's to change (409).
async fn set_limits<S: ApiKeyRead + ApiKeyLimit + ApiKeyCharge>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let change: LimitsChange = request.json()?;
    let limits = change.limits.and_then(KeyLimits::or_none);
    let now = Timestamp::now();
    let next = until_written(|| async {
        let key = load(state, request).await?;
        let status = key.status_at(now);
        if !matches!(status, ApiKeyStatus::Active | ApiKeyStatus::Disabled) {
            return Err(ApiError::conflict(
                "api_key_status",
                format!(
                    "the API key is {} and its limits cannot change",
                    status.as_str()
                ),
            ));
        }
        if key.rotated_to.is_some() {
            return Err(ApiError::conflict(
                "already_rotated",
                "this API key was rotated: it is charged against the limits of the key that \
                 replaced it, so change those",
            ));
        }
        let next = ApiKey {
            limits,
            ..key.clone()
        };
        let audit = audit_by(
            &request.identity,
            AuditAction::ApiKeyLimitsChanged,
            &key.id,
            now,
        );
        state.store.set_api_key_limits(&key, &next, &audit).await?;
        Ok(next)
    })
    .await?;
    tracing::info!(key_id = %next.id, limited = next.limits.is_some(), tenant = %request.identity.tenant, "api key limits changed");
    let usage = state.store.api_key_usage(next.balance_key()).await?;
    Ok(ApiResponse::json(
        200,
        &ApiKeyView::at(&next, now, state.expiry_notice).with_usage(usage.as_ref(), now),
    ))
}

async fn delete<S: ApiKeyRead + ApiKeyDelete>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let confirmation: Confirmation = request.json_or_default()?;
    let identity = &request.identity;
    let key = until_written(|| async {
        let key = load(state, request).await?;
        // Typing the exact id is the user's proof they mean this key; anything
        // else (missing, a prefix, other case, surrounding spaces) changes nothing.
        if confirmation.confirm.as_deref() != Some(key.id.as_str()) {
            return Err(ApiError::ConfirmationMismatch);
        }
        if key.status == ApiKeyStatus::Deleted {
            return Err(ApiError::conflict(
                "already_deleted",
                "this API key is already deleted",
            ));
        }
        let audit = audit_by(
            identity,
            AuditAction::ApiKeyDeleted,
            &key.id,
            Timestamp::now(),
        );
        Ok(state.store.delete_api_key(&key, &audit).await?)
    })
    .await?;
    tracing::info!(key_id = %key.id, tenant = %identity.tenant, "api key deleted");
    Ok(ApiResponse::no_content())
}

/// Suspends (`Disabled`) or resumes (`Active`) a key that is one or the
/// other; a deleted or expired key has ended and stays so (409).
async fn set_status<S: ApiKeyRead + ApiKeySuspend>(
    state: &AppState<S>,
    request: &ApiRequest,
    to: ApiKeyStatus,
) -> Result<ApiKey, ApiError> {
    let (from, action) = match to {
        ApiKeyStatus::Disabled => (ApiKeyStatus::Active, AuditAction::ApiKeyDisabled),
        _ => (ApiKeyStatus::Disabled, AuditAction::ApiKeyEnabled),
    };
    let changed = until_written(|| async {
        let key = load(state, request).await?;
        let now = Timestamp::now();
        // `status_at`: a key past its expiry is expired even before the sweep says so.
        let status = key.status_at(now);
        if status != from {
            return Err(ApiError::conflict(
                "api_key_status",
                format!(
                    "the API key is {} and cannot become {}",
                    status.as_str(),
                    to.as_str()
                ),
            ));
        }
        let audit = audit_by(&request.identity, action, &key.id, now);
        Ok(state.store.set_api_key_status(&key, to, &audit).await?)
    })
    .await?;
    tracing::info!(key_id = %changed.id, status = to.as_str(), tenant = %request.identity.tenant, "api key status changed");
    Ok(changed)
}

async fn load<S: ApiKeyRead>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiKey, ApiError> {
    let id: ApiKeyId = request.path_id()?;
    state
        .store
        .get_api_key(&request.identity.tenant, &id)
        .await?
        .ok_or(ApiError::NotFound { what: "API key" })
}
