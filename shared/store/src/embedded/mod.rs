//! The embedded store: one redb file laid out like the DynamoDB table, so both
//! stores share the key strings of [`crate::keys`] and behave the same.
//!
//! Why redb: pure Rust (no C toolchain, nothing to install), a single file,
//! ACID write transactions that serialise writers (so concurrent requests can't
//! lose an update), MVCC reads that never block, and ordered range scans in both
//! directions, which is what newest-first pages need. sled is unmaintained and
//! SQLite would bring C and a second data model.
//!
//! This file holds the store and what every entity's file uses (the tables,
//! transactions, item reads and writes, newest-first pages); the entities'
//! capabilities sit in files named as in `dynamo/` (`api_keys.rs`,
//! `catalog.rs`, `balance.rs`, `usage.rs`, `audit.rs`, `leaks.rs`, `sweep.rs`);
//! `group_commit.rs` is how every write reaches the disk.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use domain::{Cursor, Page, PageLimit, PrefixedId, TenantId};
use redb::{Database, ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::keys::tenant_pk;
use crate::leases::{LeaseSettings, Leases};
use crate::{StoreError, StoreResult, into_page};
use group_commit::GroupCommit;

mod api_keys;
mod audit;
mod balance;
mod catalog;
mod expiring;
mod group_commit;
mod identities;
mod leaks;
mod named;
mod rate_limits;
mod replays;
mod roles;
mod service_keys;
mod sweep;
mod usage;

/// `(PK, SK)` → the item as JSON: the table.
const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("items");
/// [`ITEMS`] opened in a write transaction.
type Items<'txn> = redb::Table<'txn, (&'static str, &'static str), &'static [u8]>;
/// `(index partition, SK)` → `()`: the API key indexes (GSI1..3). The item is at
/// `(TENANT#t, SK)` in [`ITEMS`]; every index partition belongs to one tenant.
const API_KEY_INDEX: TableDefinition<(&str, &str), ()> = TableDefinition::new("api_key_index");
/// `(partition, audit sort key)` of each audit filter's index (`keys::AuditIndex`).
const AUDIT_INDEX: TableDefinition<(&str, &str), ()> = TableDefinition::new("audit_index");

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    /// Writes that arrive together share one fsync ([`group_commit`]).
    group: Arc<GroupCommit>,
    /// What this process holds leased of hot keys' counters (`crate::leases`).
    leases: Arc<Leases>,
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
        txn.open_table(expiring::EXPIRING)
            .map_err(StoreError::backend)?;
        txn.commit().map_err(StoreError::backend)?;
        let db = Arc::new(db);
        let group = GroupCommit::start(&db).map_err(StoreError::backend)?;
        Ok(Self {
            db,
            group: Arc::new(group),
            leases: Arc::default(),
        })
    }

    /// The same store leasing as `settings` say (5 s leases by default): a
    /// hot key's charges then cost a commit per lease, not per charge.
    pub fn with_leases(self, settings: LeaseSettings) -> Self {
        Self {
            leases: Arc::new(Leases::new(settings)),
            ..self
        }
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

    /// Runs `work` in a write transaction and returns once it is on disk; an
    /// error writes nothing of it. Writes that arrive together share one
    /// transaction and one fsync ([`group_commit`]), which is why `work` is
    /// `Fn`: it runs again on its own if another in its batch failed.
    async fn write<T: Send + 'static>(
        &self,
        work: impl Fn(&WriteTransaction) -> StoreResult<T> + Send + Sync + 'static,
    ) -> StoreResult<T> {
        self.group.write(work).await
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
}

impl crate::DataVersionStore for EmbeddedStore {
    async fn data_version(&self) -> StoreResult<Option<crate::StoredVersion>> {
        self.read(|txn| {
            let items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            get(
                &items,
                crate::keys::DATA_VERSION_PK,
                crate::keys::DATA_VERSION_SK,
            )
        })
        .await
    }

    async fn set_data_version(&self, version: &crate::StoredVersion) -> StoreResult<()> {
        let version = version.clone();
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            put(
                &mut items,
                crate::keys::DATA_VERSION_PK,
                crate::keys::DATA_VERSION_SK,
                &version,
            )
        })
        .await
    }
}
