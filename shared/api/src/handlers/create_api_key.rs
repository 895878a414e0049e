//! Minting keys: `POST /v1/api-keys` (and `?dry_run=true`, the review
//! summary), and `POST /v1/api-keys/{id}/rotate` (a new key for the same
//! application and Arx; the old one works until its grace period ends).

use std::sync::Arc;

use domain::{
    AccessKey, ApiKey, ApiKeyId, ApiKeyName, ApiKeyStatus, Application, ApplicationId, Arx, ArxId,
    AuditAction, ExpiresAt, ExternalId, InvalidValue, KeyLimits, KeyMeta, NoticePeriod,
    Permissions, Timestamp, WholeNumber,
};
use serde::{Deserialize, Serialize};
use store::{
    ApiKeyCharge, ApiKeyCreate, ApiKeyRead, ApiKeyRotate, ApplicationStore, ArxStore, Conflict,
    StoreError,
};

use super::views::{ApiKeyView, ApplicationView, ArxView};
use super::{audit_by, refuse_key_in, refuse_keys_in_plain_data, until_written};
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
    /// A rate and/or credits, charged at every verify.
    limits: Option<KeyLimits>,
    /// What the key may do (a verify's permission query asks these).
    #[serde(default)]
    permissions: Permissions,
    /// Who owns it in the customer's own system.
    external_id: Option<ExternalId>,
    /// The customer's own JSON object about it (not a secret: it is returned).
    /// Read as the text sent, so its numbers are judged as written.
    meta: Option<Box<serde_json::value::RawValue>>,
}

/// `meta` as sent: an object of at most 4 KB whose numbers come back as
/// sent, or a 400 naming the field. (`null` reaches here as no meta.)
pub(super) fn meta_of(sent: &serde_json::value::RawValue) -> Result<KeyMeta, ApiError> {
    KeyMeta::parse(sent.get()).map_err(|reason| ApiError::invalid("meta", reason))
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
    limits: Option<KeyLimits>,
    permissions: &'a Permissions,
    external_id: Option<&'a str>,
    meta: Option<&'a serde_json::Map<String, serde_json::Value>>,
    application: ApplicationView<'a>,
    arx: ArxView<'a>,
    will_create: &'static str,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    grace_seconds: Option<WholeNumber>,
    /// The new key's permissions; the old key's when absent.
    permissions: Option<Permissions>,
}

/// How long the old key keeps working after a rotation, unless asked otherwise.
const DEFAULT_GRACE_SECONDS: i64 = 24 * 60 * 60;
const MAX_GRACE_SECONDS: i64 = 7 * 24 * 60 * 60;

pub async fn handle<S>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError>
where
    S: ApiKeyCreate + ApiKeyRead + ApiKeyRotate + ApiKeyCharge + ApplicationStore + ArxStore,
{
    match route {
        Route::RotateApiKey => rotate(&state, &request).await,
        _ => create(&state, &request).await,
    }
}

async fn create<S>(state: &AppState<S>, request: &ApiRequest) -> Result<ApiResponse, ApiError>
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
    let limits = body.limits.and_then(KeyLimits::or_none);
    let meta = body.meta.as_deref().map(meta_of).transpose()?;
    if let Some(name) = &body.name {
        refuse_key_in(&state.verifier, "name", name.as_str())?;
    }
    refuse_keys_in_plain_data(
        &state.verifier,
        Some(&body.permissions),
        body.external_id.as_ref(),
        meta.as_ref(),
    )?;
    let identity = &request.identity;
    let (application, arx) =
        accepting_catalog(state, request, &body.application_id, &body.arx_id).await?;
    let name = match body.name {
        Some(name) => name,
        None => default_name(&application, &arx)?,
    };

    if dry_run {
        let summary = Summary {
            dry_run: true,
            name: name.as_str(),
            expires_at: expires_at.map(ExpiresAt::at),
            limits,
            permissions: &body.permissions,
            external_id: body.external_id.as_ref().map(ExternalId::as_str),
            meta: meta.as_ref().map(KeyMeta::as_object),
            application: ApplicationView::from(&application),
            arx: ArxView::from(&arx),
            will_create: "an API key bound to this application and Arx, and its access key, shown once",
        };
        return Ok(ApiResponse::json(200, &summary));
    }

    let mut minted = mint(state, request, &application, &arx, name, expires_at, now).await?;
    minted.key.limits = limits;
    minted.key.permissions = body.permissions;
    minted.key.external_id = body.external_id;
    minted.key.meta = meta;
    let audit = audit_by(identity, AuditAction::ApiKeyCreated, &minted.key.id, now);
    state.store.create_api_key(&minted.key, &audit).await?;
    tracing::info!(key_id = %minted.key.id, tenant = %identity.tenant, "api key created");
    Ok(minted.created(&arx, now, state.expiry_notice))
}

/// A new key for the same application and Arx, with the same name and expiry
/// policy (the same lifetime, from now), answered like a create; the old key
/// works until `now + grace_seconds` (or its own expiry, if sooner).
async fn rotate<S>(state: &AppState<S>, request: &ApiRequest) -> Result<ApiResponse, ApiError>
where
    S: ApiKeyRead + ApiKeyRotate + ApiKeyCharge + ApplicationStore + ArxStore,
{
    let body: RotateBody = request.json_or_default()?;
    let grace = body
        .grace_seconds
        .map_or(DEFAULT_GRACE_SECONDS.into(), |seconds| seconds.0);
    let Some(grace) = i64::try_from(grace)
        .ok()
        .filter(|grace| (0..=MAX_GRACE_SECONDS).contains(grace))
    else {
        return Err(ApiError::InvalidField {
            field: "grace_seconds".into(),
            reason: format!(
                "must be a whole number of seconds from 0 to {MAX_GRACE_SECONDS} (7 days)"
            ),
        });
    };
    refuse_keys_in_plain_data(&state.verifier, body.permissions.as_ref(), None, None)?;
    let id: ApiKeyId = request.path_id()?;
    let identity = &request.identity;
    let (old, minted, arx) = until_written(|| async {
        let old = state
            .store
            .get_api_key(&identity.tenant, &id)
            .await?
            .ok_or(ApiError::NotFound { what: "API key" })?;
        let now = Timestamp::now();
        if old.rotated_to.is_some() {
            return Err(ApiError::conflict(
                "already_rotated",
                "this API key was rotated: rotate the key that replaced it",
            ));
        }
        let status = old.status_at(now);
        if !matches!(status, ApiKeyStatus::Active | ApiKeyStatus::Disabled) {
            return Err(ApiError::conflict(
                "api_key_status",
                format!("the API key is {} and cannot be rotated", status.as_str()),
            ));
        }
        let (application, arx) =
            accepting_catalog(state, request, &old.application_id, &old.arx_id).await?;
        let expires_at = old
            .expires_at
            .map(|end| end.same_lifetime(old.created_at, now));
        let mut minted = mint(
            state,
            request,
            &application,
            &arx,
            old.name.clone(),
            expires_at,
            now,
        )
        .await?;
        // One balance for the whole chain: the new key is charged against the
        // counters the old one was, which go on as they stand (a rotation is
        // no way to a fresh balance), and it keeps the old key's limits.
        let balance = old.balance_key().clone();
        minted.key.rotated_from = Some(old.id.clone());
        minted.key.limits = old.limits;
        minted.key.balance = Some(balance.clone());
        // What the key is for goes on with it: its permissions (unless the
        // rotation sets others), its owner and its meta.
        minted.key.permissions = body
            .permissions
            .clone()
            .unwrap_or_else(|| old.permissions.clone());
        minted.key.external_id = old.external_id.clone();
        minted.key.meta = old.meta.clone();
        let grace_end = now.plus(time::Duration::seconds(grace));
        let old_end = old
            .expires_at
            .map_or(grace_end, |end| end.at().min(grace_end));
        let rotated = ApiKey {
            expires_at: Some(ExpiresAt::ending(old_end)),
            rotated_to: Some(minted.key.id.clone()),
            balance: Some(balance),
            ..old.clone()
        };
        // One event on each key, so each one's history says where it went
        // or came from (the audit log is searched by object id).
        let audit = [
            audit_by(identity, AuditAction::ApiKeyRotated, &old.id, now)
                .with_detail(format!("replaced by {}", minted.key.id)),
            audit_by(identity, AuditAction::ApiKeyCreated, &minted.key.id, now)
                .with_detail(format!("by rotation, replacing {}", old.id)),
        ];
        state
            .store
            .rotate_api_key(&old, &rotated, &minted.key, &audit)
            .await?;
        Ok((old, minted, arx))
    })
    .await?;
    tracing::info!(key_id = %old.id, new_key_id = %minted.key.id, grace_seconds = grace, tenant = %identity.tenant, "api key rotated");
    Ok(minted.created(&arx, minted.key.created_at, state.expiry_notice))
}

/// The application and Arx a new key is for, refused early (409) when either
/// stopped accepting keys, so the review already says so; the store checks
/// both again inside its transaction, in case either changes meanwhile.
async fn accepting_catalog<S: ApplicationStore + ArxStore>(
    state: &AppState<S>,
    request: &ApiRequest,
    application_id: &ApplicationId,
    arx_id: &ArxId,
) -> Result<(Application, Arx), ApiError> {
    let tenant = &request.identity.tenant;
    let (application, arx) = tokio::try_join!(
        state.store.get_application(tenant, application_id),
        state.store.get_arx(tenant, arx_id),
    )?;
    let application = application.ok_or(ApiError::UnknownReference {
        field: "application_id",
        what: "application",
    })?;
    let arx = arx.ok_or(ApiError::UnknownReference {
        field: "arx_id",
        what: "Arx",
    })?;
    if !application.accepts_new_keys() {
        return Err(StoreError::from(Conflict::ApplicationNotAcceptingKeys).into());
    }
    if !arx.accepts_new_keys() {
        return Err(StoreError::from(Conflict::ArxNotAcceptingKeys).into());
    }
    Ok((application, arx))
}

/// A key that is not stored yet, and its access key (its only plaintext).
struct Minted {
    key: ApiKey,
    access_key: AccessKey,
}

impl Minted {
    /// `201 {api_key, access_key, arx_url}`, never cached.
    fn created(&self, arx: &Arx, now: Timestamp, notice: NoticePeriod) -> ApiResponse {
        let created = Created {
            api_key: ApiKeyView::at(&self.key, now, notice),
            access_key: self.access_key.expose_secret(),
            arx_url: &arx.arx_url,
        };
        ApiResponse::json(201, &created).with_header("cache-control", "no-store")
    }
}

async fn mint<S>(
    state: &AppState<S>,
    request: &ApiRequest,
    application: &Application,
    arx: &Arx,
    name: ApiKeyName,
    expires_at: Option<ExpiresAt>,
    now: Timestamp,
) -> Result<Minted, ApiError> {
    let (id, access_key) = AccessKey::generate(&state.verifier.key_prefix);
    let (access_key, secret_hash) = state.verifier.hashing.hash(access_key).await?;
    let identity = &request.identity;
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
        rotated_from: None,
        rotated_to: None,
        expiry_notice_sent_at: None,
        limits: None,
        disabled_reason: None,
        permissions: Default::default(),
        external_id: None,
        meta: None,
        secret_hash,
        balance: None,
        revision: 0,
    };
    Ok(Minted { key, access_key })
}

/// "Payments · Prod Sydney", cut to the longest name a key may have.
fn default_name(application: &Application, arx: &Arx) -> Result<ApiKeyName, ApiError> {
    let full = format!("{} · {}", application.name, arx.name);
    let cut: String = full.chars().take(ApiKeyName::MAX_CHARS).collect();
    ApiKeyName::parse(&cut).map_err(ApiError::internal)
}
