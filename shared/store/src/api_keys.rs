//! API keys: their lookup and dashboard queries, and the capabilities that
//! read and write them (one trait each). What a change makes of a key is the
//! domain's (`domain::lifecycle`); a store writes it as given.

use std::future::Future;

use domain::{
    ApiKey, ApiKeyCounts, ApiKeyId, ApiKeyName, ApiKeyStatus, ApplicationId, ArxId, AuditEvent,
    Balance, Cost, Cursor, ExpiresAt, ExternalId, IdentityCounter, IdentityId, IpAllowlist,
    KeyChange, KeyLimits, KeyMeta, KeyRoles, LimitHit, Page, PageLimit, Permissions, Rotation,
    SecretHash, TenantId, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::error::StoreResult;

/// Filters of the API key dashboard; all that are set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiKeyFilter {
    pub application_id: Option<ApplicationId>,
    pub arx_id: Option<ArxId>,
    pub status: Option<ApiKeyStatus>,
    /// Leave deleted keys out (the dashboard's default): checked on the
    /// items read, so a page reads past the tenant's deleted keys, which the
    /// sweep purges after the retention period.
    pub hide_deleted: bool,
    /// Only keys whose name contains this, in lower case (a name search):
    /// checked on the items read, reading on until the page is full.
    pub name_contains: Option<String>,
    /// Only keys of this owner (`external_id`, matched exactly): the
    /// owner's own index partition, so a page costs the page.
    pub external_id: Option<ExternalId>,
}

impl ApiKeyFilter {
    /// Whether `key` passes, judging its status as of `now` (see [`ApiKey::status_at`]).
    pub fn matches(&self, key: &ApiKey, now: Timestamp) -> bool {
        let status = key.status_at(now);
        self.application_id
            .as_ref()
            .is_none_or(|id| *id == key.application_id)
            && self.arx_id.as_ref().is_none_or(|id| *id == key.arx_id)
            && self.status.is_none_or(|wanted| wanted == status)
            && !(self.hide_deleted && status == ApiKeyStatus::Deleted)
            && self
                .name_contains
                .as_deref()
                .is_none_or(|part| key.name.as_str().to_lowercase().contains(part))
            && self
                .external_id
                .as_ref()
                .is_none_or(|owner| key.external_id.as_ref() == Some(owner))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyQuery {
    pub filter: ApiKeyFilter,
    pub limit: PageLimit,
    pub cursor: Option<Cursor<ApiKeyId>>,
    /// The instant statuses are judged at (expiry).
    pub as_of: Timestamp,
    /// Read strongly consistently (from the table, never a GSI), as a job
    /// that must not miss a key created a moment ago does.
    pub consistent: bool,
    /// Oldest first (ids are time-ordered, so this is creation order); newest
    /// first otherwise. A cursor is a position either way: the next page
    /// goes on past it in the page's order.
    pub oldest_first: bool,
}

impl Default for ApiKeyQuery {
    fn default() -> Self {
        Self {
            filter: ApiKeyFilter::default(),
            limit: PageLimit::default(),
            cursor: None,
            as_of: Timestamp::now(),
            consistent: false,
            oldest_first: false,
        }
    }
}

/// What verification needs about a key, found by key id alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLookup {
    pub key_id: ApiKeyId,
    pub tenant_id: TenantId,
    pub status: ApiKeyStatus,
    pub expires_at: Option<ExpiresAt>,
    pub secret_hash: SecretHash,
    /// What a verify answer names. Lookup items written before verification
    /// existed lack these; verification then reads the key item instead.
    #[serde(default)]
    pub application_id: Option<ApplicationId>,
    #[serde(default)]
    pub arx_id: Option<ArxId>,
    #[serde(default)]
    pub name: Option<ApiKeyName>,
    /// Whether (and how) verify charges the key: a key without limits costs
    /// verify no write beyond its `last_used_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<KeyLimits>,
    /// The key that replaced this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_to: Option<ApiKeyId>,
    /// Whose counters the key charges, when not its own (`ApiKey::balance`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<ApiKeyId>,
    /// What a `VALID` verdict carries and a permission query is asked of.
    #[serde(default, skip_serializing_if = "Permissions::is_empty")]
    pub permissions: Permissions,
    /// The roles whose permissions verify grants beside the key's own.
    #[serde(default, skip_serializing_if = "KeyRoles::is_empty")]
    pub roles: KeyRoles,
    /// The addresses the key may be used from (none: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowlist: Option<IpAllowlist>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<ExternalId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<KeyMeta>,
}

impl KeyLookup {
    /// Whether the key may be used at `now`: active and not past its expiry,
    /// whether or not the sweep has recorded that yet.
    pub fn usable_at(&self, now: Timestamp) -> bool {
        self.status == ApiKeyStatus::Active
            && self.expires_at.is_none_or(|expiry| expiry.at() > now)
    }

    pub fn of(key: &ApiKey) -> Self {
        Self {
            key_id: key.id.clone(),
            tenant_id: key.tenant_id.clone(),
            status: key.status,
            expires_at: key.expires_at,
            secret_hash: key.secret_hash.clone(),
            application_id: Some(key.application_id.clone()),
            arx_id: Some(key.arx_id.clone()),
            name: Some(key.name.clone()),
            limits: key.limits,
            rotated_to: key.rotated_to.clone(),
            balance: key.balance.clone(),
            permissions: key.permissions.clone(),
            roles: key.roles.clone(),
            allowlist: key.allowlist.clone(),
            external_id: key.external_id.clone(),
            meta: key.meta.clone(),
        }
    }

    /// Whose counters a verify of this key charges.
    pub fn balance_key(&self) -> &ApiKeyId {
        domain::balance_key(
            &self.key_id,
            self.balance.as_ref(),
            self.rotated_to.as_ref(),
        )
    }

    /// Whether the key shares its counters with others of its rotation chain:
    /// whether it is limited is then the chain's counters' to say, not its
    /// own `limits` (those of the newest key decide).
    pub fn in_rotation_chain(&self) -> bool {
        self.balance.is_some() || self.rotated_to.is_some()
    }
}

pub trait ApiKeyRead: Send + Sync {
    /// One key of the tenant, read strongly consistently.
    fn get_api_key(
        &self,
        tenant: &TenantId,
        id: &ApiKeyId,
    ) -> impl Future<Output = StoreResult<Option<ApiKey>>> + Send;

    /// A page of the tenant's keys, newest first.
    fn list_api_keys(
        &self,
        tenant: &TenantId,
        query: &ApiKeyQuery,
    ) -> impl Future<Output = StoreResult<Page<ApiKey, ApiKeyId>>> + Send;

    /// The tenant's key counts, in O(1).
    fn api_key_counts(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = StoreResult<ApiKeyCounts>> + Send;
}

pub trait ApiKeyCreate: Send + Sync {
    /// Writes the key, its lookup item, the tenant's counts and `audit` in one
    /// transaction, only if the key's application and Arx still accept new keys.
    fn create_api_key(
        &self,
        key: &ApiKey,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// [`ApiKeyCreate::create_api_key`], and `replay` kept with it in the
    /// same transaction, unless an answer is still kept in its slot
    /// ([`Conflict::Replayed`](crate::Conflict::Replayed): nothing written).
    fn create_api_key_kept(
        &self,
        key: &ApiKey,
        audit: &AuditEvent,
        replay: &crate::Replay,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

pub trait ApiKeyWrite: Send + Sync {
    /// Writes `change` (decided by the domain from `current`: a delete, a
    /// suspension, an edit, an expiry, a leak) in one transaction: its
    /// record, lookup item and index entries, the counts' move, its counters
    /// if it restarts them, and its audit events; only if the stored
    /// revision is still `current.revision`
    /// ([`Conflict::Changed`](crate::Conflict::Changed) otherwise, to be
    /// read and decided again).
    fn write_api_key_change(
        &self,
        current: &ApiKey,
        change: &KeyChange,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

pub trait ApiKeyRotate: Send + Sync {
    /// Writes `rotation` (decided by the domain from `current`) in one
    /// transaction: the rotated record over `current` only if its revision
    /// is still `current.revision` ([`Conflict::Changed`](crate::Conflict::Changed)
    /// otherwise); the replacement as [`ApiKeyCreate`] writes a key (its
    /// application and Arx must still accept keys); both lookup items, the
    /// counts and the audit events.
    fn rotate_api_key(
        &self,
        current: &ApiKey,
        rotation: &Rotation,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// [`ApiKeyRotate::rotate_api_key`], and `replay` kept with it, as
    /// [`ApiKeyCreate::create_api_key_kept`] keeps a create's.
    fn rotate_api_key_kept(
        &self,
        current: &ApiKey,
        rotation: &Rotation,
        replay: &crate::Replay,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

pub trait ApiKeyLookup: Send + Sync {
    /// The lookup item verification reads, strongly consistently.
    fn lookup_api_key(
        &self,
        id: &ApiKeyId,
    ) -> impl Future<Output = StoreResult<Option<KeyLookup>>> + Send;
}

/// The item an imported key's locator names: whose key it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedPointer {
    pub key_id: ApiKeyId,
    pub tenant_id: TenantId,
}

/// Where verify finds the keys a team imported (see [`domain::import`]).
pub trait ImportedKeyLookup: Send + Sync {
    /// The imported key `locator` points at, read strongly consistently.
    fn imported_key(
        &self,
        locator: &domain::KeyLocator,
    ) -> impl Future<Output = StoreResult<Option<ApiKeyId>>> + Send;

    /// Whether any key was ever imported here (an import writes the marker
    /// in its transaction).
    fn imported_keys_exist(&self) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// A key's last use (`last_used_at`). Three words, three things: the last
/// use (this), the balance (what the limits leave, [`Balance`]) and usage
/// (what keys did, counted by outcome: [`crate::UsageLog`]).
pub trait ApiKeyLastUse: Send + Sync {
    /// Sets the key's `last_used_at` to `at` unless it was set less than
    /// `min_interval` before (a conditional write, so a hot key costs one
    /// write per interval whatever the number of instances). Returns whether
    /// it wrote. A key that is gone is left alone.
    fn record_use(
        &self,
        tenant: &TenantId,
        id: &ApiKeyId,
        at: Timestamp,
        min_interval: time::Duration,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// What charging a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// The key has no counters (no limits): nothing was charged.
    Unlimited,
    /// Spent (or, for a cost of 0, passed): the counters after.
    Charged(Balance),
    /// Refused by this limit: the counters as they stood, nothing spent.
    Refused(Balance, LimitHit),
}

/// Whose counters a part of a charge spends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counter {
    /// A key's (or its rotation chain's: `KeyLookup::balance_key`).
    ApiKey(ApiKeyId),
    /// One of an identity's limits.
    Identity(IdentityId, IdentityCounter),
    /// One identifier's window of a rate-limit namespace: made by its first
    /// charge, forgotten after its window.
    RateLimit(crate::LimitWindow),
}

impl Counter {
    /// The counters item's key (partition and sort key alike).
    pub fn pk(&self) -> String {
        match self {
            Self::ApiKey(id) => crate::keys::api_key_balance_pk(id),
            Self::Identity(id, counter) => crate::keys::identity_counter_pk(id, counter),
            Self::RateLimit(window) => window.pk(),
        }
    }

    /// How a charge makes these counters if they are not there yet (only a
    /// rate limit's window: a key's and an identity's are made with them).
    pub(crate) fn start(&self) -> Option<crate::leases::Start> {
        match self {
            Self::ApiKey(_) | Self::Identity(..) => None,
            Self::RateLimit(window) => Some(window.start()),
        }
    }
}

/// One part of a verify's charge: `cost` off `counter`, whose limits the
/// caller believes are `expected` (they shape the first try; the stored
/// counters decide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargePart {
    pub counter: Counter,
    pub expected: KeyLimits,
    pub cost: Cost,
}

/// What charging several counters together did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charges {
    /// Every part spent (or passed, at cost 0): each part's counters after,
    /// in order (`None`: that part has no counters).
    Charged(Vec<Option<Balance>>),
    /// Part `part` refused with `hit` (its counters as they stood): nothing
    /// is spent on any part.
    Refused {
        part: usize,
        balance: Balance,
        hit: LimitHit,
    },
}

pub trait ApiKeyCharge: Send + Sync {
    /// Charges every part at `now`, all or none (see [`Charges`]), each
    /// exactly as [`ApiKeyCharge::charge_api_key`] charges a key's.
    fn charge_together(
        &self,
        parts: &[ChargePart],
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Charges>> + Send;

    /// Charges `cost` to the key's counters at `now`, atomically across every
    /// process: no number of concurrent charges spends more than the limits
    /// allow, and a refill or a new rate window happens once. `expected` is
    /// the limits the caller believes the key has (its lookup item, maybe
    /// cached): it shapes the first try, and the stored counters decide.
    fn charge_api_key(
        &self,
        id: &ApiKeyId,
        expected: &KeyLimits,
        cost: Cost,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Charge>> + Send;

    /// The key's counters as stored (`None`: it has no limits).
    /// A rotated key in its grace period spends its replacement's.
    fn api_key_balance(
        &self,
        id: &ApiKeyId,
    ) -> impl Future<Output = StoreResult<Option<Balance>>> + Send;

    /// Gives back what this process holds leased of keys' counters and has
    /// not spent: the leases past their expiry, or all of them
    /// (`everything`: the process is stopping). Returns how many went back.
    /// A store that leases nothing (the embedded one) has nothing to give.
    fn return_leases(&self, everything: bool) -> impl Future<Output = StoreResult<usize>> + Send {
        let _ = everything;
        std::future::ready(Ok(0))
    }
}

/// The counters of a key whose limits were just set (created, rotated or
/// changed), with a random revision: a charge planned against the counters
/// it replaces can then never match it.
pub fn fresh_balance(key: &ApiKey, now: Timestamp) -> Option<Balance> {
    use rand::{RngCore, TryRngCore, rngs::OsRng};
    let rev = OsRng.unwrap_err().next_u64() & Balance::REV_MASK;
    key.limits.map(|limits| Balance::new(&limits, now, rev))
}

/// The counters item purging `key` removes, if any. The newest key of a
/// rotation chain owns the chain's at the end (older keys end first; while
/// any of them works, the counters are the chain's), and a key that was
/// never rotated owns its own. A key rotated before chains shared one
/// balance (no `balance`, a `rotated_to`) charged its replacement's from
/// then on and left its own counters unused: its purge removes those, which
/// purges of the releases before left behind.
pub fn counters_removed_at_purge(key: &ApiKey) -> Option<&ApiKeyId> {
    match (&key.rotated_to, &key.balance) {
        (None, _) => Some(key.balance_key()),
        (Some(_), None) => Some(&key.id),
        (Some(_), Some(_)) => None,
    }
}
