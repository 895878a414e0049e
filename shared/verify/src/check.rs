//! Checking an access key: the data plane. The verify route and the
//! `key-authorizer` function both call [`Verifier::verify`].
//!
//! A malformed key (wrong shape or checksum) is answered with no read and no
//! argon2. Otherwise one strongly consistent read of the lookup item, then
//! argon2id beside the reads of the key's application and Arx. Verdicts are
//! cached in process for a short TTL, keyed by a keyed BLAKE2b hash of the
//! presented key (never the key), and concurrent checks of the same uncached
//! key share one argon2 run.

use std::sync::Arc;
use std::time::Duration;

use domain::{
    AccessKey, ApplicationStatus, ArxStatus, Cost, ExpiresAt, IdentityCounter, KeyLimits,
    KeyPrefix, LimitHit, LimitName, PermissionQuery, PresentedKey, PresentedServiceKey, TenantId,
    Timestamp,
};
use store::{
    ApiKeyCharge, ApiKeyLastUse, ApiKeyLookup, ApiKeyRead, ApiKeyWrite, ApplicationStore, ArxStore,
    ChargePart, Charges, Counter, IdentityLookup, ImportedKeyLookup, KeyLookup, RoleLookup,
    StoreError,
};

use telemetry::metrics;

use crate::cache::{LAST_USED_INTERVAL, ServiceKeyCache, VerdictCache};
use crate::error::CheckError;
use crate::hashing::HashingGate;
use crate::imported::{ImportsSeen, Presented, find_imported};
use crate::usage::UsageCounter;
use crate::verdict::{
    Checked, KeyFacts, LimitLeft, LimitOwner, Verdict, VerdictCode, VerifiedIdentity, VerifiedKey,
};

/// What checking keys needs besides the store, built once per process (a
/// Lambda's cold start, the dev server's start).
#[derive(Debug)]
pub struct Verifier {
    /// This deployment's access key prefix (`ACCESS_KEY_PREFIX`).
    pub key_prefix: KeyPrefix,
    /// argon2id for new keys and for checking presented ones.
    pub hashing: HashingGate,
    /// Recent verify verdicts (see [`cache`]).
    pub verdicts: VerdictCache,
    /// The prefix of this deployment's service keys ([`KeyPrefix::for_service_keys`]).
    pub service_key_prefix: KeyPrefix,
    /// Recent answers for service keys (see [`crate::callers`]).
    pub service_keys: ServiceKeyCache,
    /// What each key's verifies ended in, counted in memory and written
    /// in batches (see [`crate::usage`]).
    pub usage: UsageCounter,
    /// Rate limits for anything, and the namespaces recently read.
    pub rate_limits: crate::RateLimiter,
    /// Whether keys were ever imported here (until then a string not of our
    /// format is malformed, with no read).
    pub imports: ImportsSeen,
}

impl Verifier {
    /// Keys of `key_prefix`, verdicts (and service keys' answers) kept for
    /// `verdict_ttl` (zero: none).
    pub fn new(key_prefix: KeyPrefix, verdict_ttl: Duration) -> Self {
        Self {
            service_key_prefix: key_prefix.for_service_keys(),
            key_prefix,
            hashing: HashingGate::per_core(),
            verdicts: VerdictCache::new(verdict_ttl),
            service_keys: ServiceKeyCache::new(verdict_ttl),
            usage: UsageCounter::new(Some(UsageCounter::DEFAULT_INTERVAL)),
            rate_limits: crate::RateLimiter::new(verdict_ttl),
            // A no is kept at least a few seconds even with no verdict
            // cache, so a flood of garbage costs no read per string.
            imports: ImportsSeen::new(verdict_ttl.max(ImportsSeen::LEAST_KEPT)),
        }
    }

    /// The same verifier, counting every `flush` (`None`: counting nothing).
    pub fn counting_every(self, flush: Option<Duration>) -> Self {
        Self {
            usage: UsageCounter::new(flush),
            ..self
        }
    }

    /// `raw` as a key a team may have imported (see [`ImportsSeen`]).
    pub(crate) async fn maybe_imported<S: ImportedKeyLookup>(
        &self,
        store: &S,
        raw: &str,
    ) -> Result<Option<domain::ForeignKey>, StoreError> {
        let ours = [&self.key_prefix, &self.service_key_prefix];
        self.imports.presented(store, raw, ours).await
    }

    /// Whether `text` holds one of this deployment's access or service keys,
    /// as a word of its own (split at anything a key never holds: spaces,
    /// punctuation, control characters). Each word is judged by its shape and
    /// checksum, so random text never passes; it reads no store.
    pub fn finds_a_key_in(&self, text: &str) -> bool {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|word| {
                PresentedKey::parse(word, &self.key_prefix).is_ok()
                    || PresentedServiceKey::parse_service_key(word, &self.service_key_prefix)
                        .is_ok()
            })
    }
}

/// The stores verification reads (and records use in).
pub trait VerifyStore:
    ApiKeyLookup
    + ApiKeyRead
    + ApiKeyWrite
    + ApiKeyLastUse
    + ApiKeyCharge
    + ApplicationStore
    + ArxStore
    + IdentityLookup
    + ImportedKeyLookup
    + RoleLookup
{
}
impl<S> VerifyStore for S where
    S: ApiKeyLookup
        + ApiKeyRead
        + ApiKeyWrite
        + ApiKeyLastUse
        + ApiKeyCharge
        + ApplicationStore
        + ArxStore
        + IdentityLookup
        + ImportedKeyLookup
        + RoleLookup
{
}

/// What a verify asks besides the key.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// What the request spends of the key's limits and its identity's
    /// credits (0 peeks).
    pub cost: Cost,
    /// What the request needs of the key's permissions.
    pub permissions: Option<&'a PermissionQuery>,
    /// Which of the identity's rate limits to charge, and how much each
    /// (`None`: every one, at `cost`). A name the identity lacks is passed
    /// over: the verdict's `limits` list what was charged.
    pub rate_limits: Option<&'a [RateLimitCost]>,
    /// The end user's address, as the caller vouches for it (the
    /// key-authorizer: API Gateway's own request context). A key with an
    /// allowlist is judged by it; none is on no list.
    pub address: Option<std::net::IpAddr>,
}

impl Ask<'_> {
    /// A request of cost 1 that asks nothing else.
    pub const ONE: Ask<'static> = Ask {
        cost: Cost::ONE,
        permissions: None,
        rate_limits: None,
        address: None,
    };
}

/// One named rate limit a verify charges, and its cost.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitCost {
    pub name: LimitName,
    #[serde(default = "one")]
    pub cost: Cost,
}

fn one() -> Cost {
    Cost::ONE
}

impl Verifier {
    /// Verifies `raw` for `caller` (its tenant; `None` accepts a key of any
    /// tenant, for a key-authorizer that serves the whole installation),
    /// asks the ask's permissions (if any) of the key's permissions, and
    /// charges a good key's limits and its identity's, all or none.
    pub async fn verify<S: VerifyStore>(
        &self,
        store: &S,
        caller: Option<&TenantId>,
        raw: &str,
        ask: &Ask<'_>,
    ) -> Result<Verdict, CheckError> {
        let started = std::time::Instant::now();
        let presented = match PresentedKey::parse(raw, &self.key_prefix) {
            Ok(presented) => Presented::Ours(presented),
            Err(_) => match self.maybe_imported(store, raw).await? {
                Some(key) => Presented::Imported(key),
                None => {
                    metrics::VERIFIES.inc(VerdictCode::Malformed.as_str());
                    return Ok(Verdict::refused(VerdictCode::Malformed));
                }
            },
        };
        let cache = &self.verdicts;
        let fingerprint = cache.fingerprint(&presented);
        let cached = cache.cached(&fingerprint);
        metrics::VERDICT_CACHE.inc(if cached.is_some() { "hit" } else { "miss" });
        let warmth = if cached.is_some() { "warm" } else { "cold" };
        let checked = match cached {
            Some(checked) => checked,
            None => {
                // One check per key at a time: the others wait for its answer.
                let generation = cache.generation();
                let cell = cache.join(fingerprint, generation);
                let checked = cell
                    .get_or_try_init(|| async {
                        // A check that ended between this verify's look in
                        // the cache and its join left its verdict there.
                        if let Some(checked) = cache.cached(&fingerprint) {
                            return Ok(checked);
                        }
                        self.check(store, presented).await.map(Arc::new)
                    })
                    .await
                    .map(Arc::clone);
                // Kept before the check leaves, so that look finds it.
                if let Ok(checked) = &checked {
                    cache.remember(fingerprint, Arc::clone(checked), generation);
                }
                cache.leave(&fingerprint, &cell);
                checked?
            }
        };
        let now = Timestamp::now();
        let mut verdict = checked.verdict(caller, now, ask.permissions, ask.address);
        if verdict.valid
            && let Checked::Found(facts) = checked.as_ref()
        {
            verdict = charge(store, facts, ask, verdict, now).await?;
        }
        // Counted for the key it names, when it is the caller's: a key that
        // is not found (or another tenant's) names no key of theirs, and an
        // attacker's made-up ids must not grow the table.
        if let Checked::Found(facts) = checked.as_ref()
            && caller.is_none_or(|tenant| *tenant == facts.key.tenant_id)
        {
            let outcome = match verdict.would_refuse {
                Some(VerdictCode::AddressNotAllowed) => crate::verdict::ADDRESS_REPORTED,
                _ => verdict.code.as_str(),
            };
            self.usage.count(&facts.key, outcome, now);
        }
        if let Some(key) = &verdict.key
            && cache.due_for_use_record(&key.key_id, LAST_USED_INTERVAL)
        {
            let interval =
                time::Duration::try_from(LAST_USED_INTERVAL).unwrap_or(time::Duration::ZERO);
            // A failed write must not refuse a good key: say so in the log.
            if let Err(error) = store
                .record_use(&key.tenant_id, &key.key_id, now, interval)
                .await
            {
                tracing::warn!(error = %store::error_chain(&error), key_id = %key.key_id, "could not record a key's use");
            }
        }
        metrics::VERIFIES.inc(verdict.code.as_str());
        metrics::VERIFY_DURATION.observe(warmth, started.elapsed());
        Ok(verdict)
    }

    /// The uncached check: the lookup, argon2, and only for the right
    /// secret the catalog reads. An id that does not exist and a wrong secret
    /// cost the same (a lookup and a hash: `NOT_FOUND` after either), so no
    /// timing says which ids exist.
    async fn check<S: VerifyStore>(
        &self,
        store: &S,
        presented: Presented,
    ) -> Result<Checked, CheckError> {
        let lookup = match &presented {
            Presented::Ours(presented) => store.lookup_api_key(presented.id()).await?,
            Presented::Imported(key) => find_imported(store, key).await?,
        };
        let Some(lookup) = lookup else {
            self.hashing.verify_decoy(presented).await?;
            return Ok(Checked::NotFound);
        };
        // An imported key still under the team's old hash (any but one made
        // as ours are) is hashed with ours once it matches: kept for that
        // before the check takes it.
        let rehash = match &presented {
            Presented::Imported(key) if !self.hashing.made(&lookup.secret_hash) => {
                Some(AccessKey::imported(key.expose_secret()))
            }
            _ => None,
        };
        if !self
            .hashing
            .verify(presented, lookup.secret_hash.clone())
            .await?
        {
            return Ok(Checked::NotFound);
        }
        if let Some(key) = rehash {
            crate::imported::rehash(&self.hashing, store, &lookup, key).await;
        }
        let described = describe(store, &lookup).await?;
        Ok(described.map_or(Checked::NotFound, |facts| Checked::Found(Box::new(facts))))
    }
}

/// The key's application and Arx (and a chain key's counters); `None` if the
/// key item is gone (purged between the two reads).
async fn describe<S: VerifyStore>(
    store: &S,
    lookup: &KeyLookup,
) -> Result<Option<KeyFacts>, CheckError> {
    let tenant = &lookup.tenant_id;
    let (application_id, arx_id, name) =
        match (&lookup.application_id, &lookup.arx_id, &lookup.name) {
            (Some(application), Some(arx), Some(name)) => {
                (application.clone(), arx.clone(), name.clone())
            }
            // A lookup item from before verification: the key item says.
            _ => match store.get_api_key(tenant, &lookup.key_id).await? {
                Some(key) => (key.application_id, key.arx_id, key.name),
                None => return Ok(None),
            },
        };
    let identity = async {
        match &lookup.external_id {
            Some(owner) => store.identity_of(tenant, owner).await,
            None => Ok(None),
        }
    };
    // A role deleted since the key was given it grants nothing.
    let roles = futures_util::future::try_join_all(
        lookup
            .roles
            .iter()
            .map(|name| store.role_named(tenant, name)),
    );
    let (application, arx, limits, identity, roles) = tokio::try_join!(
        store.get_application(tenant, &application_id),
        store.get_arx(tenant, &arx_id),
        limits_of(store, lookup),
        identity,
        roles,
    )?;
    let permissions = roles
        .iter()
        .flatten()
        .fold(lookup.permissions.clone(), |held, role| {
            held.union(&role.permissions)
        });
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
            permissions,
            roles: lookup.roles.clone(),
            external_id: lookup.external_id.clone(),
            meta: lookup.meta.clone(),
            identity: identity.as_ref().map(VerifiedIdentity::of),
        },
        status: lookup.status,
        expires_at: lookup.expires_at,
        catalog_active,
        limits,
        charged_to: lookup.balance_key().clone(),
        identity,
        allowlist: lookup.allowlist.clone(),
    }))
}

/// Whose a part of a charge is, for the verdict.
struct PartOf<'a> {
    owner: LimitOwner,
    name: Option<&'a LimitName>,
}

/// Charges a good key's limits and its identity's, all or none, and says
/// so in `verdict`: each limit's standing, or the limit that refused.
async fn charge<S: VerifyStore>(
    store: &S,
    facts: &KeyFacts,
    ask: &Ask<'_>,
    verdict: Verdict,
    now: Timestamp,
) -> Result<Verdict, StoreError> {
    let mut parts = Vec::new();
    let mut whose = Vec::new();
    if let Some(limits) = &facts.limits {
        parts.push(ChargePart {
            counter: Counter::ApiKey(facts.charged_to.clone()),
            expected: *limits,
            cost: ask.cost,
        });
        whose.push(PartOf {
            owner: LimitOwner::Key,
            name: None,
        });
    }
    if let Some(identity) = &facts.identity {
        for (counter, expected) in identity.limits.counters() {
            let cost = match (&counter, ask.rate_limits) {
                (IdentityCounter::Credits, _) | (IdentityCounter::Rate(_), None) => Some(ask.cost),
                (IdentityCounter::Rate(name), Some(asked)) => asked
                    .iter()
                    .find(|asked| asked.name == *name)
                    .map(|asked| asked.cost),
            };
            let Some(cost) = cost else { continue };
            let name = match &counter {
                IdentityCounter::Credits => None,
                IdentityCounter::Rate(name) => identity.limits.rate_limit(name).map(|l| &l.name),
            };
            whose.push(PartOf {
                owner: LimitOwner::Identity,
                name,
            });
            parts.push(ChargePart {
                counter: Counter::Identity(identity.id.clone(), counter),
                expected,
                cost,
            });
        }
    }
    if parts.is_empty() {
        return Ok(verdict);
    }
    let charged = store.charge_together(&parts, now).await?;
    let result = match &charged {
        Charges::Charged(_) => "charged",
        Charges::Refused { .. } => "refused",
    };
    metrics::LIMIT_CHARGES.inc(result);
    Ok(match charged {
        Charges::Charged(after) => {
            let limits: Vec<LimitLeft> = after
                .iter()
                .zip(&whose)
                .filter_map(|(balance, part)| Some((balance.as_ref()?, part)))
                .flat_map(|(balance, part)| LimitLeft::of(part.owner, part.name, balance, now))
                .collect();
            let Some(tightest) = limits.iter().min_by_key(|limit| limit.remaining) else {
                return Ok(verdict);
            };
            let standing = domain::Standing {
                remaining: tightest.remaining,
                reset_at: tightest.reset_at,
            };
            Verdict {
                limits,
                ..verdict.standing(standing)
            }
        }
        Charges::Refused { part, balance, hit } => {
            let code = match hit {
                LimitHit::Rate => VerdictCode::RateLimited,
                LimitHit::Credits => VerdictCode::UsageExceeded,
            };
            let limited_by = whose
                .get(part)
                .and_then(|part| LimitLeft::refusing(part.owner, part.name, &balance, hit, now));
            Verdict {
                limited_by,
                ..Verdict::refused(code).standing(balance.standing(now, Some(hit)))
            }
        }
    })
}

/// What a key is charged as. A key of a rotation chain shares the chain's
/// counters, and those (set by the newest key's limits) decide, whatever the
/// key's own `limits` were when it was rotated: a read of the counters, made
/// once per check and cached with the verdict. Any other key: its own.
async fn limits_of<S: VerifyStore>(
    store: &S,
    lookup: &KeyLookup,
) -> Result<Option<KeyLimits>, StoreError> {
    if !lookup.in_rotation_chain() {
        return Ok(lookup.limits);
    }
    let counters = store.api_key_balance(lookup.balance_key()).await?;
    Ok(counters.map(|balance| balance.limits()))
}
