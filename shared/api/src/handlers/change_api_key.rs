//! Ending or suspending one key: `DELETE /v1/api-keys/{id}` with
//! `{"confirm": "<the exact key id>"}` (everyone), and
//! `POST /v1/api-keys/{id}/disable` and `/enable` (owners and admins), and
//! `PATCH /v1/api-keys/{id}` with any of `limits`, `permissions`,
//! `external_id` and `meta` (owners and admins).

use std::sync::Arc;

use domain::{
    ApiKey, ApiKeyId, ApiKeyStatus, AuditAction, ExternalId, KeyLimits, Permissions, Timestamp,
};
use serde::Deserialize;
use store::{ApiKeyCharge, ApiKeyDelete, ApiKeyRead, ApiKeySuspend, ApiKeyUpdate, Counters};

use super::views::ApiKeyView;
use super::{audit_by, refuse_keys_in_plain_data, until_written};
use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::routes::Route;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirmation {
    confirm: Option<String>,
}

/// `PATCH /v1/api-keys/{id}`: any of the limits, permissions, owner and
/// meta. An absent field is left as it is and `null` removes it (so a body
/// that forgot a field never removes it); a body naming none is refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyChange {
    #[serde(default, deserialize_with = "given")]
    limits: Option<Option<KeyLimits>>,
    #[serde(default, deserialize_with = "given")]
    permissions: Option<Option<Permissions>>,
    #[serde(default, deserialize_with = "given")]
    external_id: Option<Option<ExternalId>>,
    /// Read as the text sent, so its numbers are judged as written.
    #[serde(default, deserialize_with = "given")]
    meta: Option<Option<Box<serde_json::value::RawValue>>>,
}

/// A field that is present: `Some(None)` for `null`, `Some(Some(v))` for a value.
fn given<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

pub async fn handle<S: ApiKeyRead + ApiKeyDelete + ApiKeySuspend + ApiKeyUpdate + ApiKeyCharge>(
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
        Route::UpdateApiKey => update(&state, &request).await,
        _ => delete(&state, &request).await,
    }
}

/// Changes what a `PATCH` names. New limits start the counters afresh (a
/// new credit balance, a new rate window), and every key of its rotation
/// chain is charged against them, so a rotated key's limits are its
/// replacement's to change (409); its permissions, owner and meta are its
/// own. A key that has ended keeps what it had (409).
async fn update<S: ApiKeyRead + ApiKeyUpdate + ApiKeyCharge>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let change: KeyChange = request.json()?;
    if change.limits.is_none()
        && change.permissions.is_none()
        && change.external_id.is_none()
        && change.meta.is_none()
    {
        return Err(ApiError::MalformedBody {
            detail: "the body names nothing to change: give limits, permissions, external_id \
                     or meta"
                .into(),
            field: None,
        });
    }
    let meta = change
        .meta
        .as_ref()
        .map(|meta| {
            meta.as_deref()
                .map(super::create_api_key::meta_of)
                .transpose()
        })
        .transpose()?;
    refuse_keys_in_plain_data(
        &state.verifier,
        change.permissions.as_ref().and_then(Option::as_ref),
        change.external_id.as_ref().and_then(Option::as_ref),
        meta.as_ref().and_then(Option::as_ref),
    )?;
    let now = Timestamp::now();
    let next = until_written(|| async {
        let key = load(state, request).await?;
        let status = key.status_at(now);
        if !matches!(status, ApiKeyStatus::Active | ApiKeyStatus::Disabled) {
            return Err(ApiError::conflict(
                "api_key_status",
                format!("the API key is {} and cannot change", status.as_str()),
            ));
        }
        if change.limits.is_some() && key.rotated_to.is_some() {
            return Err(ApiError::conflict(
                "already_rotated",
                "this API key was rotated: it is charged against the limits of the key that \
                 replaced it, so change those",
            ));
        }
        let next = ApiKey {
            limits: change
                .limits
                .map_or(key.limits, |limits| limits.and_then(KeyLimits::or_none)),
            permissions: change
                .permissions
                .clone()
                .map_or_else(|| key.permissions.clone(), Option::unwrap_or_default),
            external_id: change
                .external_id
                .clone()
                .unwrap_or_else(|| key.external_id.clone()),
            meta: meta.clone().unwrap_or_else(|| key.meta.clone()),
            ..key.clone()
        };
        let mut audit = Vec::new();
        if change.limits.is_some() {
            audit.push(
                audit_by(
                    &request.identity,
                    AuditAction::ApiKeyLimitsChanged,
                    &key.id,
                    now,
                )
                .with_detail(KeyLimits::change_detail(key.limits, next.limits)),
            );
        }
        if let Some(detail) = what_changed(&key, &next) {
            audit.push(
                audit_by(&request.identity, AuditAction::ApiKeyUpdated, &key.id, now)
                    .with_detail(detail),
            );
        }
        if audit.is_empty() {
            return Ok(key);
        }
        let counters = match change.limits {
            Some(_) => Counters::Restarted,
            None => Counters::Kept,
        };
        state
            .store
            .update_api_key(&key, &next, counters, &audit)
            .await?;
        Ok(next)
    })
    .await?;
    // Neither the owner nor the meta is logged: they are the customer's data.
    tracing::info!(key_id = %next.id, limited = next.limits.is_some(), permissions = next.permissions.iter().count(), tenant = %request.identity.tenant, "api key changed");
    let usage = state.store.api_key_usage(next.balance_key()).await?;
    Ok(ApiResponse::json(
        200,
        &ApiKeyView::at(&next, now, state.expiry_notice).with_usage(usage.as_ref(), now),
    ))
}

/// What an update changed besides the limits, in words for the audit log:
/// the permissions added and removed, the owner, whether the meta changed.
fn what_changed(before: &ApiKey, after: &ApiKey) -> Option<String> {
    let mut parts = Vec::new();
    let (added, removed) = before.permissions.changes_to(&after.permissions);
    let list = |names: &[&domain::Permission]| {
        names
            .iter()
            .map(|name| name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !added.is_empty() {
        parts.push(format!("permissions added: {}", list(&added)));
    }
    if !removed.is_empty() {
        parts.push(format!("permissions removed: {}", list(&removed)));
    }
    match (&before.external_id, &after.external_id) {
        (before, after) if before == after => {}
        (_, Some(owner)) => parts.push(format!("owner set to {owner}")),
        (Some(_), None) => parts.push("owner removed".into()),
        (None, None) => {}
    }
    match (&before.meta, &after.meta) {
        (before, after) if before == after => {}
        (None, Some(_)) => parts.push("meta set".into()),
        (Some(_), Some(_)) => parts.push("meta changed".into()),
        (_, None) => parts.push("meta removed".into()),
    }
    (!parts.is_empty()).then(|| parts.join("; "))
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
