//! The embedded store: one redb file laid out like the DynamoDB table, so both
//! stores share the key strings of [`crate::keys`] and behave the same.
//!
//! Why redb: pure Rust (no C toolchain, nothing to install), a single file,
//! ACID write transactions that serialise writers (so concurrent requests can't
//! lose an update), MVCC reads that never block, and ordered range scans in both
//! directions, which is what newest-first pages need. sled is unmaintained and
//! SQLite would bring C and a second data model.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use domain::{
    ApiKey, ApiKeyCounts, ApiKeyId, ApiKeyStatus, Application, ApplicationId, ApplicationStatus,
    Arx, ArxId, ArxStatus, AuditEvent, AuditEventId, Cost, Cursor, Feedback, KeyLimits, Page,
    PageLimit, PrefixedId, TenantId, Timestamp, Usage,
};
use redb::{Database, ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::keys::{
    self, API_KEY_COUNTS_SK, API_KEY_SK_PREFIX, APPLICATION_SK_PREFIX, ARX_SK_PREFIX,
    AUDIT_SK_PREFIX, ApiKeyIndex, AuditIndex, api_key_list_partition, api_key_lookup_pk,
    api_key_sk, api_key_usage_pk, application_sk, arx_sk, audit_sk, expiring_keys_pk, feedback_sk,
    leak_report_pk, tenant_pk,
};
use crate::{
    ApiKeyCharge, ApiKeyCreate, ApiKeyDelete, ApiKeyLimit, ApiKeyLookup, ApiKeyQuery, ApiKeyRead,
    ApiKeyRotate, ApiKeySuspend, ApiKeySweep, ApiKeyUsage, ApplicationStore, ArxStore, AuditFilter,
    AuditLog, CascadeTarget, Charge, Conflict, DueWork, FeedbackStore, KeyLookup, LeakReportRecord,
    LeakReports, PendingCascade, PendingCascades, StoreError, StoreResult, SweepProgress,
    deleted_api_key, expired_api_key, fresh_usage, into_page, leaked_api_key, with_status,
};

/// `(PK, SK)` → the item as JSON: the table.
const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("items");
/// `(index partition, SK)` → `()`: the API key indexes (GSI1..3). The item is at
/// `(TENANT#t, SK)` in [`ITEMS`]; every index partition belongs to one tenant.
const API_KEY_INDEX: TableDefinition<(&str, &str), ()> = TableDefinition::new("api_key_index");
/// `(partition, audit sort key)` of each audit filter's index (`keys::AuditIndex`).
const AUDIT_INDEX: TableDefinition<(&str, &str), ()> = TableDefinition::new("audit_index");

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

impl fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedStore").finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens the database file at `path`, creating it (not its folder) if missing.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let db = Database::create(path).map_err(StoreError::backend)?;
        let txn = db.begin_write().map_err(StoreError::backend)?;
        txn.open_table(ITEMS).map_err(StoreError::backend)?;
        txn.open_table(API_KEY_INDEX).map_err(StoreError::backend)?;
        txn.open_table(AUDIT_INDEX).map_err(StoreError::backend)?;
        txn.commit().map_err(StoreError::backend)?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Runs `work` in a read transaction, on the caller's task. A read is a
    /// few microseconds of page-cache lookups and never waits for a writer
    /// (MVCC); sending it to the blocking pool and back cost more than the
    /// read (40 to 60 µs of thread wake-ups measured on a 2-core VM, the
    /// bulk of a cold verify). Writes still go there: a commit waits for the
    /// disk.
    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&ReadTransaction) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let txn = self.db.begin_read().map_err(StoreError::backend)?;
        work(&txn)
    }

    /// Runs `work` in a write transaction, committed only if it succeeds: an
    /// error drops the transaction, which aborts it and writes nothing.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&WriteTransaction) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_write().map_err(StoreError::backend)?;
            let value = work(&txn)?;
            txn.commit().map_err(StoreError::backend)?;
            Ok(value)
        })
        .await
        .map_err(StoreError::backend)?
    }
}

fn get<T: DeserializeOwned>(
    table: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    pk: &str,
    sk: &str,
) -> StoreResult<Option<T>> {
    match table.get((pk, sk)).map_err(StoreError::backend)? {
        Some(bytes) => serde_json::from_slice(bytes.value())
            .map(Some)
            .map_err(StoreError::corrupt),
        None => Ok(None),
    }
}

fn put<T: Serialize>(
    table: &mut redb::Table<(&'static str, &'static str), &'static [u8]>,
    pk: &str,
    sk: &str,
    value: &T,
) -> StoreResult<()> {
    let bytes = serde_json::to_vec(value).map_err(StoreError::corrupt)?;
    table
        .insert((pk, sk), bytes.as_slice())
        .map_err(StoreError::backend)?;
    Ok(())
}

/// The first string after every string that starts with `prefix` (which ends in `#`).
fn prefix_end(prefix: &str) -> String {
    format!("{}$", prefix.trim_end_matches('#'))
}

/// The exclusive upper bound of a newest-first read: the cursor's item, or the
/// end of the prefix.
fn upper_bound<Id: PrefixedId>(prefix: &str, cursor: Option<&Cursor<Id>>) -> String {
    cursor.map_or_else(
        || prefix_end(prefix),
        |c| format!("{prefix}{}", c.last_seen().as_str()),
    )
}

/// Items of one tenant whose SK starts with `prefix`, newest first, until
/// `limit + 1` of them pass `keep`.
fn tenant_items_newest_first<T: DeserializeOwned, Id: PrefixedId>(
    items: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    pk: &str,
    prefix: &str,
    cursor: Option<&Cursor<Id>>,
    limit: usize,
    keep: impl Fn(&T) -> bool,
) -> StoreResult<Vec<T>> {
    let upper = upper_bound(prefix, cursor);
    let mut found = Vec::with_capacity(limit + 1);
    for entry in items
        .range((pk, prefix)..(pk, upper.as_str()))
        .map_err(StoreError::backend)?
        .rev()
    {
        let (_, bytes) = entry.map_err(StoreError::backend)?;
        let value: T = serde_json::from_slice(bytes.value()).map_err(StoreError::corrupt)?;
        if keep(&value) {
            found.push(value);
            if found.len() > limit {
                break;
            }
        }
    }
    Ok(found)
}

impl EmbeddedStore {
    async fn list_tenant_items<T, Id>(
        &self,
        tenant: &TenantId,
        prefix: &'static str,
        limit: PageLimit,
        cursor: Option<&Cursor<Id>>,
        id_of: fn(&T) -> &Id,
    ) -> StoreResult<Page<T, Id>>
    where
        T: DeserializeOwned + Send + 'static,
        Id: PrefixedId + Clone + Send + 'static,
    {
        let pk = tenant_pk(tenant);
        let cursor = cursor.cloned();
        self.read(move |txn| {
            let table = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let found = tenant_items_newest_first(
                &table,
                &pk,
                prefix,
                cursor.as_ref(),
                limit.get(),
                |_: &T| true,
            )?;
            Ok(into_page(found, limit, id_of))
        })
        .await
    }

    async fn get_tenant_item<T: DeserializeOwned + Send + 'static>(
        &self,
        pk: String,
        sk: String,
    ) -> StoreResult<Option<T>> {
        self.read(move |txn| {
            let table = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            get(&table, &pk, &sk)
        })
        .await
    }

    /// Writes `value` at `(pk, sk)` with `audit`: as new, or replacing an item
    /// still in `expected` status.
    async fn write_audited<T: Serialize + Send + Sync + 'static>(
        &self,
        (pk, sk): (String, String),
        value: T,
        expected: Option<&'static str>,
        audit: &AuditEvent,
        owed: Option<PendingCascade>,
    ) -> StoreResult<()> {
        #[derive(serde::Deserialize)]
        struct Status {
            status: String,
        }
        let audit = audit.clone();
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let stored: Option<Status> = get(&items, &pk, &sk)?;
            match (expected, stored) {
                (None, Some(_)) => return Err(Conflict::AlreadyExists.into()),
                (Some(wanted), stored) if stored.as_ref().is_none_or(|s| s.status != wanted) => {
                    return Err(Conflict::Changed.into());
                }
                _ => {}
            }
            put(&mut items, &pk, &sk, &value)?;
            if let Some(owed) = &owed {
                let sk = keys::pending_cascade_sk(&owed.target);
                put(&mut items, keys::PENDING_CASCADES_PK, &sk, owed)?;
            }
            put_audit(txn, &mut items, &audit)
        })
        .await
    }
}

/// Moves a key's index entries from `before` (None: a new key) to `after`
/// (None: a purged key), and its counts with it.
fn index_api_key(
    txn: &WriteTransaction,
    before: Option<&ApiKey>,
    after: Option<&ApiKey>,
) -> StoreResult<()> {
    let mut index = txn.open_table(API_KEY_INDEX).map_err(StoreError::backend)?;
    let entries = |key: &ApiKey| {
        ApiKeyIndex::SECONDARY
            .into_iter()
            .filter_map(|index| index.entry_of(key))
            .collect::<Vec<_>>()
    };
    for (partition, sk) in before.map(entries).unwrap_or_default() {
        index
            .remove((partition.as_str(), sk.as_str()))
            .map_err(StoreError::backend)?;
    }
    for (partition, sk) in after.map(entries).unwrap_or_default() {
        index
            .insert((partition.as_str(), sk.as_str()), ())
            .map_err(StoreError::backend)?;
    }
    let Some(tenant) = after.or(before).map(|key| &key.tenant_id) else {
        return Ok(());
    };
    let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
    let pk = tenant_pk(tenant);
    let counts: ApiKeyCounts = get(&items, &pk, API_KEY_COUNTS_SK)?.unwrap_or_default();
    let delta = ApiKeyCounts::delta(before.map(|b| b.status), after.map(|a| a.status));
    put(&mut items, &pk, API_KEY_COUNTS_SK, &counts.apply(delta))
}

impl ApiKeyRead for EmbeddedStore {
    async fn get_api_key(&self, tenant: &TenantId, id: &ApiKeyId) -> StoreResult<Option<ApiKey>> {
        self.get_tenant_item(tenant_pk(tenant), api_key_sk(id))
            .await
    }

    async fn list_api_keys(
        &self,
        tenant: &TenantId,
        query: &ApiKeyQuery,
    ) -> StoreResult<Page<ApiKey, ApiKeyId>> {
        let (index, partition) = api_key_list_partition(tenant, query);
        let pk = tenant_pk(tenant);
        let query = query.clone();
        self.read(move |txn| {
            let items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let limit = query.limit.get();
            let keep = |key: &ApiKey| query.filter.matches(key, query.as_of);
            let found = if index == ApiKeyIndex::Table {
                tenant_items_newest_first(
                    &items,
                    &pk,
                    API_KEY_SK_PREFIX,
                    query.cursor.as_ref(),
                    limit,
                    keep,
                )?
            } else {
                let index = txn.open_table(API_KEY_INDEX).map_err(StoreError::backend)?;
                let upper = upper_bound(API_KEY_SK_PREFIX, query.cursor.as_ref());
                let range =
                    (partition.as_str(), API_KEY_SK_PREFIX)..(partition.as_str(), upper.as_str());
                let mut found = Vec::with_capacity(limit + 1);
                for entry in index.range(range).map_err(StoreError::backend)?.rev() {
                    let (entry_key, _) = entry.map_err(StoreError::backend)?;
                    let (_, sk) = entry_key.value();
                    let Some(key) = get::<ApiKey>(&items, &pk, sk)? else {
                        continue;
                    };
                    if keep(&key) {
                        found.push(key);
                        if found.len() > limit {
                            break;
                        }
                    }
                }
                found
            };
            Ok(into_page(found, query.limit, |key: &ApiKey| &key.id))
        })
        .await
    }

    async fn api_key_counts(&self, tenant: &TenantId) -> StoreResult<ApiKeyCounts> {
        let pk = tenant_pk(tenant);
        let expiring = expiring_keys_pk(tenant);
        let after = keys::due_sk_after(Timestamp::now());
        self.read(move |txn| {
            let items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let counts: ApiKeyCounts = get(&items, &pk, API_KEY_COUNTS_SK)?.unwrap_or_default();
            // Keys recorded active but already past their expiry (see `GSI5`).
            let index = txn.open_table(API_KEY_INDEX).map_err(StoreError::backend)?;
            let past = (expiring.as_str(), "")..(expiring.as_str(), after.as_str());
            let unrecorded = index.range(past).map_err(StoreError::backend)?.count();
            Ok(counts.with_unrecorded_expiries(unrecorded as u64))
        })
        .await
    }
}

impl ApiKeyCreate for EmbeddedStore {
    async fn create_api_key(&self, key: &ApiKey, audit: &AuditEvent) -> StoreResult<()> {
        let (key, audit) = (key.clone(), audit.clone());
        self.write(move |txn| {
            insert_new_key(txn, &key)?;
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            put_audit(txn, &mut items, &audit)
        })
        .await
    }
}

impl ApiKeyRotate for EmbeddedStore {
    async fn rotate_api_key(
        &self,
        current: &ApiKey,
        rotated: &ApiKey,
        new: &ApiKey,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let (current, rotated, new, audit) =
            (current.clone(), rotated.clone(), new.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let (pk, sk) = (tenant_pk(&current.tenant_id), api_key_sk(&current.id));
            let stored: Option<ApiKey> = get(&items, &pk, &sk)?;
            let Some(stored) =
                stored.filter(|s| s.status == current.status && s.rotated_to.is_none())
            else {
                return Err(Conflict::Changed.into());
            };
            let lookup = api_key_lookup_pk(&rotated.id);
            put(&mut items, &pk, &sk, &rotated)?;
            put(&mut items, &lookup, &lookup, &KeyLookup::of(&rotated))?;
            put_audit(txn, &mut items, &audit)?;
            drop(items);
            index_api_key(txn, Some(&stored), Some(&rotated))?;
            // Refused (an archived application, say): the whole write is dropped.
            insert_new_key(txn, &new)
        })
        .await
    }
}

/// An audit event, and its entry in each filter's index.
fn put_audit(
    txn: &WriteTransaction,
    items: &mut redb::Table<(&'static str, &'static str), &'static [u8]>,
    audit: &AuditEvent,
) -> StoreResult<()> {
    put(
        items,
        &tenant_pk(&audit.tenant_id),
        &audit_sk(&audit.id),
        audit,
    )?;
    let mut index = txn.open_table(AUDIT_INDEX).map_err(StoreError::backend)?;
    for by in AuditIndex::ALL {
        let (partition, sk) = by.entry_of(audit);
        index
            .insert((partition.as_str(), sk.as_str()), ())
            .map_err(StoreError::backend)?;
    }
    Ok(())
}

/// A new key, its lookup item, index entries and counts, if its application
/// and Arx still accept keys and neither item exists yet.
fn insert_new_key(txn: &WriteTransaction, key: &ApiKey) -> StoreResult<()> {
    let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
    let pk = tenant_pk(&key.tenant_id);
    let application: Option<Application> = get(&items, &pk, &application_sk(&key.application_id))?;
    if !application.is_some_and(|a| a.accepts_new_keys()) {
        return Err(Conflict::ApplicationNotAcceptingKeys.into());
    }
    let arx: Option<Arx> = get(&items, &pk, &arx_sk(&key.arx_id))?;
    if !arx.is_some_and(|a| a.accepts_new_keys()) {
        return Err(Conflict::ArxNotAcceptingKeys.into());
    }
    let (sk, lookup) = (api_key_sk(&key.id), api_key_lookup_pk(&key.id));
    if items
        .get((pk.as_str(), sk.as_str()))
        .map_err(StoreError::backend)?
        .is_some()
        || items
            .get((lookup.as_str(), lookup.as_str()))
            .map_err(StoreError::backend)?
            .is_some()
    {
        return Err(Conflict::AlreadyExists.into());
    }
    put(&mut items, &pk, &sk, key)?;
    put(&mut items, &lookup, &lookup, &KeyLookup::of(key))?;
    put_usage(&mut items, key)?;
    drop(items);
    index_api_key(txn, None, Some(key))
}

/// `key`'s counters started afresh, or none if it has no limits.
fn put_usage(
    items: &mut redb::Table<(&'static str, &'static str), &'static [u8]>,
    key: &ApiKey,
) -> StoreResult<()> {
    let usage_pk = api_key_usage_pk(&key.id);
    match fresh_usage(key, Timestamp::now()) {
        Some(usage) => put(items, &usage_pk, &usage_pk, &usage),
        None => items
            .remove((usage_pk.as_str(), usage_pk.as_str()))
            .map(drop)
            .map_err(StoreError::backend),
    }
}

impl ApiKeyDelete for EmbeddedStore {
    async fn delete_api_key(&self, current: &ApiKey, audit: &AuditEvent) -> StoreResult<ApiKey> {
        let (current, audit) = (current.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let (pk, sk) = (tenant_pk(&current.tenant_id), api_key_sk(&current.id));
            let stored: Option<ApiKey> = get(&items, &pk, &sk)?;
            let Some(stored) = stored.filter(|s| s.status == current.status) else {
                return Err(Conflict::Changed.into());
            };
            let deleted = deleted_api_key(&stored, &audit);
            let lookup = api_key_lookup_pk(&deleted.id);
            put(&mut items, &pk, &sk, &deleted)?;
            put(&mut items, &lookup, &lookup, &KeyLookup::of(&deleted))?;
            put_audit(txn, &mut items, &audit)?;
            drop(items);
            index_api_key(txn, Some(&stored), Some(&deleted))?;
            Ok(deleted)
        })
        .await
    }
}

impl ApiKeySuspend for EmbeddedStore {
    async fn set_api_key_status(
        &self,
        current: &ApiKey,
        to: ApiKeyStatus,
        audit: &AuditEvent,
    ) -> StoreResult<ApiKey> {
        let next = with_status(current, to);
        self.change_api_key(current, Some(next.clone()), audit)
            .await?;
        Ok(next)
    }
}

impl ApiKeyLookup for EmbeddedStore {
    async fn lookup_api_key(&self, id: &ApiKeyId) -> StoreResult<Option<KeyLookup>> {
        let pk = api_key_lookup_pk(id);
        self.get_tenant_item(pk.clone(), pk).await
    }
}

impl ApiKeyUsage for EmbeddedStore {
    async fn record_use(
        &self,
        tenant: &TenantId,
        id: &ApiKeyId,
        at: Timestamp,
        min_interval: time::Duration,
    ) -> StoreResult<bool> {
        let (pk, sk) = (tenant_pk(tenant), api_key_sk(id));
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let Some(mut key) = get::<ApiKey>(&items, &pk, &sk)? else {
                return Ok(false);
            };
            if key
                .last_used_at
                .is_some_and(|last| last > at.plus(-min_interval))
            {
                return Ok(false);
            }
            key.last_used_at = Some(at);
            put(&mut items, &pk, &sk, &key)?;
            Ok(true)
        })
        .await
    }
}

impl ApiKeyCharge for EmbeddedStore {
    async fn charge_api_key(
        &self,
        id: &ApiKeyId,
        _expected: &KeyLimits,
        cost: Cost,
        now: Timestamp,
    ) -> StoreResult<Charge> {
        // The write transaction serialises charges: read, decide, write.
        let pk = api_key_usage_pk(id);
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let Some(usage) = get::<Usage>(&items, &pk, &pk)? else {
                return Ok(Charge::Unlimited);
            };
            match usage.charge(cost, now) {
                Err(hit) => Ok(Charge::Refused(usage, hit)),
                Ok(charged) => {
                    // A peek writes only to start a window or refill.
                    if cost.get() > 0 || usage.rolls_over(now) {
                        put(&mut items, &pk, &pk, &charged)?;
                    }
                    Ok(Charge::Charged(charged))
                }
            }
        })
        .await
    }

    async fn api_key_usage(&self, id: &ApiKeyId) -> StoreResult<Option<Usage>> {
        let pk = api_key_usage_pk(id);
        self.get_tenant_item(pk.clone(), pk).await
    }
}

impl LeakReports for EmbeddedStore {
    async fn disable_leaked_api_key(
        &self,
        current: &ApiKey,
        audit: &AuditEvent,
    ) -> StoreResult<ApiKey> {
        if current.status != ApiKeyStatus::Active {
            return Err(Conflict::Changed.into());
        }
        let next = leaked_api_key(current);
        self.change_api_key(current, Some(next.clone()), audit)
            .await?;
        Ok(next)
    }

    async fn leak_report_handled(&self, digest: &str) -> StoreResult<bool> {
        let pk = leak_report_pk(digest);
        let record: Option<LeakReportRecord> = self.get_tenant_item(pk.clone(), pk).await?;
        Ok(record.is_some())
    }

    async fn record_leak_report(&self, digest: &str, at: Timestamp) -> StoreResult<()> {
        let pk = leak_report_pk(digest);
        let record = LeakReportRecord {
            digest: digest.to_owned(),
            handled_at: at,
        };
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            put(&mut items, &pk, &pk, &record)
        })
        .await
    }
}

impl ApiKeyLimit for EmbeddedStore {
    async fn set_api_key_limits(
        &self,
        current: &ApiKey,
        next: &ApiKey,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let (current, next, audit) = (current.clone(), next.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let (pk, sk) = (tenant_pk(&current.tenant_id), api_key_sk(&current.id));
            let stored: Option<ApiKey> = get(&items, &pk, &sk)?;
            let Some(stored) = stored.filter(|s| s.status == current.status) else {
                return Err(Conflict::Changed.into());
            };
            // Only the limits change: a `last_used_at` written meanwhile stays.
            let next = ApiKey {
                limits: next.limits,
                ..stored
            };
            let lookup = api_key_lookup_pk(&next.id);
            put(&mut items, &pk, &sk, &next)?;
            put(&mut items, &lookup, &lookup, &KeyLookup::of(&next))?;
            put_usage(&mut items, &next)?;
            put_audit(txn, &mut items, &audit)
        })
        .await
    }
}

impl ApplicationStore for EmbeddedStore {
    async fn create_application(
        &self,
        application: &Application,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let key = (
            tenant_pk(&application.tenant_id),
            application_sk(&application.id),
        );
        self.write_audited(key, application.clone(), None, audit, None)
            .await
    }

    async fn get_application(
        &self,
        tenant: &TenantId,
        id: &ApplicationId,
    ) -> StoreResult<Option<Application>> {
        self.get_tenant_item(tenant_pk(tenant), application_sk(id))
            .await
    }

    async fn list_applications(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<ApplicationId>>,
    ) -> StoreResult<Page<Application, ApplicationId>> {
        self.list_tenant_items(
            tenant,
            APPLICATION_SK_PREFIX,
            limit,
            cursor,
            |a: &Application| &a.id,
        )
        .await
    }

    async fn replace_application(
        &self,
        updated: &Application,
        expected: ApplicationStatus,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let key = (tenant_pk(&updated.tenant_id), application_sk(&updated.id));
        let owed = PendingCascade::owed_by_application(updated, expected, audit);
        self.write_audited(key, updated.clone(), Some(expected.as_str()), audit, owed)
            .await
    }
}

impl ArxStore for EmbeddedStore {
    async fn create_arx(&self, arx: &Arx, audit: &AuditEvent) -> StoreResult<()> {
        let key = (tenant_pk(&arx.tenant_id), keys::arx_sk(&arx.id));
        self.write_audited(key, arx.clone(), None, audit, None)
            .await
    }

    async fn get_arx(&self, tenant: &TenantId, id: &ArxId) -> StoreResult<Option<Arx>> {
        self.get_tenant_item(tenant_pk(tenant), arx_sk(id)).await
    }

    async fn list_arx(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<ArxId>>,
    ) -> StoreResult<Page<Arx, ArxId>> {
        self.list_tenant_items(tenant, ARX_SK_PREFIX, limit, cursor, |a: &Arx| &a.id)
            .await
    }

    async fn replace_arx(
        &self,
        updated: &Arx,
        expected: ArxStatus,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let key = (tenant_pk(&updated.tenant_id), arx_sk(&updated.id));
        let owed = PendingCascade::owed_by_arx(updated, expected, audit);
        self.write_audited(key, updated.clone(), Some(expected.as_str()), audit, owed)
            .await
    }
}

impl FeedbackStore for EmbeddedStore {
    async fn put_feedback(&self, feedback: &Feedback) -> StoreResult<()> {
        let feedback = feedback.clone();
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            put(
                &mut items,
                &tenant_pk(&feedback.tenant_id),
                &feedback_sk(&feedback.id),
                &feedback,
            )
        })
        .await
    }
}

impl AuditLog for EmbeddedStore {
    async fn list_audit_events(
        &self,
        tenant: &TenantId,
        limit: PageLimit,
        cursor: Option<&Cursor<AuditEventId>>,
    ) -> StoreResult<Page<AuditEvent, AuditEventId>> {
        self.list_tenant_items(tenant, AUDIT_SK_PREFIX, limit, cursor, |e: &AuditEvent| {
            &e.id
        })
        .await
    }

    async fn list_audit_events_by(
        &self,
        tenant: &TenantId,
        filter: &AuditFilter,
        limit: PageLimit,
        cursor: Option<&Cursor<AuditEventId>>,
    ) -> StoreResult<Page<AuditEvent, AuditEventId>> {
        let (_, partition) = AuditIndex::of(tenant, filter);
        let pk = tenant_pk(tenant);
        let cursor = cursor.cloned();
        self.read(move |txn| {
            let items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let index = txn.open_table(AUDIT_INDEX).map_err(StoreError::backend)?;
            let upper = upper_bound(AUDIT_SK_PREFIX, cursor.as_ref());
            let range = (partition.as_str(), AUDIT_SK_PREFIX)..(partition.as_str(), upper.as_str());
            let mut found = Vec::with_capacity(limit.get() + 1);
            for entry in index.range(range).map_err(StoreError::backend)?.rev() {
                let (entry_key, _) = entry.map_err(StoreError::backend)?;
                let (_, sk) = entry_key.value();
                if let Some(event) = get::<AuditEvent>(&items, &pk, sk)? {
                    found.push(event);
                    if found.len() > limit.get() {
                        break;
                    }
                }
            }
            Ok(into_page(found, limit, |e: &AuditEvent| &e.id))
        })
        .await
    }
}

impl EmbeddedStore {
    /// Replaces `current` with `next` (`None`: removes it and its lookup item)
    /// and writes `audit`, if its stored status is still `current.status`.
    async fn change_api_key(
        &self,
        current: &ApiKey,
        next: Option<ApiKey>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let (current, audit) = (current.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let (pk, sk) = (tenant_pk(&current.tenant_id), api_key_sk(&current.id));
            let stored: Option<ApiKey> = get(&items, &pk, &sk)?;
            let Some(stored) = stored.filter(|s| s.status == current.status) else {
                return Err(Conflict::Changed.into());
            };
            let lookup = api_key_lookup_pk(&stored.id);
            match &next {
                Some(next) => {
                    put(&mut items, &pk, &sk, next)?;
                    put(&mut items, &lookup, &lookup, &KeyLookup::of(next))?;
                }
                None => {
                    let usage = api_key_usage_pk(&stored.id);
                    for (pk, sk) in [(&pk, &sk), (&lookup, &lookup), (&usage, &usage)] {
                        items
                            .remove((pk.as_str(), sk.as_str()))
                            .map_err(StoreError::backend)?;
                    }
                }
            }
            put_audit(txn, &mut items, &audit)?;
            drop(items);
            index_api_key(txn, Some(&stored), next.as_ref())
        })
        .await
    }
}

impl ApiKeySweep for EmbeddedStore {
    async fn due_api_keys(
        &self,
        work: DueWork,
        day: time::Date,
        until: domain::Timestamp,
        limit: PageLimit,
    ) -> StoreResult<Vec<ApiKey>> {
        let partition = keys::due_pk(work, day);
        let upper = keys::due_sk_after(until);
        self.read(move |txn| {
            let items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let index = txn.open_table(API_KEY_INDEX).map_err(StoreError::backend)?;
            let range = (partition.as_str(), "")..(partition.as_str(), upper.as_str());
            let mut found = Vec::with_capacity(limit.get());
            for entry in index.range(range).map_err(StoreError::backend)? {
                let (entry_key, _) = entry.map_err(StoreError::backend)?;
                let (_, sk) = entry_key.value();
                // The due index spans tenants: the lookup item names the key's tenant.
                let id = keys::id_of_due_sk(sk)
                    .and_then(|id| ApiKeyId::parse(id).ok())
                    .ok_or_else(|| StoreError::corrupt(std::fmt::Error))?;
                let lookup_pk = api_key_lookup_pk(&id);
                let Some(lookup) = get::<KeyLookup>(&items, &lookup_pk, &lookup_pk)? else {
                    continue;
                };
                let Some(key) =
                    get::<ApiKey>(&items, &tenant_pk(&lookup.tenant_id), &api_key_sk(&id))?
                else {
                    continue;
                };
                found.push(key);
                if found.len() == limit.get() {
                    break;
                }
            }
            Ok(found)
        })
        .await
    }

    async fn expire_api_key(&self, current: &ApiKey, audit: &AuditEvent) -> StoreResult<ApiKey> {
        if current.status != domain::ApiKeyStatus::Active {
            return Err(Conflict::Changed.into());
        }
        let expired = expired_api_key(current);
        self.change_api_key(current, Some(expired.clone()), audit)
            .await?;
        Ok(expired)
    }

    async fn set_expiry_notice_sent(
        &self,
        current: &ApiKey,
        sent_at: Option<Timestamp>,
    ) -> StoreResult<ApiKey> {
        let current = current.clone();
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let (pk, sk) = (tenant_pk(&current.tenant_id), api_key_sk(&current.id));
            let stored: Option<ApiKey> = get(&items, &pk, &sk)?;
            let Some(stored) = stored.filter(|s| {
                s.status == domain::ApiKeyStatus::Active
                    && s.status == current.status
                    && s.expiry_notice_sent_at == current.expiry_notice_sent_at
            }) else {
                return Err(Conflict::Changed.into());
            };
            // The stored record with only the notice changed (as DynamoDB's
            // update does), so a `last_used_at` written meanwhile stays.
            let next = ApiKey {
                expiry_notice_sent_at: sent_at,
                ..stored.clone()
            };
            put(&mut items, &pk, &sk, &next)?;
            drop(items);
            index_api_key(txn, Some(&stored), Some(&next))?;
            Ok(next)
        })
        .await
    }

    async fn purge_api_key(&self, current: &ApiKey, audit: &AuditEvent) -> StoreResult<()> {
        self.change_api_key(current, None, audit).await
    }

    async fn sweep_progress(&self) -> StoreResult<Option<SweepProgress>> {
        self.get_tenant_item(
            keys::SWEEP_PROGRESS_PK.into(),
            keys::SWEEP_PROGRESS_SK.into(),
        )
        .await
    }

    async fn save_sweep_progress(&self, progress: &SweepProgress) -> StoreResult<()> {
        let progress = *progress;
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            put(
                &mut items,
                keys::SWEEP_PROGRESS_PK,
                keys::SWEEP_PROGRESS_SK,
                &progress,
            )
        })
        .await
    }
}

impl PendingCascades for EmbeddedStore {
    async fn pending_cascades(&self) -> StoreResult<Vec<PendingCascade>> {
        self.read(|txn| {
            let items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let partition = keys::PENDING_CASCADES_PK;
            let mut pending = Vec::new();
            for entry in items
                .range((partition, "")..(partition, "\u{10FFFF}"))
                .map_err(StoreError::backend)?
            {
                let (_, bytes) = entry.map_err(StoreError::backend)?;
                pending.push(serde_json::from_slice(bytes.value()).map_err(StoreError::corrupt)?);
            }
            Ok(pending)
        })
        .await
    }

    async fn finish_cascade(&self, target: &CascadeTarget) -> StoreResult<()> {
        let sk = keys::pending_cascade_sk(target);
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            items
                .remove((keys::PENDING_CASCADES_PK, sk.as_str()))
                .map_err(StoreError::backend)?;
            Ok(())
        })
        .await
    }
}
