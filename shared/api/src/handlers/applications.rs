//! `/v1/applications`: list, create, read, update, archive.

use std::sync::Arc;

use domain::{
    Application, ApplicationId, ApplicationName, ApplicationStatus, AuditAction, CorsOrigin,
    Technology, Timestamp, application::check_cors_origins,
};
use serde::Deserialize;
use store::ApplicationStore;

use super::views::{ApplicationView, PageView};
use super::{audit_by, refuse_key_in};
use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::queries::ApplicationsQuery;
use crate::routes::Route;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: ApplicationName,
    technology: Technology,
    #[serde(default)]
    cors_origins: Vec<CorsOrigin>,
}

/// A change: the fields given are set, the others kept. `null` is refused
/// (naming the field) rather than read as "left out": none of these can be
/// removed, and a body of nulls must not pass for one that changes nothing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<ApplicationName>,
    #[serde(default, deserialize_with = "present")]
    technology: Option<Technology>,
    #[serde(default, deserialize_with = "present")]
    cors_origins: Option<Vec<CorsOrigin>>,
}

/// A field that, when present, holds a value (never `null`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

pub async fn handle<S: ApplicationStore>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    match route {
        Route::ListApplications => list(&state, &request).await,
        Route::CreateApplication => create(&state, &request).await,
        Route::GetApplication => {
            let application = load(&state, &request).await?;
            Ok(ApiResponse::json(200, &ApplicationView::from(&application)))
        }
        Route::UpdateApplication => update(&state, &request).await,
        Route::ArchiveApplication => archive(&state, &request).await,
        _ => Err(ApiError::NoRoute),
    }
}

async fn list<S: ApplicationStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let page: ApplicationsQuery = request.query()?;
    let page = state
        .store
        .list_applications(
            &request.identity.tenant,
            page.limit.unwrap_or_default(),
            page.cursor.as_ref(),
        )
        .await?;
    Ok(ApiResponse::json(
        200,
        &PageView::of(&page, ApplicationView::from),
    ))
}

async fn create<S: ApplicationStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: CreateBody = request.json()?;
    refuse_key_in(&state.verifier, "name", body.name.as_str())?;
    check_cors_origins(body.technology, &body.cors_origins)
        .map_err(|reason| ApiError::invalid("cors_origins", reason))?;
    let identity = &request.identity;
    let now = Timestamp::now();
    let application = Application {
        id: ApplicationId::new(),
        tenant_id: identity.tenant.clone(),
        name: body.name,
        technology: body.technology,
        cors_origins: body.cors_origins,
        status: ApplicationStatus::Active,
        created_at: now,
        created_by: identity.user.clone(),
        updated_at: now,
    };
    let audit = audit_by(
        identity,
        AuditAction::ApplicationCreated,
        &application.id,
        now,
    );
    state.store.create_application(&application, &audit).await?;
    tracing::info!(application_id = %application.id, tenant = %identity.tenant, "application created");
    Ok(ApiResponse::json(201, &ApplicationView::from(&application)))
}

async fn update<S: ApplicationStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: UpdateBody = request.json()?;
    if let Some(name) = &body.name {
        refuse_key_in(&state.verifier, "name", name.as_str())?;
    }
    if body.name.is_none() && body.technology.is_none() && body.cors_origins.is_none() {
        return Err(ApiError::MalformedBody {
            detail: "nothing to update: give name, technology or cors_origins".into(),
            field: None,
        });
    }
    let current = load(state, request).await?;
    current.changeable()?;
    let mut updated = current.clone();
    if let Some(name) = body.name {
        updated.name = name;
    }
    if let Some(technology) = body.technology {
        updated.technology = technology;
        if technology == Technology::Server && body.cors_origins.is_none() {
            updated.cors_origins.clear();
        }
    }
    if let Some(origins) = body.cors_origins {
        updated.cors_origins = origins;
    }
    check_cors_origins(updated.technology, &updated.cors_origins)
        .map_err(|reason| ApiError::invalid("cors_origins", reason))?;
    updated.updated_at = Timestamp::now();
    let audit = audit_by(
        &request.identity,
        AuditAction::ApplicationUpdated,
        &updated.id,
        updated.updated_at,
    );
    state
        .store
        .replace_application(&updated, current.status, &audit)
        .await?;
    Ok(ApiResponse::json(200, &ApplicationView::from(&updated)))
}

async fn archive<S: ApplicationStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let current = load(state, request).await?;
    let (archived, audit) = current.archive(&request.identity.author(Timestamp::now()))?;
    state
        .store
        .replace_application(&archived, current.status, &audit)
        .await?;
    tracing::info!(application_id = %archived.id, tenant = %request.identity.tenant, "application archived");
    Ok(ApiResponse::json(200, &ApplicationView::from(&archived)))
}

async fn load<S: ApplicationStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<Application, ApiError> {
    let id: ApplicationId = request.path_id()?;
    state
        .store
        .get_application(&request.identity.tenant, &id)
        .await?
        .ok_or(ApiError::NotFound {
            what: "application",
        })
}
