//! The handlers, one module per behaviour (issuing keys, changing them,
//! reading them, ...), whichever function packages it. Each is thin: parse
//! the request into domain types, ask the domain, write what it decided,
//! shape the answer.

use std::fmt::Display;
use std::sync::Arc;

use domain::{AuditAction, AuditEvent, Timestamp};
use store::{
    ApiKeyCharge, ApiKeyCreate, ApiKeyLastUse, ApiKeyLookup, ApiKeyRead, ApiKeyRotate, ApiKeyWrite,
    ApplicationStore, ArxStore, AuditLog, FeedbackStore, IdentityStore, ImportedKeyLookup,
    LeakReports, NamespaceStore, ReplayKeep, ReplayLookup, RoleStore, ServiceKeyStore, UsageLog,
};

use crate::http::{ApiRequest, ApiResponse, Identity};
use crate::problem::ApiError;
use crate::routes::Route;
use crate::state::AppState;

pub mod applications;
pub mod arx;
pub mod audit_events;
pub mod change_keys;
pub mod feedback;
mod idempotency;
pub mod identities;
mod import_csv;
pub mod import_keys;
pub mod issue_keys;
pub mod rate_limits;
pub mod ratelimit;
pub mod read_keys;
pub mod roles;
pub mod service_keys;
pub mod usage;
pub mod verification;
pub mod views;

/// Every store capability the whole API uses (the dev server serves it all).
pub trait ApiStore:
    ApiKeyCreate
    + ApiKeyRead
    + ApiKeyWrite
    + ApiKeyRotate
    + ApiKeyLookup
    + ApiKeyLastUse
    + ApiKeyCharge
    + ApplicationStore
    + ArxStore
    + FeedbackStore
    + AuditLog
    + LeakReports
    + ServiceKeyStore
    + IdentityStore
    + RoleStore
    + NamespaceStore
    + ReplayLookup
    + ReplayKeep
    + ImportedKeyLookup
    + UsageLog
    + 'static
{
}

impl<S> ApiStore for S where
    S: ApiKeyCreate
        + ApiKeyRead
        + ApiKeyWrite
        + ApiKeyRotate
        + ApiKeyLookup
        + ApiKeyLastUse
        + ApiKeyCharge
        + ApplicationStore
        + ArxStore
        + FeedbackStore
        + AuditLog
        + LeakReports
        + ServiceKeyStore
        + IdentityStore
        + RoleStore
        + NamespaceStore
        + ReplayLookup
        + ReplayKeep
        + ImportedKeyLookup
        + UsageLog
        + 'static
{
}

/// Serves any route with the handler its Lambda function runs.
pub async fn dispatch<S: ApiStore>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> ApiResponse {
    let changes_verdicts = route.changes_verdicts();
    let verdicts = Arc::clone(&state);
    let response = crate::respond(route, request, |route, request| async move {
        use Route::*;
        match route {
            // As the `create-api-key` Lambda serves them: one handler.
            CreateApiKey | RotateApiKey | ImportApiKeys => {
                issue_keys::handle(state, route, request).await
            }
            ListApiKeys | GetApiKey | GetApiKeyUsage | GetTenantUsage => {
                read_keys::handle(state, route, request).await
            }
            DeleteApiKey | DisableApiKey | EnableApiKey | UpdateApiKey => {
                change_keys::handle(state, route, request).await
            }
            SubmitFeedback => feedback::handle(state, route, request).await,
            ListApplications | CreateApplication | GetApplication | UpdateApplication
            | ArchiveApplication => applications::handle(state, route, request).await,
            ListArx | CreateArx | GetArx | UpdateArx | DisableArx | EnableArx | DeleteArx => {
                arx::handle(state, route, request).await
            }
            VerifyKey => verification::handle(state, route, request).await,
            ListAuditEvents => audit_events::handle(state, route, request).await,
            CreateServiceKey | ListServiceKeys | RevokeServiceKey => {
                service_keys::handle(state, route, request).await
            }
            CreateIdentity | ListIdentities | GetIdentity | UpdateIdentity | DeleteIdentity
            | GetIdentityUsage => identities::handle(state, route, request).await,
            CreateRole | ListRoles | GetRole | UpdateRole | DeleteRole => {
                roles::handle(state, route, request).await
            }
            CreateRateLimitNamespace
            | ListRateLimitNamespaces
            | GetRateLimitNamespace
            | UpdateRateLimitNamespace
            | DeleteRateLimitNamespace
            | ListRateLimitOverrides
            | SetRateLimitOverride
            | RemoveRateLimitOverride
            | GetRateLimitNamespaceUsage => rate_limits::handle(state, route, request).await,
            LimitRate | LimitRateMany => ratelimit::handle(state, route, request).await,
        }
    })
    .await;
    // In this process a revocation reaches the next verify (or the next
    // request with a revoked service key) at once; another process (a
    // Lambda instance) holds a verdict at most the cache TTL.
    let succeeded = (200..300).contains(&response.status);
    if changes_verdicts && succeeded {
        verdicts.verifier.verdicts.clear();
    }
    if route.revokes_callers() && succeeded {
        verdicts.verifier.service_keys.clear();
    }
    if route.changes_rate_limits() && succeeded {
        verdicts.verifier.rate_limits.clear();
    }
    response
}

/// Refuses a key's plain data (its permissions, owner and meta) that holds
/// one of this deployment's access or service keys: that data comes back
/// from every read and every `VALID` verdict, so a key pasted into it by
/// mistake would be shown again. Meta is judged by its decoded texts (member
/// names and values at any depth), so no escape hides a key; the refusal
/// names the field, never the key.
fn refuse_keys_in_plain_data(
    verifier: &verify::Verifier,
    permissions: Option<&domain::Permissions>,
    external_id: Option<&domain::ExternalId>,
    meta: Option<&domain::KeyMeta>,
) -> Result<(), ApiError> {
    for (index, name) in permissions.into_iter().flat_map(|p| p.iter()).enumerate() {
        refuse_key_in(verifier, &format!("permissions[{index}]"), name.as_str())?;
    }
    if let Some(owner) = external_id {
        refuse_key_in(verifier, "external_id", owner.as_str())?;
    }
    for text in meta.iter().flat_map(|meta| meta.texts()) {
        refuse_key_in(verifier, "meta", text)?;
    }
    Ok(())
}

/// Refuses `text`, sent as `field`, when it holds one of this deployment's
/// access or service keys: names and plain data are shown again by every
/// read, a secret never is. The refusal names the field, never the key.
/// Refuses roles the tenant has not made (400 naming the first): a key
/// given a role by a typo would silently hold less than meant.
async fn known_roles<S: store::RoleLookup>(
    state: &AppState<S>,
    tenant: &domain::TenantId,
    roles: &domain::KeyRoles,
) -> Result<(), ApiError> {
    for name in roles.iter() {
        if state.store.role_named(tenant, name).await?.is_none() {
            return Err(ApiError::InvalidField {
                field: "roles".into(),
                reason: format!("no role is named \"{name}\"; make it first (POST /v1/roles)"),
            });
        }
    }
    Ok(())
}

fn refuse_key_in(verifier: &verify::Verifier, field: &str, text: &str) -> Result<(), ApiError> {
    if verifier.finds_a_key_in(text) {
        return Err(ApiError::InvalidField {
            field: field.to_owned(),
            reason: "holds an access or service key: a key never goes in a name or a key's \
                     plain data, which every read shows again"
                .into(),
        });
    }
    Ok(())
}

/// The audit event of a change a signed-in user made.
/// A new key's `expires_at` as sent (ahead of `now`, at most ten years), or
/// a 400 naming the field; none when not sent.
fn expires_at(sent: Option<&str>, now: Timestamp) -> Result<Option<domain::ExpiresAt>, ApiError> {
    sent.map(|raw| domain::ExpiresAt::parse(raw, now))
        .transpose()
        .map_err(|reason| ApiError::invalid("expires_at", reason))
}

fn audit_by(
    identity: &Identity,
    action: AuditAction,
    target: impl Display,
    at: Timestamp,
) -> AuditEvent {
    identity.author(at).event(&identity.tenant, action, target)
}
