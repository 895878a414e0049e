//! `/v1/arx`: list, create, read, update, disable, enable, delete.

use std::sync::Arc;

use domain::{Arx, ArxId, ArxName, ArxStatus, AuditAction, Label, Purpose, Timestamp};
use serde::Deserialize;
use store::ArxStore;

use super::views::{ArxView, PageView};
use super::{audit_by, refuse_key_in};
use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::queries::ArxQuery;
use crate::routes::Route;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: ArxName,
    purpose: Purpose,
    provider: Label,
    region: Label,
    encryption_method: Label,
    rotation_cycle: Label,
    plan: Label,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    name: Option<ArxName>,
    purpose: Option<Purpose>,
    provider: Option<Label>,
    region: Option<Label>,
    encryption_method: Option<Label>,
    rotation_cycle: Option<Label>,
    plan: Option<Label>,
}

impl CreateBody {
    /// Every text of an Arx is shown again by every read: none holds a key.
    fn refuse_keys(&self, verifier: &verify::Verifier) -> Result<(), ApiError> {
        refuse_keys_in_texts(
            verifier,
            [
                ("name", Some(self.name.as_str())),
                ("provider", Some(self.provider.as_str())),
                ("region", Some(self.region.as_str())),
                ("encryption_method", Some(self.encryption_method.as_str())),
                ("rotation_cycle", Some(self.rotation_cycle.as_str())),
                ("plan", Some(self.plan.as_str())),
            ],
        )
    }
}

impl UpdateBody {
    /// As [`CreateBody::refuse_keys`], for the fields given.
    fn refuse_keys(&self, verifier: &verify::Verifier) -> Result<(), ApiError> {
        refuse_keys_in_texts(
            verifier,
            [
                ("name", self.name.as_ref().map(ArxName::as_str)),
                ("provider", self.provider.as_ref().map(Label::as_str)),
                ("region", self.region.as_ref().map(Label::as_str)),
                (
                    "encryption_method",
                    self.encryption_method.as_ref().map(Label::as_str),
                ),
                (
                    "rotation_cycle",
                    self.rotation_cycle.as_ref().map(Label::as_str),
                ),
                ("plan", self.plan.as_ref().map(Label::as_str)),
            ],
        )
    }
}

/// [`refuse_key_in`] for each text given, by its field.
fn refuse_keys_in_texts<'a>(
    verifier: &verify::Verifier,
    texts: impl IntoIterator<Item = (&'static str, Option<&'a str>)>,
) -> Result<(), ApiError> {
    texts
        .into_iter()
        .filter_map(|(field, text)| Some((field, text?)))
        .try_for_each(|(field, text)| refuse_key_in(verifier, field, text))
}

pub async fn handle<S: ArxStore>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    match route {
        Route::ListArx => list(&state, &request).await,
        Route::CreateArx => create(&state, &request).await,
        Route::GetArx => {
            let arx = load(&state, &request).await?;
            Ok(ApiResponse::json(200, &ArxView::from(&arx)))
        }
        Route::UpdateArx => update(&state, &request).await,
        Route::DisableArx => {
            let arx = change_status(&state, &request, ArxStatus::Disabled).await?;
            Ok(ApiResponse::json(200, &ArxView::from(&arx)))
        }
        Route::EnableArx => {
            let arx = change_status(&state, &request, ArxStatus::Active).await?;
            Ok(ApiResponse::json(200, &ArxView::from(&arx)))
        }
        Route::DeleteArx => {
            change_status(&state, &request, ArxStatus::Deleted).await?;
            Ok(ApiResponse::no_content())
        }
        _ => Err(ApiError::NoRoute),
    }
}

async fn list<S: ArxStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let page: ArxQuery = request.query()?;
    let page = state
        .store
        .list_arx(
            &request.identity.tenant,
            page.limit.unwrap_or_default(),
            page.cursor.as_ref(),
        )
        .await?;
    Ok(ApiResponse::json(200, &PageView::of(&page, ArxView::from)))
}

async fn create<S: ArxStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: CreateBody = request.json()?;
    body.refuse_keys(&state.verifier)?;
    let identity = &request.identity;
    let now = Timestamp::now();
    let id = ArxId::new();
    let arx = Arx {
        arx_url: format!("{}/{}", state.arx_base_url, id.as_str()),
        id,
        tenant_id: identity.tenant.clone(),
        name: body.name,
        purpose: body.purpose,
        provider: body.provider,
        region: body.region,
        encryption_method: body.encryption_method,
        rotation_cycle: body.rotation_cycle,
        plan: body.plan,
        status: ArxStatus::Active,
        created_at: now,
        created_by: identity.user.clone(),
        updated_at: now,
    };
    let audit = audit_by(identity, AuditAction::ArxCreated, &arx.id, now);
    state.store.create_arx(&arx, &audit).await?;
    tracing::info!(arx_id = %arx.id, tenant = %identity.tenant, "arx created");
    Ok(ApiResponse::json(201, &ArxView::from(&arx)))
}

async fn update<S: ArxStore>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: UpdateBody = request.json()?;
    body.refuse_keys(&state.verifier)?;
    let current = load(state, request).await?;
    current.changeable()?;
    let mut updated = current.clone();
    let mut changed = false;
    let mut set = |slot: &mut Label, value: Option<Label>| {
        if let Some(value) = value {
            *slot = value;
            changed = true;
        }
    };
    set(&mut updated.provider, body.provider);
    set(&mut updated.region, body.region);
    set(&mut updated.encryption_method, body.encryption_method);
    set(&mut updated.rotation_cycle, body.rotation_cycle);
    set(&mut updated.plan, body.plan);
    if let Some(name) = body.name {
        updated.name = name;
        changed = true;
    }
    if let Some(purpose) = body.purpose {
        updated.purpose = purpose;
        changed = true;
    }
    if !changed {
        return Err(ApiError::MalformedBody {
            detail: "nothing to update: give at least one field".into(),
            field: None,
        });
    }
    updated.updated_at = Timestamp::now();
    let audit = audit_by(
        &request.identity,
        AuditAction::ArxUpdated,
        &updated.id,
        updated.updated_at,
    );
    state
        .store
        .replace_arx(&updated, current.status, &audit)
        .await?;
    Ok(ApiResponse::json(200, &ArxView::from(&updated)))
}

/// Moves the Arx to `to`, if its status allows (`Arx::becomes`); 409 otherwise.
async fn change_status<S: ArxStore>(
    state: &AppState<S>,
    request: &ApiRequest,
    to: ArxStatus,
) -> Result<Arx, ApiError> {
    let current = load(state, request).await?;
    let (changed, audit) = current.becomes(to, &request.identity.author(Timestamp::now()))?;
    state
        .store
        .replace_arx(&changed, current.status, &audit)
        .await?;
    tracing::info!(arx_id = %changed.id, status = to.as_str(), tenant = %request.identity.tenant, "arx status changed");
    Ok(changed)
}

async fn load<S: ArxStore>(state: &AppState<S>, request: &ApiRequest) -> Result<Arx, ApiError> {
    let id: ArxId = request.path_id()?;
    state
        .store
        .get_arx(&request.identity.tenant, &id)
        .await?
        .ok_or(ApiError::NotFound { what: "Arx" })
}
