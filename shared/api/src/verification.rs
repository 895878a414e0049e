//! Checking an access key: the data plane. The verify route and the
//! `key-authorizer` function both call [`verify`].
//!
//! A malformed key (wrong shape or checksum) is answered with no read and no
//! argon2. Otherwise one strongly consistent read of the lookup item, then
//! argon2id (on the hashing gate) beside the reads of the key's application
//! and Arx. Verdicts are cached in process for a short TTL, keyed by a keyed
//! BLAKE2b hash of the presented key (never the key), and concurrent checks of
//! the same uncached key share one argon2 run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::{
    ApiKeyId, ApiKeyName, ApiKeyStatus, ApplicationId, ApplicationStatus, ArxId, ArxStatus, Cost,
    ExpiresAt, KeyLimits, LimitHit, PresentedKey, Standing, TenantId, Timestamp,
};
use serde::Serialize;
use store::{
    ApiKeyCharge, ApiKeyLookup, ApiKeyRead, ApiKeyUsage, ApplicationStore, ArxStore, Charge,
    KeyLookup,
};
use tokio::sync::OnceCell;

use crate::fingerprint::{Fingerprint, Fingerprinter};
use crate::problem::ApiError;
use crate::state::AppState;

/// What a verify answers: `VALID` with the key's fields, or a code alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerdictCode {
    Valid,
    /// Wrong shape or checksum: decided with no read and no argon2.
    Malformed,
    /// No such key, a wrong secret, or another tenant's key: one code, so
    /// the answer is no oracle for which.
    NotFound,
    Expired,
    Deleted,
    /// The key is suspended, or its application is archived, or its Arx is
    /// not active.
    Disabled,
    /// The key's rate window is spent: `reset_at` says when it starts afresh.
    RateLimited,
    /// The key's credits are spent: `reset_at` is the next refill, if any.
    UsageExceeded,
}

/// The answer to one verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub valid: bool,
    pub code: VerdictCode,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub key: Option<VerifiedKey>,
    /// For a key with limits: requests of cost 1 that would still pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// For a key with limits: when `remaining` next grows (null: never).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_at: Option<Option<Timestamp>>,
}

/// What a valid key is for (only a `VALID` verdict carries it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedKey {
    pub key_id: ApiKeyId,
    /// The caller knows its tenant; the key-authorizer passes it on.
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub application_id: ApplicationId,
    pub arx_id: ArxId,
    pub arx_url: String,
    pub name: ApiKeyName,
    pub expires_at: Option<Timestamp>,
}

impl Verdict {
    fn refused(code: VerdictCode) -> Self {
        Self {
            valid: false,
            code,
            key: None,
            remaining: None,
            reset_at: None,
        }
    }

    /// This verdict with where a limited key stands.
    fn standing(self, standing: Standing) -> Self {
        Self {
            remaining: Some(standing.remaining),
            reset_at: Some(standing.reset_at),
            ..self
        }
    }
}

/// Everything a verdict depends on besides the clock, as read when the key
/// was last checked. `None` in [`Checked::Found`]'s place means not found (no
/// such key or a wrong secret), which is cached too: a client repeating a
/// wrong key costs one argon2 run per TTL, not one per request.
#[derive(Debug)]
enum Checked {
    NotFound,
    Found(Box<KeyFacts>),
}

#[derive(Debug)]
struct KeyFacts {
    key: VerifiedKey,
    status: ApiKeyStatus,
    expires_at: Option<ExpiresAt>,
    catalog_active: bool,
    /// What a good verify is charged against. Cached with the rest, but the
    /// charge itself never is: every verify of a limited key is a write.
    limits: Option<KeyLimits>,
    /// Whose counters: the key's own, or, once it was rotated, its
    /// replacement's (the old key and the new share one balance).
    charged_to: ApiKeyId,
}

impl Checked {
    /// The verdict for `caller` (a tenant, or any for the key-authorizer) at `now`.
    fn verdict(&self, caller: Option<&TenantId>, now: Timestamp) -> Verdict {
        let Checked::Found(facts) = self else {
            return Verdict::refused(VerdictCode::NotFound);
        };
        if caller.is_some_and(|tenant| *tenant != facts.key.tenant_id) {
            return Verdict::refused(VerdictCode::NotFound);
        }
        let expired = facts.expires_at.is_some_and(|expiry| expiry.at() <= now);
        let code = match facts.status {
            ApiKeyStatus::Deleted => VerdictCode::Deleted,
            ApiKeyStatus::Expired => VerdictCode::Expired,
            ApiKeyStatus::Active if expired => VerdictCode::Expired,
            ApiKeyStatus::Disabled => VerdictCode::Disabled,
            ApiKeyStatus::Active if !facts.catalog_active => VerdictCode::Disabled,
            ApiKeyStatus::Active => {
                return Verdict {
                    valid: true,
                    code: VerdictCode::Valid,
                    key: Some(facts.key.clone()),
                    remaining: None,
                    reset_at: None,
                };
            }
        };
        Verdict::refused(code)
    }
}

/// Verdicts of recent checks, and the checks in flight.
pub struct VerdictCache {
    fingerprints: Fingerprinter,
    ttl: Duration,
    entries: Mutex<HashMap<Fingerprint, Entry>>,
    in_flight: Mutex<HashMap<Fingerprint, InFlight>>,
    /// When this process last recorded each key's use: kept apart from the
    /// verdicts so that a TTL of zero does not mean a write try per verify.
    uses_recorded: Mutex<HashMap<ApiKeyId, Instant>>,
}

/// A check under way, which later callers for the same key wait on.
type InFlight = Arc<OnceCell<Arc<Checked>>>;

struct Entry {
    checked: Arc<Checked>,
    at: Instant,
}

impl std::fmt::Debug for VerdictCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerdictCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl VerdictCache {
    /// Entries kept at most; a full cache drops what is stale, then starts over.
    const CAPACITY: usize = 10_000;

    /// A cache whose verdicts live for `ttl` (zero: no caching).
    pub fn new(ttl: Duration) -> Self {
        Self {
            fingerprints: Fingerprinter::random(),
            ttl,
            entries: Mutex::default(),
            in_flight: Mutex::default(),
            uses_recorded: Mutex::default(),
        }
    }

    /// Forgets every verdict: a key, application or Arx changed in this
    /// process, and the next verify must see it.
    pub fn clear(&self) {
        lock(&self.entries).clear();
    }

    /// The keyed hash the cache knows a presented key by: without the random
    /// per-process key it cannot be computed, so it says nothing of the key.
    fn fingerprint(&self, presented: &PresentedKey) -> Fingerprint {
        self.fingerprints.of(presented.expose_secret().as_bytes())
    }

    fn cached(&self, fingerprint: &Fingerprint) -> Option<Arc<Checked>> {
        let entries = lock(&self.entries);
        let entry = entries.get(fingerprint)?;
        (entry.at.elapsed() < self.ttl).then(|| Arc::clone(&entry.checked))
    }

    fn remember(&self, fingerprint: Fingerprint, checked: Arc<Checked>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = lock(&self.entries);
        if entries.len() >= Self::CAPACITY {
            entries.retain(|_, entry| entry.at.elapsed() < self.ttl);
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            fingerprint,
            Entry {
                checked,
                at: Instant::now(),
            },
        );
    }

    /// Whether this process should record a use of `key` now: at most once
    /// per `interval` per key (the store's condition holds across processes).
    fn due_for_use_record(&self, key: &ApiKeyId, interval: Duration) -> bool {
        let mut recorded = lock(&self.uses_recorded);
        if recorded.get(key).is_some_and(|at| at.elapsed() < interval) {
            return false;
        }
        if recorded.len() >= Self::CAPACITY {
            recorded.retain(|_, at| at.elapsed() < interval);
            if recorded.len() >= Self::CAPACITY {
                recorded.clear();
            }
        }
        recorded.insert(key.clone(), Instant::now());
        true
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `last_used_at` is written at most this often per key.
pub const LAST_USED_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// The stores verification reads (and records use in).
pub trait VerifyStore:
    ApiKeyLookup + ApiKeyRead + ApiKeyUsage + ApiKeyCharge + ApplicationStore + ArxStore
{
}
impl<S> VerifyStore for S where
    S: ApiKeyLookup + ApiKeyRead + ApiKeyUsage + ApiKeyCharge + ApplicationStore + ArxStore
{
}

/// Verifies `raw` for `caller` (its tenant; `None` accepts a key of any
/// tenant, for a key-authorizer that serves the whole installation), and
/// charges a good key with limits `cost`.
pub async fn verify<S: VerifyStore + 'static>(
    state: &Arc<AppState<S>>,
    caller: Option<&TenantId>,
    raw: &str,
    cost: Cost,
) -> Result<Verdict, ApiError> {
    let Ok(presented) = PresentedKey::parse(raw, &state.key_prefix) else {
        return Ok(Verdict::refused(VerdictCode::Malformed));
    };
    let cache = &state.verdicts;
    let fingerprint = cache.fingerprint(&presented);
    let checked = match cache.cached(&fingerprint) {
        Some(checked) => checked,
        None => {
            // One check per key at a time: the others wait for its answer.
            let cell = Arc::clone(lock(&cache.in_flight).entry(fingerprint).or_default());
            let checked = cell
                .get_or_try_init(|| async { check(state, presented).await.map(Arc::new) })
                .await
                .map(Arc::clone);
            lock(&cache.in_flight).remove(&fingerprint);
            let checked = checked?;
            cache.remember(fingerprint, Arc::clone(&checked));
            checked
        }
    };
    let now = Timestamp::now();
    let mut verdict = checked.verdict(caller, now);
    if verdict.valid
        && let Checked::Found(facts) = checked.as_ref()
        && let Some(limits) = &facts.limits
    {
        verdict = match state
            .store
            .charge_api_key(&facts.charged_to, limits, cost, now)
            .await?
        {
            Charge::Unlimited => verdict,
            Charge::Charged(usage) => verdict.standing(usage.standing(now, None)),
            Charge::Refused(usage, hit) => {
                let code = match hit {
                    LimitHit::Rate => VerdictCode::RateLimited,
                    LimitHit::Credits => VerdictCode::UsageExceeded,
                };
                Verdict::refused(code).standing(usage.standing(now, Some(hit)))
            }
        };
    }
    if let Some(key) = &verdict.key
        && cache.due_for_use_record(&key.key_id, LAST_USED_INTERVAL)
    {
        let interval = time::Duration::try_from(LAST_USED_INTERVAL).unwrap_or(time::Duration::ZERO);
        // A failed write must not refuse a good key: say so in the log.
        if let Err(error) = state
            .store
            .record_use(&key.tenant_id, &key.key_id, now, interval)
            .await
        {
            tracing::warn!(error = %store::error_chain(&error), key_id = %key.key_id, "could not record a key's use");
        }
    }
    Ok(verdict)
}

/// The uncached check: the lookup, then argon2 beside the catalog reads.
async fn check<S: VerifyStore + 'static>(
    state: &Arc<AppState<S>>,
    presented: PresentedKey,
) -> Result<Checked, ApiError> {
    let Some(lookup) = state.store.lookup_api_key(presented.id()).await? else {
        return Ok(Checked::NotFound);
    };
    let secret_matches = state.hashing.verify(presented, lookup.secret_hash.clone());
    // The reads first: on DynamoDB they are in flight while the hash runs.
    let (described, secret_matches) = tokio::join!(describe(state, &lookup), secret_matches);
    if !secret_matches? {
        return Ok(Checked::NotFound);
    }
    Ok(described?.map_or(Checked::NotFound, |facts| Checked::Found(Box::new(facts))))
}

/// The key's application and Arx, read beside argon2; `None` if the key item
/// is gone (purged between the two reads).
async fn describe<S: VerifyStore>(
    state: &AppState<S>,
    lookup: &KeyLookup,
) -> Result<Option<KeyFacts>, ApiError> {
    let tenant = &lookup.tenant_id;
    let (application_id, arx_id, name) =
        match (&lookup.application_id, &lookup.arx_id, &lookup.name) {
            (Some(application), Some(arx), Some(name)) => {
                (application.clone(), arx.clone(), name.clone())
            }
            // A lookup item from before verification: the key item says.
            _ => match state.store.get_api_key(tenant, &lookup.key_id).await? {
                Some(key) => (key.application_id, key.arx_id, key.name),
                None => return Ok(None),
            },
        };
    let (application, arx) = tokio::try_join!(
        state.store.get_application(tenant, &application_id),
        state.store.get_arx(tenant, &arx_id),
    )?;
    let catalog_active = application.is_some_and(|a| a.status == ApplicationStatus::Active)
        && arx.as_ref().is_some_and(|a| a.status == ArxStatus::Active);
    let arx_url = arx.map(|arx| arx.arx_url).unwrap_or_default();
    Ok(Some(KeyFacts {
        key: VerifiedKey {
            key_id: lookup.key_id.clone(),
            tenant_id: tenant.clone(),
            application_id,
            arx_id,
            arx_url,
            name,
            expires_at: lookup.expires_at.map(ExpiresAt::at),
        },
        status: lookup.status,
        expires_at: lookup.expires_at,
        catalog_active,
        limits: lookup.limits,
        charged_to: lookup
            .rotated_to
            .clone()
            .unwrap_or_else(|| lookup.key_id.clone()),
    }))
}
