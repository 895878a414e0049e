//! Minting keys: `POST /v1/api-keys` (and `?dry_run=true`, the review
//! summary), and `POST /v1/api-keys/{id}/rotate` (a new key for the same
//! application and Arx; the old one works until its grace period ends); the
//! `create-api-key` function's third route, the import, is `import_keys`.

use std::sync::Arc;

use domain::{
    AccessKey, ApiKey, ApiKeyId, ApiKeyName, Application, ApplicationId, Arx, ArxId, ExpiresAt,
    ExternalId, GracePeriod, IpAllowlist, Issue, KeyLimits, KeyMeta, KeyRoles, KeySettings,
    NoticePeriod, Permissions, RotateWith, Timestamp, WholeNumber,
};
use serde::{Deserialize, Serialize};
use store::{
    ApiKeyCharge, ApiKeyCreate, ApiKeyRead, ApiKeyRotate, ApplicationStore, ArxStore, Conflict,
    ImportedKeyLookup, ReplayKeep, ReplayLookup, RoleLookup, StoreError, until_written,
};

use super::idempotency::Kept;
use super::views::{ApiKeyView, ApplicationView, ArxView};
use super::{refuse_key_in, refuse_keys_in_plain_data};
use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::queries::CreateApiKeyQuery;
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
    /// The tenant's roles it has (their permissions are granted beside its own).
    #[serde(default)]
    roles: KeyRoles,
    /// The addresses it may be used from (none: any).
    allowlist: Option<IpAllowlist>,
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
    roles: &'a KeyRoles,
    allowlist: Option<&'a IpAllowlist>,
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
    /// The new key's allowlist (`null`: none); the old key's when absent.
    #[serde(default, deserialize_with = "super::change_keys::given")]
    allowlist: Option<Option<IpAllowlist>>,
}

pub async fn handle<S>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError>
where
    S: ApiKeyCreate
        + ApiKeyRead
        + ApiKeyRotate
        + ApiKeyCharge
        + ApplicationStore
        + ArxStore
        + RoleLookup
        + ReplayLookup
        + ReplayKeep
        + ImportedKeyLookup,
{
    // The third route of the `create-api-key` function.
    if route == Route::ImportApiKeys {
        return super::import_keys::handle(state, route, request).await;
    }
    // A request sent before under its Idempotency-Key is answered as it
    // was (without the secret), before anything is read or hashed.
    let kept = Kept::of(&request, route)?;
    if let Some(kept) = &kept
        && let Some(replayed) = kept
            .replayed(&state.store, &request.identity.tenant)
            .await?
    {
        return Ok(replayed);
    }
    let answered = match route {
        Route::RotateApiKey => rotate(&state, &request, kept.as_ref()).await,
        _ => create(&state, &request, kept.as_ref()).await,
    };
    // Another request under the same key won the race: its answer is kept.
    match (answered, &kept) {
        (Err(ApiError::Replayed), Some(kept)) => kept
            .replayed(&state.store, &request.identity.tenant)
            .await?
            .ok_or(ApiError::Replayed),
        (answered, _) => answered,
    }
}

async fn create<S>(
    state: &AppState<S>,
    request: &ApiRequest,
    kept: Option<&Kept>,
) -> Result<ApiResponse, ApiError>
where
    S: ApiKeyCreate + ApplicationStore + ArxStore + RoleLookup,
{
    let query: CreateApiKeyQuery = request.query()?;
    let dry_run = query.dry_run.unwrap_or(false);
    let body: CreateApiKeyBody = request.json()?;
    let now = Timestamp::now();
    let expires_at = super::expires_at(body.expires_at.as_deref(), now)?;
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
    super::known_roles(state, &identity.tenant, &body.roles).await?;
    let name = body
        .name
        .unwrap_or_else(|| ApiKeyName::after(&application, &arx));

    if dry_run {
        let summary = Summary {
            dry_run: true,
            name: name.as_str(),
            expires_at: expires_at.map(ExpiresAt::at),
            limits,
            permissions: &body.permissions,
            roles: &body.roles,
            allowlist: body.allowlist.as_ref(),
            external_id: body.external_id.as_ref().map(ExternalId::as_str),
            meta: meta.as_ref().map(KeyMeta::as_object),
            application: ApplicationView::from(&application),
            arx: ArxView::from(&arx),
            will_create: "an API key bound to this application and Arx, and its access key, shown once",
        };
        return Ok(ApiResponse::json(200, &summary));
    }

    let (issue, access_key) = issue(state, request, &application, &arx).await?;
    let settings = KeySettings {
        name: Some(name),
        expires_at,
        limits,
        permissions: body.permissions,
        roles: body.roles,
        allowlist: body.allowlist,
        external_id: body.external_id,
        meta,
    };
    let (key, audit) = ApiKey::mint(&identity.tenant, issue, settings, &identity.author(now));
    let answer = created(&key, &access_key, &arx, now, state.expiry_notice);
    match kept {
        Some(kept) => {
            let replay = kept.replay(
                &identity.tenant,
                answer_without_secret(&key, &arx, now, state),
            );
            state
                .store
                .create_api_key_kept(&key, &audit, &replay)
                .await?;
        }
        None => state.store.create_api_key(&key, &audit).await?,
    }
    tracing::info!(key_id = %key.id, tenant = %identity.tenant, "api key created");
    Ok(answer)
}

/// A create's answer as a replay keeps it: the key record and its Arx's
/// address, never the access key.
fn answer_without_secret<S>(
    key: &ApiKey,
    arx: &Arx,
    now: Timestamp,
    state: &AppState<S>,
) -> serde_json::Value {
    serde_json::json!({
        "api_key": ApiKeyView::at(key, now, state.expiry_notice),
        "arx_url": arx.arx_url,
    })
}

/// A new key for the same application and Arx, with the same name and expiry
/// policy (the same lifetime, from now), answered like a create; the old key
/// works until `now + grace_seconds` (or its own expiry, if sooner).
async fn rotate<S>(
    state: &AppState<S>,
    request: &ApiRequest,
    kept: Option<&Kept>,
) -> Result<ApiResponse, ApiError>
where
    S: ApiKeyRead + ApiKeyRotate + ApiKeyCharge + ApplicationStore + ArxStore,
{
    let body: RotateBody = request.json_or_default()?;
    let grace = body
        .grace_seconds
        .map(|seconds| GracePeriod::seconds(seconds.0))
        .transpose()
        .map_err(|reason| ApiError::invalid("grace_seconds", reason))?
        .unwrap_or_default();
    refuse_keys_in_plain_data(&state.verifier, body.permissions.as_ref(), None, None)?;
    let id: ApiKeyId = request.path_id()?;
    let identity = &request.identity;
    let (old, rotation, access_key, arx) = until_written(|| async {
        let old = state
            .store
            .get_api_key(&identity.tenant, &id)
            .await?
            .ok_or(ApiError::NotFound { what: "API key" })?;
        let by = identity.author(Timestamp::now());
        // Refused before a secret is made and hashed: an ended or rotated
        // key is told so without the cost of a hash.
        old.rotation_allowed(by.at())?;
        let (application, arx) =
            accepting_catalog(state, request, &old.application_id, &old.arx_id).await?;
        let (issue, access_key) = issue(state, request, &application, &arx).await?;
        let with = RotateWith {
            permissions: body.permissions.clone(),
            allowlist: body.allowlist.clone(),
        };
        let rotation = old.rotate(issue, grace, with, &by)?;
        match kept {
            Some(kept) => {
                let new = &rotation.replacement;
                let answer = answer_without_secret(new, &arx, new.created_at, state);
                let replay = kept.replay(&identity.tenant, answer);
                state
                    .store
                    .rotate_api_key_kept(&old, &rotation, &replay)
                    .await?;
            }
            None => state.store.rotate_api_key(&old, &rotation).await?,
        }
        Ok::<_, ApiError>((old, rotation, access_key, arx))
    })
    .await?;
    let new = &rotation.replacement;
    tracing::info!(key_id = %old.id, new_key_id = %new.id, grace_seconds = grace.as_seconds(), tenant = %identity.tenant, "api key rotated");
    Ok(created(
        new,
        &access_key,
        &arx,
        new.created_at,
        state.expiry_notice,
    ))
}

/// The application and Arx a new key is for, refused early (409) when either
/// stopped accepting keys, so the review already says so; the store checks
/// both again inside its transaction, in case either changes meanwhile.
pub(super) async fn accepting_catalog<S: ApplicationStore + ArxStore>(
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

/// `201 {api_key, access_key, arx_url}`, never cached: the one answer that
/// holds the access key.
fn created(
    key: &ApiKey,
    access_key: &AccessKey,
    arx: &Arx,
    now: Timestamp,
    notice: NoticePeriod,
) -> ApiResponse {
    let created = Created {
        api_key: ApiKeyView::at(key, now, notice),
        access_key: access_key.expose_secret(),
        arx_url: &arx.arx_url,
    };
    ApiResponse::json(201, &created).with_header("cache-control", "no-store")
}

/// A new key's id and secret: the access key (its only plaintext, for the
/// answer) and what the record keeps of it (the hash).
async fn issue<'a, S>(
    state: &AppState<S>,
    request: &ApiRequest,
    application: &'a Application,
    arx: &'a Arx,
) -> Result<(Issue<'a>, AccessKey), ApiError> {
    let (id, access_key) = AccessKey::generate(&state.verifier.key_prefix);
    let (access_key, secret_hash) = state.verifier.hashing.hash(access_key).await?;
    let issue = Issue {
        id,
        secret_hash,
        application,
        arx,
        created_by: request.identity.user.clone(),
    };
    Ok((issue, access_key))
}
