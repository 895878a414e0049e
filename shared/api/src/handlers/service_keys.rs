//! `/v1/service-keys`: owners and admins make, list and revoke the tenant's
//! service keys. A service key is shown once, in the create answer; a
//! revocation is confirmed by typing the key's exact id, like a delete.

use std::sync::Arc;

use domain::{
    AccessKey, Role, ServiceKey, ServiceKeyId, ServiceKeyName, ServiceKeyStatus, Timestamp,
};
use serde::{Deserialize, Serialize};
use store::ServiceKeyStore;

use super::views::{PageView, ServiceKeyView};
use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::queries::ServiceKeysQuery;
use crate::routes::Route;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: ServiceKeyName,
    role: String,
    expires_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirmation {
    confirm: Option<String>,
}

#[derive(Serialize)]
struct Created<'a> {
    service_key: ServiceKeyView<'a>,
    /// The plaintext, this once.
    secret: &'a str,
}

pub async fn handle<S: ServiceKeyStore>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    // The permission table lets owners and admins in; no service key, of
    // any role, may make or end service keys (the authorizer refuses it
    // too: this is the function failing closed).
    if request.identity.service_key().is_some() {
        return Err(ApiError::ServiceKeyForbidden);
    }
    match route {
        Route::CreateServiceKey => create(&state, &request).await,
        Route::ListServiceKeys => list(&state, &request).await,
        Route::RevokeServiceKey => revoke(&state, &request).await,
        _ => Err(ApiError::NoRoute),
    }
}

async fn create<S: ServiceKeyStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: CreateBody = request.json()?;
    super::refuse_key_in(&state.verifier, "name", body.name.as_str())?;
    let identity = &request.identity;
    let role = Role::parse_for_service_key(&body.role)
        .map_err(|reason| ApiError::invalid("role", reason))?;
    identity
        .role
        .may_grant(role)
        .map_err(|refused| ApiError::InvalidField {
            field: "role".into(),
            reason: refused.to_string(),
        })?;
    let now = Timestamp::now();
    let expires_at = super::expires_at(body.expires_at.as_deref(), now)?;
    let (id, secret) = AccessKey::generate_service_key(&state.verifier.service_key_prefix);
    let (secret, secret_hash) = state.verifier.hashing.hash(secret).await?;
    let key = ServiceKey {
        id,
        tenant_id: identity.tenant.clone(),
        name: body.name,
        role,
        status: ServiceKeyStatus::Active,
        created_at: now,
        created_by: identity.user.clone(),
        expires_at,
        last_used_at: None,
        revoked_at: None,
        revoked_by: None,
        secret_hash,
    };
    let audit = key.created_event(&identity.author(now));
    state.store.create_service_key(&key, &audit).await?;
    tracing::info!(service_key_id = %key.id, tenant = %identity.tenant, %role, "service key created");
    let created = Created {
        service_key: ServiceKeyView::at(&key, now),
        secret: secret.expose_secret(),
    };
    Ok(ApiResponse::json(201, &created).with_header("cache-control", "no-store"))
}

async fn list<S: ServiceKeyStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let page: ServiceKeysQuery = request.query()?;
    let page = state
        .store
        .list_service_keys(
            &request.identity.tenant,
            page.limit.unwrap_or_default(),
            page.cursor.as_ref(),
        )
        .await?;
    let now = Timestamp::now();
    Ok(ApiResponse::json(
        200,
        &PageView::of(&page, |key| ServiceKeyView::at(key, now)),
    ))
}

async fn revoke<S: ServiceKeyStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let id: ServiceKeyId = request.path_id()?;
    let confirmation: Confirmation = request.json_or_default()?;
    let identity = &request.identity;
    let key = state
        .store
        .get_service_key(&identity.tenant, &id)
        .await?
        .ok_or(ApiError::NotFound {
            what: "service key",
        })?;
    // Typing the exact id is the person's proof they mean this key.
    if confirmation.confirm.as_deref() != Some(key.id.as_str()) {
        return Err(ApiError::ConfirmationMismatch);
    }
    let now = Timestamp::now();
    let (revoked, audit) = key
        .revoke(&identity.author(now))
        .map_err(|refused| ApiError::conflict("already_revoked", refused.to_string()))?;
    state.store.revoke_service_key(&revoked, &audit).await?;
    tracing::info!(service_key_id = %key.id, tenant = %identity.tenant, "service key revoked");
    Ok(ApiResponse::json(200, &ServiceKeyView::at(&revoked, now)))
}
