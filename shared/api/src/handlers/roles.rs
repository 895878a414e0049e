//! `/v1/roles`: a tenant's roles for keys, named sets of permissions a key
//! is given by name (`roles: ["reader"]`). Everyone who reads keys reads
//! roles; owners and admins make, change and delete them. A change reaches
//! every key that has the role at its next check (within the verdict
//! cache's TTL in other processes).

use std::sync::Arc;

use domain::{KeyRole, Permissions, RoleId, RoleName, Timestamp};
use serde::Deserialize;
use store::{Conflict, RoleStore, StoreError};

use super::views::{PageView, RoleView};
use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::queries::RolesQuery;
use crate::routes::Route;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: RoleName,
    #[serde(default)]
    permissions: Permissions,
}

/// The name is fixed (keys name the role by it): only the permissions change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    permissions: Permissions,
}

pub async fn handle<S: RoleStore>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    match route {
        Route::CreateRole => create(&state, &request).await,
        Route::ListRoles => list(&state, &request).await,
        Route::GetRole => Ok(ApiResponse::json(
            200,
            &RoleView::of(&find(&state, &request).await?),
        )),
        Route::UpdateRole => update(&state, &request).await,
        Route::DeleteRole => delete(&state, &request).await,
        _ => Err(ApiError::NoRoute),
    }
}

async fn create<S: RoleStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: CreateBody = request.json()?;
    super::refuse_keys_in_plain_data(&state.verifier, Some(&body.permissions), None, None)?;
    let identity = &request.identity;
    let (role, audit) = KeyRole::create(
        identity.tenant.clone(),
        body.name,
        body.permissions,
        &identity.author(Timestamp::now()),
    );
    state
        .store
        .create_role(&role, &audit)
        .await
        .map_err(|error| match error {
            StoreError::Conflict(Conflict::AlreadyExists) => ApiError::conflict(
                "role_exists",
                "the organisation already has a role with this name",
            ),
            other => other.into(),
        })?;
    tracing::info!(role_id = %role.id, tenant = %identity.tenant, "role created");
    Ok(ApiResponse::json(201, &RoleView::of(&role)))
}

async fn list<S: RoleStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let asked: RolesQuery = request.query()?;
    let page = state
        .store
        .list_roles(
            &request.identity.tenant,
            asked.limit.unwrap_or_default(),
            asked.cursor.as_ref(),
        )
        .await?;
    Ok(ApiResponse::json(200, &PageView::of(&page, RoleView::of)))
}

async fn find<S: RoleStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<KeyRole, ApiError> {
    let id: RoleId = request.path_id()?;
    state
        .store
        .get_role(&request.identity.tenant, &id)
        .await?
        .ok_or(ApiError::NotFound { what: "role" })
}

async fn update<S: RoleStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: ChangeBody = request.json()?;
    super::refuse_keys_in_plain_data(&state.verifier, Some(&body.permissions), None, None)?;
    let current = find(state, request).await?;
    let (next, audit) =
        current.with_permissions(body.permissions, &request.identity.author(Timestamp::now()));
    state.store.update_role(&current, &next, &audit).await?;
    tracing::info!(role_id = %next.id, tenant = %request.identity.tenant, "role changed");
    Ok(ApiResponse::json(200, &RoleView::of(&next)))
}

/// Keys that name a deleted role lose what it gave at their next check; a
/// role made later with the same name gives it to them again, so take the
/// role off the keys first if that is not what is meant (the docs say so).
async fn delete<S: RoleStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let current = find(state, request).await?;
    let audit = current.deleted_event(&request.identity.author(Timestamp::now()));
    state.store.delete_role(&current, &audit).await?;
    tracing::info!(role_id = %current.id, tenant = %request.identity.tenant, "role deleted");
    Ok(ApiResponse::no_content())
}
