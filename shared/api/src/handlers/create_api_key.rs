//! `POST /v1/api-keys` (and `?dry_run=true`, the review summary).

use std::sync::Arc;

use domain::{
    AccessKey, ApiKey, ApiKeyName, ApiKeyStatus, Application, ApplicationId, Arx, ArxId,
    AuditAction, ExpiresAt, InvalidValue, Timestamp,
};
use serde::{Deserialize, Serialize};
use store::{ApiKeyCreate, ApplicationStore, ArxStore, Conflict, StoreError};

use super::audit_by;
use super::views::{ApiKeyView, ApplicationView, ArxView};
use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::routes::Route;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateApiKeyBody {
    application_id: ApplicationId,
    arx_id: ArxId,
    name: Option<ApiKeyName>,
    expires_at: Option<String>,
}

#[derive(Serialize)]
struct Created<'a> {
    api_key: ApiKeyView<'a>,
    access_key: &'a str,
    arx_url: &'a str,
}

/// What the user reviews before creating: nothing is written.
#[derive(Serialize)]
struct Summary<'a> {
    dry_run: bool,
    name: &'a str,
    expires_at: Option<Timestamp>,
    application: ApplicationView<'a>,
    arx: ArxView<'a>,
    will_create: &'static str,
}

pub async fn handle<S>(
    state: Arc<AppState<S>>,
    _route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError>
where
    S: ApiKeyCreate + ApplicationStore + ArxStore,
{
    let params = request.query_params(Route::CreateApiKey.query_parameters())?;
    let dry_run = match params.get("dry_run").copied() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::invalid(
                "dry_run",
                InvalidValue::NotOneOf {
                    allowed: "true, false",
                },
            ));
        }
    };
    let body: CreateApiKeyBody = request.json()?;
    let now = Timestamp::now();
    let expires_at = body
        .expires_at
        .map(|raw| ExpiresAt::parse(&raw, now))
        .transpose()
        .map_err(|reason| ApiError::invalid("expires_at", reason))?;
    let identity = &request.identity;
    let (application, arx) = tokio::try_join!(
        state
            .store
            .get_application(&identity.tenant, &body.application_id),
        state.store.get_arx(&identity.tenant, &body.arx_id),
    )?;
    let application = application.ok_or(ApiError::UnknownReference {
        field: "application_id",
        what: "application",
    })?;
    let arx = arx.ok_or(ApiError::UnknownReference {
        field: "arx_id",
        what: "Arx",
    })?;
    // Refuse early so the review already says so; the store re-checks both
    // inside the create transaction, in case either changes meanwhile.
    if !application.accepts_new_keys() {
        return Err(StoreError::from(Conflict::ApplicationNotAcceptingKeys).into());
    }
    if !arx.accepts_new_keys() {
        return Err(StoreError::from(Conflict::ArxNotAcceptingKeys).into());
    }
    let name = match body.name {
        Some(name) => name,
        None => default_name(&application, &arx)?,
    };

    if dry_run {
        let summary = Summary {
            dry_run: true,
            name: name.as_str(),
            expires_at: expires_at.map(ExpiresAt::at),
            application: ApplicationView::from(&application),
            arx: ArxView::from(&arx),
            will_create: "an API key bound to this application and Arx, and its access key, shown once",
        };
        return Ok(ApiResponse::json(200, &summary));
    }

    let (id, access_key) = AccessKey::generate(&state.key_prefix);
    let hasher = state.hasher.clone();
    // argon2id costs ~20 ms of CPU and 19 MiB: off the async worker threads,
    // and never more at once than the gate allows.
    let (access_key, hashed) = state
        .hashing
        .run(move || {
            let hashed = hasher.hash(&access_key);
            (access_key, hashed)
        })
        .await?;
    let key = ApiKey {
        id,
        tenant_id: identity.tenant.clone(),
        name,
        application_id: application.id.clone(),
        application_name: application.name.clone(),
        arx_id: arx.id.clone(),
        arx_name: arx.name.clone(),
        arx_purpose: arx.purpose,
        status: ApiKeyStatus::Active,
        created_at: now,
        created_by: identity.user.clone(),
        expires_at,
        deleted_at: None,
        deleted_by: None,
        last_used_at: None,
        secret_hash: hashed.map_err(ApiError::internal)?,
    };
    let audit = audit_by(identity, AuditAction::ApiKeyCreated, &key.id, now);
    state.store.create_api_key(&key, &audit).await?;
    tracing::info!(key_id = %key.id, tenant = %identity.tenant, "api key created");

    let created = Created {
        api_key: ApiKeyView::at(&key, now),
        access_key: access_key.expose_secret(),
        arx_url: &arx.arx_url,
    };
    Ok(ApiResponse::json(201, &created).with_header("cache-control", "no-store"))
}

/// "Payments · Prod Sydney", cut to the longest name a key may have.
fn default_name(application: &Application, arx: &Arx) -> Result<ApiKeyName, ApiError> {
    let full = format!("{} · {}", application.name, arx.name);
    let cut: String = full.chars().take(ApiKeyName::MAX_CHARS).collect();
    ApiKeyName::parse(&cut).map_err(ApiError::internal)
}
