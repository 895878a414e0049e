//! Ending or suspending one key: `DELETE /v1/api-keys/{id}` with
//! `{"confirm": "<the exact key id>"}` (everyone), and
//! `POST /v1/api-keys/{id}/disable` and `/enable` (owners and admins), and
//! `PATCH /v1/api-keys/{id}` with any of `limits`, `permissions`,
//! `external_id` and `meta` (owners and admins). What each may do to the key
//! is the domain's (`domain::lifecycle`); each reads the key, asks the
//! domain, and writes what it decided over the revision read.

use std::sync::Arc;

use domain::{
    ApiKey, ApiKeyId, ExternalId, IpAllowlist, KeyChange, KeyEdit, KeyLimits, KeyRoles,
    Permissions, Timestamp,
};
use serde::Deserialize;
use store::{ApiKeyCharge, ApiKeyRead, ApiKeyWrite, RoleLookup, until_written};

use super::refuse_keys_in_plain_data;
use super::views::ApiKeyView;
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
struct KeyChangeBody {
    #[serde(default, deserialize_with = "given")]
    limits: Option<Option<KeyLimits>>,
    #[serde(default, deserialize_with = "given")]
    permissions: Option<Option<Permissions>>,
    #[serde(default, deserialize_with = "given")]
    roles: Option<Option<KeyRoles>>,
    #[serde(default, deserialize_with = "given")]
    allowlist: Option<Option<IpAllowlist>>,
    #[serde(default, deserialize_with = "given")]
    external_id: Option<Option<ExternalId>>,
    /// Read as the text sent, so its numbers are judged as written.
    #[serde(default, deserialize_with = "given")]
    meta: Option<Option<Box<serde_json::value::RawValue>>>,
}

/// A field that is present: `Some(None)` for `null`, `Some(Some(v))` for a value.
pub(super) fn given<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

pub async fn handle<S: ApiKeyRead + ApiKeyWrite + ApiKeyCharge + RoleLookup>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    match route {
        Route::DisableApiKey | Route::EnableApiKey => {
            let enable = route == Route::EnableApiKey;
            let now = Timestamp::now();
            let by = request.identity.author(now);
            let key = change(&state, &request, |key| {
                if enable {
                    key.enable(&by)
                } else {
                    key.disable(&by)
                }
            })
            .await?;
            tracing::info!(key_id = %key.id, status = key.status.as_str(), tenant = %request.identity.tenant, "api key status changed");
            Ok(ApiResponse::json(
                200,
                &ApiKeyView::at(&key, now, state.expiry_notice),
            ))
        }
        Route::UpdateApiKey => update(&state, &request).await,
        _ => delete(&state, &request).await,
    }
}

/// Reads the key, asks `decide` what it becomes, and writes that over the
/// revision read, again while another change lands in between. The record
/// written.
async fn change<S, F>(
    state: &AppState<S>,
    request: &ApiRequest,
    decide: F,
) -> Result<ApiKey, ApiError>
where
    S: ApiKeyRead + ApiKeyWrite,
    F: Fn(&ApiKey) -> Result<KeyChange, domain::Refusal>,
{
    until_written(|| async {
        let key = load(state, request).await?;
        let change = decide(&key)?;
        state.store.write_api_key_change(&key, &change).await?;
        Ok(change.next)
    })
    .await
}

/// Changes what a `PATCH` names (see `ApiKey::edit`).
async fn update<S: ApiKeyRead + ApiKeyWrite + ApiKeyCharge + RoleLookup>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: KeyChangeBody = request.json()?;
    let meta = body
        .meta
        .as_ref()
        .map(|meta| meta.as_deref().map(super::issue_keys::meta_of).transpose())
        .transpose()?;
    let edit = KeyEdit {
        limits: body.limits,
        permissions: body.permissions,
        roles: body.roles,
        allowlist: body.allowlist,
        external_id: body.external_id,
        meta,
    };
    if edit.is_empty() {
        return Err(ApiError::MalformedBody {
            detail: "the body names nothing to change: give limits, permissions, roles, \
                     allowlist, external_id or meta"
                .into(),
            field: None,
        });
    }
    refuse_keys_in_plain_data(
        &state.verifier,
        edit.permissions.as_ref().and_then(Option::as_ref),
        edit.external_id.as_ref().and_then(Option::as_ref),
        edit.meta.as_ref().and_then(Option::as_ref),
    )?;
    if let Some(Some(roles)) = &edit.roles {
        super::known_roles(state, &request.identity.tenant, roles).await?;
    }
    let now = Timestamp::now();
    let by = request.identity.author(now);
    let next = until_written(|| async {
        let key = load(state, request).await?;
        let Some(change) = key.edit(&edit, &by)? else {
            return Ok(key);
        };
        state.store.write_api_key_change(&key, &change).await?;
        Ok::<_, ApiError>(change.next)
    })
    .await?;
    // Neither the owner nor the meta is logged: they are the customer's data.
    tracing::info!(key_id = %next.id, limited = next.limits.is_some(), permissions = next.permissions.iter().count(), tenant = %request.identity.tenant, "api key changed");
    let balance = state.store.api_key_balance(next.balance_key()).await?;
    Ok(ApiResponse::json(
        200,
        &ApiKeyView::at(&next, now, state.expiry_notice).with_balance(balance.as_ref(), now),
    ))
}

async fn delete<S: ApiKeyRead + ApiKeyWrite>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let confirmation: Confirmation = request.json_or_default()?;
    let identity = &request.identity;
    let by = identity.author(Timestamp::now());
    let key = change(state, request, |key| {
        key.confirms_deletion(confirmation.confirm.as_deref())?;
        key.delete(&by)
    })
    .await?;
    tracing::info!(key_id = %key.id, tenant = %identity.tenant, "api key deleted");
    Ok(ApiResponse::no_content())
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
