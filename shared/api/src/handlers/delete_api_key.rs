//! `DELETE /v1/api-keys/{id}` with `{"confirm": "<the exact key id>"}`.

use std::sync::Arc;

use domain::{ApiKeyId, ApiKeyStatus, AuditAction, Timestamp};
use serde::Deserialize;
use store::{ApiKeyDelete, ApiKeyRead};

use super::audit_by;
use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::routes::Route;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirmation {
    confirm: Option<String>,
}

pub async fn handle<S: ApiKeyRead + ApiKeyDelete>(
    state: Arc<AppState<S>>,
    _route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let id: ApiKeyId = request.path_id()?;
    let confirmation: Confirmation = request.json_or_default()?;
    let identity = &request.identity;
    let key = state
        .store
        .get_api_key(&identity.tenant, &id)
        .await?
        .ok_or(ApiError::NotFound { what: "API key" })?;
    // Typing the exact id is the user's proof they mean this key; anything else
    // (missing, a prefix, other case, surrounding spaces) changes nothing.
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
    state.store.delete_api_key(&key, &audit).await?;
    tracing::info!(key_id = %key.id, tenant = %identity.tenant, "api key deleted");
    Ok(ApiResponse::no_content())
}
