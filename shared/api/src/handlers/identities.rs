//! `/v1/identities`: a tenant's customers, each holding the keys that carry
//! its `external_id`, and the limits those keys share. Everyone who reads
//! keys reads identities; owners and admins (who change keys' limits) make,
//! change and delete them.

use std::sync::Arc;

use domain::{ExternalId, Identity, IdentityEdit, IdentityId, IdentityLimits, Timestamp};
use serde::Deserialize;
use store::{ApiKeyFilter, ApiKeyQuery, ApiKeyRead, IdentityStore};

use super::change_keys::given;
use super::issue_keys::meta_of;
use super::views::{IdentityView, PageView};
use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::queries::IdentitiesQuery;
use crate::routes::Route;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    external_id: ExternalId,
    meta: Option<Box<serde_json::value::RawValue>>,
    #[serde(default)]
    limits: IdentityLimits,
}

/// `PATCH`: an absent field stays, `null` removes it; the external id is
/// fixed (keys find their identity by it: to move keys, change theirs).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    #[serde(default, deserialize_with = "given")]
    meta: Option<Option<Box<serde_json::value::RawValue>>>,
    #[serde(default, deserialize_with = "given")]
    limits: Option<Option<IdentityLimits>>,
}

pub async fn handle<S: IdentityStore + ApiKeyRead + store::UsageLog>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    match route {
        Route::CreateIdentity => create(&state, &request).await,
        Route::ListIdentities => list(&state, &request).await,
        Route::GetIdentity => get(&state, &request).await,
        Route::UpdateIdentity => update(&state, &request).await,
        Route::DeleteIdentity => delete(&state, &request).await,
        Route::GetIdentityUsage => super::usage::handle(state, route, request).await,
        _ => Err(ApiError::NoRoute),
    }
}

async fn create<S: IdentityStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: CreateBody = request.json()?;
    let meta = body.meta.as_deref().map(meta_of).transpose()?;
    super::refuse_key_in(&state.verifier, "external_id", body.external_id.as_str())?;
    if let Some(meta) = &meta {
        super::refuse_key_in(&state.verifier, "meta", &meta.to_json())?;
    }
    let identity = &request.identity;
    let now = Timestamp::now();
    let (created, audit) = Identity::create(
        identity.tenant.clone(),
        body.external_id,
        meta,
        body.limits,
        &identity.author(now),
    );
    state
        .store
        .create_identity(&created, &audit)
        .await
        .map_err(|error| match error {
            store::StoreError::Conflict(store::Conflict::AlreadyExists) => ApiError::conflict(
                "identity_exists",
                "the organisation already has an identity with this external_id",
            ),
            other => other.into(),
        })?;
    tracing::info!(identity_id = %created.id, tenant = %identity.tenant, "identity created");
    Ok(ApiResponse::json(
        201,
        &with_balances(state, &created, now).await?,
    ))
}

async fn list<S: IdentityStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let asked: IdentitiesQuery = request.query()?;
    let tenant = &request.identity.tenant;
    // One customer by its external id: its copy, no scan.
    if let Some(external_id) = &asked.external_id {
        let found = state.store.identity_of(tenant, external_id).await?;
        let items: Vec<IdentityView<'_>> = found.iter().map(IdentityView::of).collect();
        return Ok(ApiResponse::json(
            200,
            &PageView {
                items,
                next_cursor: None,
                counts: None,
            },
        ));
    }
    let page = state
        .store
        .list_identities(
            tenant,
            asked.limit.unwrap_or_default(),
            asked.cursor.as_ref(),
        )
        .await?;
    Ok(ApiResponse::json(
        200,
        &PageView::of(&page, IdentityView::of),
    ))
}

async fn find<S: IdentityStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<Identity, ApiError> {
    let id: IdentityId = request.path_id()?;
    state
        .store
        .get_identity(&request.identity.tenant, &id)
        .await?
        .ok_or(ApiError::NotFound { what: "identity" })
}

async fn get<S: IdentityStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let found = find(state, request).await?;
    let view = with_balances(state, &found, Timestamp::now()).await?;
    Ok(ApiResponse::json(200, &view))
}

async fn update<S: IdentityStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: ChangeBody = request.json()?;
    let meta = body
        .meta
        .map(|meta| meta.as_deref().map(meta_of).transpose())
        .transpose()?;
    if let Some(Some(meta)) = &meta {
        super::refuse_key_in(&state.verifier, "meta", &meta.to_json())?;
    }
    let edit = IdentityEdit {
        meta,
        limits: body.limits.map(Option::unwrap_or_default),
    };
    if edit == IdentityEdit::default() {
        return Err(ApiError::MalformedBody {
            detail: "the body names nothing to change: give meta or limits".into(),
            field: None,
        });
    }
    let current = find(state, request).await?;
    let now = Timestamp::now();
    let (next, audit) = current.edit(edit, &request.identity.author(now));
    state.store.update_identity(&current, &next, &audit).await?;
    tracing::info!(identity_id = %next.id, tenant = %request.identity.tenant, "identity changed");
    Ok(ApiResponse::json(
        200,
        &with_balances(state, &next, now).await?,
    ))
}

/// Refused while a key that is not deleted carries the identity's external
/// id: deleting it would silently lift the limits those keys share (the
/// customer's quota). Delete or re-assign the keys first.
async fn delete<S: IdentityStore + ApiKeyRead>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let current = find(state, request).await?;
    let query = ApiKeyQuery {
        filter: ApiKeyFilter {
            hide_deleted: true,
            external_id: Some(current.external_id.clone()),
            ..ApiKeyFilter::default()
        },
        limit: domain::PageLimit::parse(1).unwrap_or_default(),
        ..ApiKeyQuery::default()
    };
    let keys = state
        .store
        .list_api_keys(&request.identity.tenant, &query)
        .await?;
    if !keys.items.is_empty() {
        return Err(ApiError::conflict(
            "identity_has_keys",
            "keys that are not deleted still carry this identity's external_id; delete them \
             or change their external_id first, so no key loses the limits it shares",
        ));
    }
    let audit = current.deleted_event(&request.identity.author(Timestamp::now()));
    state.store.delete_identity(&current, &audit).await?;
    tracing::info!(identity_id = %current.id, tenant = %request.identity.tenant, "identity deleted");
    Ok(ApiResponse::no_content())
}

/// The identity with what each of its limits has left.
async fn with_balances<'a, S: IdentityStore>(
    state: &AppState<S>,
    identity: &'a Identity,
    now: Timestamp,
) -> Result<IdentityView<'a>, ApiError> {
    let balances = state.store.identity_balances(identity).await?;
    Ok(IdentityView::of(identity).with_balances(&balances, now))
}
