//! `POST /v1/api-keys/import`: the keys a team issued before it came here,
//! as it stored them, for one application and Arx; at most 100 a call, as
//! JSON (`{application_id, arx_id, scheme, keys: [...]}`) or as one CSV file
//! (`text/csv`, its application, Arx and scheme in the query). Each item is
//! imported or refused on its own, with the reason, and each import is one
//! transaction (the key, its lookup items, the counts, the audit event):
//! nothing is half-imported. `?dry_run=true` checks every item and imports
//! nothing. A key is imported once: the same key (or a salted key with the
//! same lookup prefix) again is refused, so a retried import is safe, and
//! an `Idempotency-Key` answers a retry with the first answer.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use domain::{
    AccessKey, ApiKey, ApiKeyId, ApiKeyName, ApplicationId, ArxId, ExternalId, ImportPrefix,
    ImportScheme, ImportedHash, IpAllowlist, Issue, KeyLimits, KeyLocator, KeySettings,
    Permissions, PrefixedId, RoleName, Timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use store::{
    ApiKeyCreate, ApplicationStore, ArxStore, Conflict, ImportedKeyLookup, ReplayKeep,
    ReplayLookup, RoleLookup, StoreError,
};

use super::idempotency::Kept;
use super::views::ApiKeyView;
use super::{refuse_key_in, refuse_keys_in_plain_data};
use crate::http::{ApiRequest, ApiResponse, BodyMedia};
use crate::problem::ApiError;
use crate::queries::ImportApiKeysQuery;
use crate::routes::Route;
use crate::state::AppState;

/// The most keys one call imports.
pub const MAX_KEYS: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    application_id: ApplicationId,
    arx_id: ArxId,
    /// How every item was stored, unless the item says.
    scheme: Option<ImportScheme>,
    /// Each read on its own: one that does not fit is refused alone.
    keys: Vec<Box<RawValue>>,
}

/// The items may hold plaintext keys: Debug says how many, never what.
impl std::fmt::Debug for ImportBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportBody")
            .field("application_id", &self.application_id)
            .field("arx_id", &self.arx_id)
            .field("scheme", &self.scheme)
            .field("keys", &self.keys.len())
            .finish()
    }
}

/// One key as the team had it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportItem {
    scheme: Option<ImportScheme>,
    /// The key itself (`plaintext`): hashed at once, never written.
    key: Option<PlainKey>,
    /// What the team stored (every other scheme).
    hash: Option<String>,
    /// The key's text before its first `.` (salted schemes).
    prefix: Option<String>,
    name: Option<ApiKeyName>,
    expires_at: Option<String>,
    limits: Option<KeyLimits>,
    #[serde(default)]
    permissions: Permissions,
    #[serde(default)]
    roles: domain::KeyRoles,
    allowlist: Option<IpAllowlist>,
    external_id: Option<ExternalId>,
    meta: Option<Box<RawValue>>,
    /// `active` (the default) or `disabled`.
    status: Option<ImportedStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ImportedStatus {
    Active,
    Disabled,
}

/// A plaintext key in an import: never printed.
struct PlainKey(AccessKey);

impl std::fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainKey([REDACTED])")
    }
}

impl<'de> Deserialize<'de> for PlainKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Self(AccessKey::imported(&text)))
    }
}

/// What became of one item.
#[derive(Serialize)]
struct ItemOutcome<'a> {
    /// Its place in the batch (0 first; a CSV's first row of keys is 0).
    index: usize,
    outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<ApiKeyView<'a>>,
    /// Why it was refused: the API's code, the field and the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Imported,
    /// A dry run's: it would be imported.
    Ready,
    Refused,
}

#[derive(Serialize)]
struct ImportAnswer<'a> {
    dry_run: bool,
    /// Imported (or, in a dry run, ready to be).
    accepted: usize,
    refused: usize,
    items: Vec<ItemOutcome<'a>>,
}

/// An item checked: everything the key will be, but its hash when it came
/// as plaintext (hashed only when it is imported, not in a dry run).
struct Checked {
    index: usize,
    stored: Stored,
    settings: KeySettings,
    disabled: bool,
    scheme: ImportScheme,
}

enum Stored {
    Plaintext(AccessKey, KeyLocator),
    Hashed(ImportedHash),
}

impl Stored {
    fn locator(&self) -> &KeyLocator {
        match self {
            Self::Plaintext(_, locator) => locator,
            Self::Hashed(imported) => &imported.locator,
        }
    }
}

/// Why one item was refused.
struct Refused {
    index: usize,
    error: ApiError,
}

pub async fn handle<S>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError>
where
    S: ApiKeyCreate
        + ApplicationStore
        + ArxStore
        + RoleLookup
        + ImportedKeyLookup
        + ReplayLookup
        + ReplayKeep,
{
    let query: ImportApiKeysQuery = request.query()?;
    let dry_run = query.dry_run.unwrap_or(false);
    let kept = if dry_run {
        None
    } else {
        Kept::of(&request, route)?
    };
    let tenant = &request.identity.tenant;
    if let Some(kept) = &kept
        && let Some(replayed) = kept.replayed(&state.store, tenant).await?
    {
        return Ok(replayed);
    }
    let body = read_body(&request, &query)?;
    let (application, arx) =
        super::issue_keys::accepting_catalog(&state, &request, &body.application_id, &body.arx_id)
            .await?;
    let now = Timestamp::now();
    let mut checked = Vec::new();
    let mut refused = Vec::new();
    let mut locators = HashSet::new();
    for (index, raw) in body.keys.iter().enumerate() {
        match check_item(&state, raw, body.scheme, now) {
            Ok(item) if !locators.insert(item.stored.locator().clone()) => refused.push(Refused {
                index,
                error: ApiError::conflict(
                    "duplicate_in_batch",
                    "the same key (or lookup prefix) is earlier in this import",
                ),
            }),
            Ok(item) => checked.push(Checked { index, ..item }),
            Err(error) => refused.push(Refused { index, error }),
        }
    }
    // Each role named once, whatever the number of keys that name it.
    let roles: BTreeSet<&RoleName> = checked
        .iter()
        .flat_map(|item| item.settings.roles.iter())
        .collect();
    let mut unknown_roles = HashSet::new();
    for name in roles {
        if state.store.role_named(tenant, name).await?.is_none() {
            unknown_roles.insert(name.clone());
        }
    }
    let (checked, without_roles): (Vec<_>, Vec<_>) = checked.into_iter().partition(|item| {
        item.settings
            .roles
            .iter()
            .all(|name| !unknown_roles.contains(name))
    });
    refused.extend(without_roles.into_iter().map(|item| Refused {
        index: item.index,
        error: ApiError::InvalidField {
            field: "roles".into(),
            reason: "must name roles that exist: make them first".into(),
        },
    }));

    let by = request.identity.author(now);
    // Each accepted item, and its key (none in a dry run: nothing is made).
    let mut keys: Vec<(usize, Option<ApiKey>)> = Vec::new();
    for item in checked {
        let index = item.index;
        let imported = if dry_run {
            match state.store.imported_key(item.stored.locator()).await? {
                Some(_) => Err(StoreError::from(Conflict::AlreadyImported).into()),
                None => Ok(None),
            }
        } else {
            import_one(&state, &request, item, &application, &arx, &by)
                .await
                .map(Some)
        };
        match imported {
            Ok(key) => keys.push((index, key)),
            Err(error) => refused.push(Refused { index, error }),
        }
    }
    if !dry_run && !keys.is_empty() {
        state.verifier.imports.record();
        let count = u64::try_from(keys.len()).unwrap_or(u64::MAX);
        telemetry::metrics::KEYS_IMPORTED.add("", count);
    }
    tracing::info!(
        tenant = %tenant,
        accepted = keys.len(),
        refused = refused.len(),
        dry_run,
        "api keys imported"
    );

    let mut items: Vec<ItemOutcome<'_>> = keys
        .iter()
        .map(|(index, key)| ItemOutcome {
            index: *index,
            outcome: if dry_run {
                Outcome::Ready
            } else {
                Outcome::Imported
            },
            api_key: key
                .as_ref()
                .map(|key| ApiKeyView::at(key, now, state.expiry_notice)),
            code: None,
            field: None,
            reason: None,
        })
        .chain(refused.iter().map(|refused| ItemOutcome {
            index: refused.index,
            outcome: Outcome::Refused,
            api_key: None,
            code: Some(refused.error.code()),
            field: refused.error.field().map(str::to_owned),
            reason: Some(refused.error.to_string()),
        }))
        .collect();
    items.sort_by_key(|item| item.index);
    let answer = ImportAnswer {
        dry_run,
        accepted: keys.len(),
        refused: refused.len(),
        items,
    };
    let json = serde_json::to_value(&answer).map_err(ApiError::internal)?;
    if let Some(kept) = &kept {
        match state
            .store
            .keep_replay(&kept.replay(tenant, json.clone()))
            .await
        {
            // Another call under the same key ran at once: each key was
            // imported by one of the two, and this answer says which.
            Ok(()) | Err(StoreError::Conflict(Conflict::Replayed)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(ApiResponse::json(200, &json))
}

/// The body, from JSON or from a CSV file (its rows made into the JSON
/// items they stand for); at most [`MAX_KEYS`] keys.
fn read_body(request: &ApiRequest, query: &ImportApiKeysQuery) -> Result<ImportBody, ApiError> {
    let body = match request.media {
        BodyMedia::Json => {
            if query.application_id.is_some() || query.arx_id.is_some() || query.scheme.is_some() {
                return Err(ApiError::InvalidField {
                    field: "application_id".into(),
                    reason: "must be in the body of a JSON import (the query names it only for a CSV file)"
                        .into(),
                });
            }
            request.json::<ImportBody>()?
        }
        BodyMedia::Csv => {
            let missing = |field: &str| ApiError::InvalidField {
                field: field.into(),
                reason: "must be given in the query for a CSV file".into(),
            };
            ImportBody {
                application_id: query
                    .application_id
                    .clone()
                    .ok_or_else(|| missing("application_id"))?,
                arx_id: query.arx_id.clone().ok_or_else(|| missing("arx_id"))?,
                scheme: Some(query.scheme.ok_or_else(|| missing("scheme"))?),
                keys: super::import_csv::items(&request.body)?,
            }
        }
    };
    if body.keys.is_empty() || body.keys.len() > MAX_KEYS {
        return Err(ApiError::InvalidField {
            field: "keys".into(),
            reason: format!("must hold 1 to {MAX_KEYS} keys"),
        });
    }
    Ok(body)
}

/// One item read and checked against everything but the store.
fn check_item<S>(
    state: &AppState<S>,
    raw: &RawValue,
    batch_scheme: Option<ImportScheme>,
    now: Timestamp,
) -> Result<Checked, ApiError> {
    crate::http::refuse_misplaced_lists(raw.get().as_bytes())?;
    let deserializer = &mut serde_json::Deserializer::from_str(raw.get());
    let item: ImportItem =
        serde_path_to_error::deserialize(deserializer).map_err(crate::http::body_error)?;
    let scheme = item
        .scheme
        .or(batch_scheme)
        .ok_or_else(|| ApiError::InvalidField {
            field: "scheme".into(),
            reason: format!("must be one of: {}", ImportScheme::ALLOWED),
        })?;
    let prefix = item
        .prefix
        .as_deref()
        .map(ImportPrefix::parse)
        .transpose()
        .map_err(|reason| ApiError::invalid("prefix", reason))?;
    let stored = match (scheme, item.key, item.hash) {
        (ImportScheme::Plaintext, Some(PlainKey(key)), None) => {
            let locator = plaintext_locator(&state.verifier, &key)?;
            Stored::Plaintext(key, locator)
        }
        (ImportScheme::Plaintext, _, _) => {
            return Err(ApiError::InvalidField {
                field: "key".into(),
                reason: "must be given, and no hash: a plaintext import gives each key itself"
                    .into(),
            });
        }
        (_, None, Some(hash)) => {
            Stored::Hashed(ImportedHash::parse(scheme, &hash, prefix.as_ref()).map_err(
                |refused| ApiError::InvalidField {
                    field: if matches!(refused, domain::HashRefused::NeedsPrefix(_)) {
                        "prefix".into()
                    } else {
                        "hash".into()
                    },
                    reason: refused.to_string(),
                },
            )?)
        }
        (_, _, _) => {
            return Err(ApiError::InvalidField {
                field: "hash".into(),
                reason: format!(
                    "must be given, and no key: a {} import gives what was stored",
                    scheme.as_str()
                ),
            });
        }
    };
    let meta = item
        .meta
        .as_deref()
        .map(super::issue_keys::meta_of)
        .transpose()?;
    if let Some(name) = &item.name {
        refuse_key_in(&state.verifier, "name", name.as_str())?;
    }
    refuse_keys_in_plain_data(
        &state.verifier,
        Some(&item.permissions),
        item.external_id.as_ref(),
        meta.as_ref(),
    )?;
    let settings = KeySettings {
        name: item.name,
        expires_at: super::expires_at(item.expires_at.as_deref(), now)?,
        limits: item.limits.and_then(KeyLimits::or_none),
        permissions: item.permissions,
        roles: item.roles,
        allowlist: item.allowlist,
        external_id: item.external_id,
        meta,
    };
    Ok(Checked {
        index: 0,
        stored,
        settings,
        disabled: item.status == Some(ImportedStatus::Disabled),
        scheme,
    })
}

/// How a plaintext key is found: the SHA-256 of the key. Refused when the
/// key could never be presented as an imported one: one of ours already
/// (or anything with our prefix), or not 8 to 512 visible ASCII characters.
fn plaintext_locator(verifier: &verify::Verifier, key: &AccessKey) -> Result<KeyLocator, ApiError> {
    let text = key.expose_secret();
    let refused = |reason: &str| ApiError::InvalidField {
        field: "key".into(),
        reason: reason.into(),
    };
    let ours = [&verifier.key_prefix, &verifier.service_key_prefix]
        .iter()
        .any(|prefix| {
            text.strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with('_'))
        });
    if ours {
        return Err(refused(
            "must not start with this deployment's own key prefix: such a key is one of ours already",
        ));
    }
    let Some(presented) = domain::ForeignKey::parse(text) else {
        return Err(refused("must be 8 to 512 visible ASCII characters"));
    };
    Ok(verify::plaintext_locator(&presented))
}

/// Imports one checked item: its hash (ours, for a plaintext key), the key
/// record and its lookup items, in one transaction.
async fn import_one<S: ApiKeyCreate>(
    state: &AppState<S>,
    request: &ApiRequest,
    item: Checked,
    application: &domain::Application,
    arx: &domain::Arx,
    by: &domain::Author,
) -> Result<ApiKey, ApiError> {
    let (secret_hash, locator) = match item.stored {
        Stored::Plaintext(key, locator) => {
            let (_, hash) = state.verifier.hashing.hash(key).await?;
            (hash, locator)
        }
        Stored::Hashed(imported) => (imported.hash, imported.locator),
    };
    let issue = Issue {
        id: ApiKeyId::generate(),
        secret_hash,
        application,
        arx,
        created_by: request.identity.user.clone(),
    };
    let (key, audit) = ApiKey::import(
        &request.identity.tenant,
        issue,
        locator,
        item.settings,
        item.disabled,
        by,
        item.scheme.as_str(),
    );
    state.store.create_api_key(&key, &audit).await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_plaintext_key() {
        let key = "sk_live_plaintext_key_0123456789";
        let body: ImportBody = serde_json::from_value(serde_json::json!({
            "application_id": ApplicationId::new(), "arx_id": ArxId::new(),
            "scheme": "plaintext", "keys": [{"key": key}],
        }))
        .expect("a body");
        assert!(!format!("{body:?}").contains(key));
        let item: ImportItem = serde_json::from_str(body.keys[0].get()).expect("an item");
        assert!(!format!("{item:?}").contains(key));
    }
}
