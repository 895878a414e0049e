//! Storage for the API Keys manager: one small trait per capability (so each
//! handler, and each Lambda's IAM policy, asks only for what it uses), and two
//! implementations that pass the same contract suite:
//!
//! - [`DynamoStore`]: one DynamoDB table (see `docs/data-model.md`);
//! - [`EmbeddedStore`]: a redb file, for the dev server and fast tests.

use std::future::Future;

use domain::{
    ApiKey, ApiKeyCounts, ApiKeyId, ApiKeyName, ApiKeyStatus, Application, ApplicationId,
    ApplicationStatus, Arx, ArxId, ArxStatus, AuditEvent, AuditEventId, Cost, Cursor, ExpiresAt,
    Feedback, KeyLimits, LimitHit, Page, PageLimit, SecretHash, TenantId, Timestamp, Usage,
};
use serde::{Deserialize, Serialize};

pub mod dynamo;
pub mod embedded;
pub mod keys;

pub use dynamo::DynamoStore;
pub use embedded::EmbeddedStore;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition of the change no longer held; nothing was written.
    #[error("the change was refused: {0}")]
    Conflict(#[from] Conflict),
    /// Other changes to the same items kept cancelling this one (DynamoDB's
    /// `TransactionConflict`) through every retry; nothing was written and
    /// trying again shortly is safe.
    #[error("the items were busy with other changes; nothing was written")]
    Contended,
    /// The database could not be reached or answered with an error.
    #[error("the data store failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An item could not be turned back into a domain value.
    #[error("a stored item could not be read")]
    Corrupt(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub(crate) fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(error))
    }

    pub(crate) fn corrupt(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Corrupt(Box::new(error))
    }
}

/// An error and its sources on one line: what a log needs to explain a failure.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Which condition of a change failed, so the API can say why it refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("the application is missing or archived")]
    ApplicationNotAcceptingKeys,
    #[error("the Arx is missing or not active")]
    ArxNotAcceptingKeys,
    #[error("an item with this id already exists")]
    AlreadyExists,
    /// The object changed since it was read (or is gone): read it again.
    #[error("the object changed since it was read")]
    Changed,
}

/// Filters of the API key dashboard; all that are set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiKeyFilter {
    pub application_id: Option<ApplicationId>,
    pub arx_id: Option<ArxId>,
    pub status: Option<ApiKeyStatus>,
}

impl ApiKeyFilter {
    /// Whether `key` passes, judging its status as of `now` (see [`ApiKey::status_at`]).
    pub fn matches(&self, key: &ApiKey, now: Timestamp) -> bool {
        self.application_id
            .as_ref()
            .is_none_or(|id| *id == key.application_id)
            && self.arx_id.as_ref().is_none_or(|id| *id == key.arx_id)
            && self
                .status
                .is_none_or(|status| status == key.status_at(now))
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
}

impl Default for ApiKeyQuery {
    fn default() -> Self {
        Self {
            filter: ApiKeyFilter::default(),
            limit: PageLimit::default(),
            cursor: None,
            as_of: Timestamp::now(),
            consistent: false,
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
    /// The key that replaced this one: through the grace period a rotated
    /// key spends its replacement's counters, so the two share one balance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_to: Option<ApiKeyId>,
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
        }
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
}

pub trait ApiKeyDelete: Send + Sync {
    /// Marks `current` deleted (at and by `audit`) with its lookup item, counts
    /// and `audit`, in one transaction, only if its status is still
    /// `current.status` ([`Conflict::Changed`] otherwise). Returns the new record.
    fn delete_api_key(
        &self,
        current: &ApiKey,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<ApiKey>> + Send;
}

pub trait ApiKeyRotate: Send + Sync {
    /// Replaces `current` by `new` in one transaction: `rotated` (`current`
    /// with its grace period's end and `rotated_to`) over `current` only if
    /// its status is still `current.status` and it was not rotated meanwhile
    /// ([`Conflict::Changed`] otherwise); `new` as [`ApiKeyCreate`] writes a
    /// key (its application and Arx must still accept keys); both lookup
    /// items, the counts and `audit`.
    fn rotate_api_key(
        &self,
        current: &ApiKey,
        rotated: &ApiKey,
        new: &ApiKey,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

pub trait ApiKeySuspend: Send + Sync {
    /// Sets `current`'s status to `to` (active or disabled) with its lookup
    /// item, counts and `audit`, in one transaction, only if its status is
    /// still `current.status` ([`Conflict::Changed`] otherwise). Returns the
    /// new record.
    fn set_api_key_status(
        &self,
        current: &ApiKey,
        to: ApiKeyStatus,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<ApiKey>> + Send;
}

pub trait ApiKeyLookup: Send + Sync {
    /// The lookup item verification reads, strongly consistently.
    fn lookup_api_key(
        &self,
        id: &ApiKeyId,
    ) -> impl Future<Output = StoreResult<Option<KeyLookup>>> + Send;
}

pub trait ApiKeyUsage: Send + Sync {
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
    Charged(Usage),
    /// Refused by this limit: the counters as they stood, nothing spent.
    Refused(Usage, LimitHit),
}

pub trait ApiKeyCharge: Send + Sync {
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
    fn api_key_usage(
        &self,
        id: &ApiKeyId,
    ) -> impl Future<Output = StoreResult<Option<Usage>>> + Send;
}

pub trait ApiKeyLimit: Send + Sync {
    /// Writes `next` (`current` with other limits) with its lookup item, its
    /// counters started afresh ([`fresh_usage`]; none when it has no limits)
    /// and `audit`, in one transaction, only if the stored status is still
    /// `current.status` ([`Conflict::Changed`] otherwise).
    fn set_api_key_limits(
        &self,
        current: &ApiKey,
        next: &ApiKey,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The counters of a key whose limits were just set (created, rotated or
/// changed), with a random revision: a charge planned against the counters
/// it replaces can then never match it.
pub fn fresh_usage(key: &ApiKey, now: Timestamp) -> Option<Usage> {
    use rand::{RngCore, TryRngCore, rngs::OsRng};
    let rev = OsRng.unwrap_err().next_u64() & Usage::REV_MASK;
    key.limits.map(|limits| Usage::new(&limits, now, rev))
}

/// What the GitHub secret scanning endpoint writes.
pub trait LeakReports: Send + Sync {
    /// Disables an active `current` because it leaked ([`leaked_api_key`]),
    /// with its lookup item, counts and `audit`, in one transaction, only if
    /// it is still active ([`Conflict::Changed`] otherwise).
    fn disable_leaked_api_key(
        &self,
        current: &ApiKey,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<ApiKey>> + Send;

    /// Whether a report with this digest (of its signed body) was handled.
    fn leak_report_handled(&self, digest: &str) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Records that the report with this digest was handled; DynamoDB lets
    /// the record go after [`LEAK_REPORT_KEPT_DAYS`].
    fn record_leak_report(
        &self,
        digest: &str,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// How long a handled report is remembered, so that replaying it does nothing.
pub const LEAK_REPORT_KEPT_DAYS: i64 = 90;

/// A handled leak report, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakReportRecord {
    pub digest: String,
    pub handled_at: Timestamp,
}

/// What the sweep does to a key on the day it is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DueWork {
    /// Tell whoever watches the notifications topic that an active key will
    /// expire soon. Its partition is the expiry day; a key leaves it once
    /// told (or rotated) for [`DueWork::Expire`]'s.
    Notice,
    /// Record that an active key passed its expiry.
    Expire,
    /// Remove a deleted or expired key past retention.
    Purge,
}

/// How far the sweep has got: the first day of each kind of work that is not
/// yet fully done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepProgress {
    pub expire_from: time::Date,
    pub purge_from: time::Date,
}

pub trait ApiKeySweep: Send + Sync {
    /// Up to `limit` keys with `work` due on `day` at or before `until`,
    /// across tenants, the earliest due first. Keys leave this list as they
    /// are expired or purged, so a sweep reads it again until it is empty.
    fn due_api_keys(
        &self,
        work: DueWork,
        day: time::Date,
        until: Timestamp,
        limit: PageLimit,
    ) -> impl Future<Output = StoreResult<Vec<ApiKey>>> + Send;

    /// Marks an active `current` expired (with its lookup item, counts and
    /// `audit`) if it is still active ([`Conflict::Changed`] otherwise).
    fn expire_api_key(
        &self,
        current: &ApiKey,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<ApiKey>> + Send;

    /// Sets when `current`'s expiry notice was sent (`None` gives a notice
    /// back after a failed publish), if the stored key is still active with
    /// `current`'s `expiry_notice_sent_at` ([`Conflict::Changed`] otherwise):
    /// of two sweeps racing for one key's notice, one wins. Returns the new
    /// record.
    fn set_expiry_notice_sent(
        &self,
        current: &ApiKey,
        sent_at: Option<Timestamp>,
    ) -> impl Future<Output = StoreResult<ApiKey>> + Send;

    /// Removes `current` and its lookup item and writes `audit`, if its status
    /// is still `current.status`. Its earlier audit events stay.
    fn purge_api_key(
        &self,
        current: &ApiKey,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn sweep_progress(&self) -> impl Future<Output = StoreResult<Option<SweepProgress>>> + Send;

    fn save_sweep_progress(
        &self,
        progress: &SweepProgress,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// What a cascade deletes the keys of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CascadeTarget {
    /// An application that was archived.
    Application { tenant: TenantId, id: ApplicationId },
    /// An Arx that was deleted.
    Arx { tenant: TenantId, id: ArxId },
}

impl CascadeTarget {
    pub fn tenant(&self) -> &TenantId {
        match self {
            Self::Application { tenant, .. } | Self::Arx { tenant, .. } => tenant,
        }
    }
}

/// A cascade the jobs owe. It is written in the same transaction as the
/// archive (or Arx deletion) that calls for it and removed once the cascade
/// has run, so a stream batch that is dropped, or a cascade cut short by its
/// deadline, never leaves keys alive: the sweep runs what is still here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCascade {
    pub target: CascadeTarget,
    pub since: Timestamp,
}

impl PendingCascade {
    /// The cascade an application change calls for: its archive.
    pub(crate) fn owed_by_application(
        updated: &Application,
        expected: ApplicationStatus,
        audit: &AuditEvent,
    ) -> Option<Self> {
        (updated.status == ApplicationStatus::Archived && expected != ApplicationStatus::Archived)
            .then(|| Self {
                target: CascadeTarget::Application {
                    tenant: updated.tenant_id.clone(),
                    id: updated.id.clone(),
                },
                since: audit.at,
            })
    }

    /// The cascade an Arx change calls for: its deletion.
    pub(crate) fn owed_by_arx(
        updated: &Arx,
        expected: ArxStatus,
        audit: &AuditEvent,
    ) -> Option<Self> {
        (updated.status == ArxStatus::Deleted && expected != ArxStatus::Deleted).then(|| Self {
            target: CascadeTarget::Arx {
                tenant: updated.tenant_id.clone(),
                id: updated.id.clone(),
            },
            since: audit.at,
        })
    }
}

pub trait PendingCascades: Send + Sync {
    /// Every cascade not yet finished, across tenants (a handful at most:
    /// each leaves as soon as its cascade has run).
    fn pending_cascades(&self) -> impl Future<Output = StoreResult<Vec<PendingCascade>>> + Send;

    /// Records that `target`'s cascade has run (nothing if it was not pending).
    fn finish_cascade(
        &self,
        target: &CascadeTarget,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

pub trait ApplicationStore: Send + Sync {
    /// Stores a new application with `audit`.
    fn create_application(
        &self,
        application: &Application,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn get_application(
        &self,
        tenant: &TenantId,
        id: &ApplicationId,
    ) -> impl Future<Output = StoreResult<Option<Application>>> + Send;

    fn list_applications(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<ApplicationId>>,
    ) -> impl Future<Output = StoreResult<Page<Application, ApplicationId>>> + Send;

    /// Replaces the application with `updated` (an update or an archive) and
    /// writes `audit`, only if its stored status is still `expected`.
    fn replace_application(
        &self,
        updated: &Application,
        expected: ApplicationStatus,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

pub trait ArxStore: Send + Sync {
    fn create_arx(
        &self,
        arx: &Arx,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn get_arx(
        &self,
        tenant: &TenantId,
        id: &ArxId,
    ) -> impl Future<Output = StoreResult<Option<Arx>>> + Send;

    fn list_arx(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<ArxId>>,
    ) -> impl Future<Output = StoreResult<Page<Arx, ArxId>>> + Send;

    /// Replaces the Arx with `updated` (an update, disable, enable or delete) and
    /// writes `audit`, only if its stored status is still `expected`.
    fn replace_arx(
        &self,
        updated: &Arx,
        expected: ArxStatus,
        audit: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

pub trait FeedbackStore: Send + Sync {
    fn put_feedback(&self, feedback: &Feedback) -> impl Future<Output = StoreResult<()>> + Send;
}

/// What an audit list is narrowed to: one of these at a time, each served by
/// an index of its own (`keys::AuditIndex`), so a page costs the same
/// however large the tenant's log is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditFilter {
    /// Events about one object (an API key, application or Arx id).
    Object(String),
    /// Events by one actor, as `Actor`'s display shows it (`user-1`, `system:sweep`).
    Actor(String),
    Action(domain::AuditAction),
}

pub trait AuditLog: Send + Sync {
    /// A page of the tenant's audit events, newest first.
    fn list_audit_events(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<AuditEventId>>,
    ) -> impl Future<Output = StoreResult<Page<AuditEvent, AuditEventId>>> + Send;

    /// A page of the tenant's audit events that `filter` names, newest first.
    /// Events written before the filters existed are only in the full list.
    fn list_audit_events_by(
        &self,
        tenant: &TenantId,
        filter: &AuditFilter,
        limit: PageLimit,
        cursor: Option<&Cursor<AuditEventId>>,
    ) -> impl Future<Output = StoreResult<Page<AuditEvent, AuditEventId>>> + Send;
}

/// The record of `current` once deleted as `audit` says: both stores write exactly this.
pub fn deleted_api_key(current: &ApiKey, audit: &AuditEvent) -> ApiKey {
    ApiKey {
        status: ApiKeyStatus::Deleted,
        deleted_at: Some(audit.at),
        deleted_by: Some(audit.actor.clone()),
        ..current.clone()
    }
}

/// The record of `current` with another status (suspended or resumed by a
/// person: no reason, and a resumed key forgets why it was disabled).
pub fn with_status(current: &ApiKey, status: ApiKeyStatus) -> ApiKey {
    ApiKey {
        status,
        disabled_reason: None,
        ..current.clone()
    }
}

/// The record of an active `current` disabled because it leaked.
pub fn leaked_api_key(current: &ApiKey) -> ApiKey {
    ApiKey {
        status: ApiKeyStatus::Disabled,
        disabled_reason: Some(domain::DisabledReason::Leaked),
        ..current.clone()
    }
}

/// The record of an active `current` once the sweep records its expiry.
pub fn expired_api_key(current: &ApiKey) -> ApiKey {
    with_status(current, ApiKeyStatus::Expired)
}

/// Turns up to `limit + 1` items, newest first, into a page: the extra item only
/// proves there is a next page, which starts after the last item shown.
pub(crate) fn into_page<T, Id: domain::PrefixedId + Clone>(
    mut items: Vec<T>,
    limit: PageLimit,
    id_of: impl Fn(&T) -> &Id,
) -> Page<T, Id> {
    let more = items.len() > limit.get();
    items.truncate(limit.get());
    let next = if more {
        items.last().map(|last| Cursor::after(id_of(last).clone()))
    } else {
        None
    };
    Page { items, next }
}
