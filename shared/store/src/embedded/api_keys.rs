//! API keys in the embedded store: reads, create, rotate and every other
//! change, lookup, use, limits, and the index entries and counts that move
//! with them.

use domain::{
    ApiKey, ApiKeyCounts, ApiKeyId, Application, Arx, AuditEvent, Counters, KeyChange, KeyLocator,
    Page, Rotation, TenantId, Timestamp,
};
use redb::{ReadableTable, WriteTransaction};

use crate::keys::{
    self, API_KEY_COUNTS_SK, API_KEY_SK_PREFIX, ApiKeyIndex, api_key_balance_pk,
    api_key_list_partition, api_key_lookup_pk, api_key_sk, application_sk, arx_sk,
    expiring_keys_pk, tenant_pk,
};
use crate::{
    ApiKeyCreate, ApiKeyLastUse, ApiKeyLookup, ApiKeyQuery, ApiKeyRead, ApiKeyRotate, ApiKeyWrite,
    Conflict, ImportedKeyLookup, ImportedPointer, KeyLookup, Replay, StoreError, StoreResult,
    counters_removed_at_purge, into_page,
};

use super::audit::put_audit;
use super::balance::put_balance;
use super::{API_KEY_INDEX, EmbeddedStore, ITEMS, get, prefix_end, put, upper_bound};

/// Moves a key's index entries from `before` (None: a new key) to `after`
/// (None: a purged key), and its counts with it.
pub(super) fn index_api_key(
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
            // Newest first reads down from the cursor (or the end); oldest
            // first reads up from just past it (or the start).
            let (table_pk, read) = if index == ApiKeyIndex::Table {
                (pk.as_str(), None)
            } else {
                let index = txn.open_table(API_KEY_INDEX).map_err(StoreError::backend)?;
                (partition.as_str(), Some(index))
            };
            let (lower, upper) = if query.oldest_first {
                let after = query.cursor.as_ref().map_or_else(
                    || API_KEY_SK_PREFIX.to_owned(),
                    |c| format!("{}\0", api_key_sk(c.last_seen())),
                );
                (after, prefix_end(API_KEY_SK_PREFIX))
            } else {
                (
                    API_KEY_SK_PREFIX.to_owned(),
                    upper_bound(API_KEY_SK_PREFIX, query.cursor.as_ref()),
                )
            };
            let range = (table_pk, lower.as_str())..(table_pk, upper.as_str());
            let mut found = Vec::with_capacity(limit + 1);
            let mut take = |key: ApiKey| {
                if keep(&key) {
                    found.push(key);
                }
                found.len() > limit
            };
            match read {
                None => {
                    let entries = items.range(range).map_err(StoreError::backend)?;
                    let entries: Box<dyn Iterator<Item = _>> = if query.oldest_first {
                        Box::new(entries)
                    } else {
                        Box::new(entries.rev())
                    };
                    for entry in entries {
                        let (_, bytes) = entry.map_err(StoreError::backend)?;
                        let key: ApiKey =
                            serde_json::from_slice(bytes.value()).map_err(StoreError::corrupt)?;
                        if take(key) {
                            break;
                        }
                    }
                }
                Some(index) => {
                    let entries = index.range(range).map_err(StoreError::backend)?;
                    let entries: Box<dyn Iterator<Item = _>> = if query.oldest_first {
                        Box::new(entries)
                    } else {
                        Box::new(entries.rev())
                    };
                    for entry in entries {
                        let (entry_key, _) = entry.map_err(StoreError::backend)?;
                        let (_, sk) = entry_key.value();
                        let Some(key) = get::<ApiKey>(&items, &pk, sk)? else {
                            continue;
                        };
                        if take(key) {
                            break;
                        }
                    }
                }
            }
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
        self.create_in(key, audit, None).await
    }

    async fn create_api_key_kept(
        &self,
        key: &ApiKey,
        audit: &AuditEvent,
        replay: &Replay,
    ) -> StoreResult<()> {
        self.create_in(key, audit, Some(replay)).await
    }
}

impl EmbeddedStore {
    /// A new key, its audit event and the answer to keep, if any, in one
    /// write transaction.
    async fn create_in(
        &self,
        key: &ApiKey,
        audit: &AuditEvent,
        replay: Option<&Replay>,
    ) -> StoreResult<()> {
        let (key, audit, replay) = (key.clone(), audit.clone(), replay.cloned());
        self.write(move |txn| {
            insert_new_key(txn, &key)?;
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            if let Some(replay) = &replay {
                super::replays::keep_replay(&mut items, replay)?;
            }
            put_audit(txn, &mut items, &audit)
        })
        .await
    }

    /// A rotation's writes and the answer to keep, if any, in one write
    /// transaction.
    async fn rotate_in(
        &self,
        current: &ApiKey,
        rotation: &Rotation,
        replay: Option<&Replay>,
    ) -> StoreResult<()> {
        let (current, rotation, replay) = (current.clone(), rotation.clone(), replay.cloned());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            if let Some(replay) = &replay {
                super::replays::keep_replay(&mut items, replay)?;
            }
            let (pk, sk) = (tenant_pk(&current.tenant_id), api_key_sk(&current.id));
            let stored: Option<ApiKey> = get(&items, &pk, &sk)?;
            let Some(stored) = stored.filter(|s| s.revision == current.revision) else {
                return Err(Conflict::Changed.into());
            };
            let rotated = &rotation.rotated;
            let lookup = api_key_lookup_pk(&rotated.id);
            put(&mut items, &pk, &sk, rotated)?;
            put(&mut items, &lookup, &lookup, &KeyLookup::of(rotated))?;
            for event in &rotation.audit {
                put_audit(txn, &mut items, event)?;
            }
            drop(items);
            index_api_key(txn, Some(&stored), Some(rotated))?;
            // Refused (an archived application, say): the whole write is dropped.
            insert_new_key(txn, &rotation.replacement)
        })
        .await
    }
}

impl ApiKeyRotate for EmbeddedStore {
    async fn rotate_api_key(&self, current: &ApiKey, rotation: &Rotation) -> StoreResult<()> {
        self.rotate_in(current, rotation, None).await
    }

    async fn rotate_api_key_kept(
        &self,
        current: &ApiKey,
        rotation: &Rotation,
        replay: &Replay,
    ) -> StoreResult<()> {
        self.rotate_in(current, rotation, Some(replay)).await
    }
}

/// A new key, its lookup item, index entries and counts, if its application
/// and Arx still accept keys and neither item exists yet.
pub(super) fn insert_new_key(txn: &WriteTransaction, key: &ApiKey) -> StoreResult<()> {
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
    if let Some(locator) = &key.locator {
        let pointer = keys::imported_key_pk(locator);
        if get::<ImportedPointer>(&items, &pointer, &pointer)?.is_some() {
            return Err(Conflict::AlreadyImported.into());
        }
        let to = ImportedPointer {
            key_id: key.id.clone(),
            tenant_id: key.tenant_id.clone(),
        };
        put(&mut items, &pointer, &pointer, &to)?;
        put(
            &mut items,
            keys::IMPORTS_MARKER_PK,
            keys::IMPORTS_MARKER_PK,
            &serde_json::json!({}),
        )?;
    }
    if key.starts_counters() {
        put_balance(&mut items, key)?;
    }
    drop(items);
    index_api_key(txn, None, Some(key))
}

impl ApiKeyWrite for EmbeddedStore {
    async fn write_api_key_change(&self, current: &ApiKey, change: &KeyChange) -> StoreResult<()> {
        let (current, change) = (current.clone(), change.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let (pk, sk) = (tenant_pk(&current.tenant_id), api_key_sk(&current.id));
            let Some(stored) = get::<ApiKey>(&items, &pk, &sk)?
                .filter(|stored| stored.revision == current.revision)
            else {
                return Err(Conflict::Changed.into());
            };
            let next = &change.next;
            let lookup = api_key_lookup_pk(&next.id);
            put(&mut items, &pk, &sk, next)?;
            put(&mut items, &lookup, &lookup, &KeyLookup::of(next))?;
            if change.counters == Counters::Restarted {
                put_balance(&mut items, next)?;
            }
            for event in &change.audit {
                put_audit(txn, &mut items, event)?;
            }
            drop(items);
            // Its index entries and the counts follow the record.
            index_api_key(txn, Some(&stored), Some(next))
        })
        .await
    }
}

impl ApiKeyLookup for EmbeddedStore {
    async fn lookup_api_key(&self, id: &ApiKeyId) -> StoreResult<Option<KeyLookup>> {
        let pk = api_key_lookup_pk(id);
        self.get_tenant_item(pk.clone(), pk).await
    }
}

impl ImportedKeyLookup for EmbeddedStore {
    async fn imported_key(&self, locator: &KeyLocator) -> StoreResult<Option<ApiKeyId>> {
        let pk = keys::imported_key_pk(locator);
        let pointer: Option<ImportedPointer> = self.get_tenant_item(pk.clone(), pk).await?;
        Ok(pointer.map(|pointer| pointer.key_id))
    }

    async fn imported_keys_exist(&self) -> StoreResult<bool> {
        let marker = keys::IMPORTS_MARKER_PK.to_owned();
        let found: Option<serde_json::Value> = self.get_tenant_item(marker.clone(), marker).await?;
        Ok(found.is_some())
    }
}

impl ApiKeyLastUse for EmbeddedStore {
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
            key.revision = key.revision.next();
            put(&mut items, &pk, &sk, &key)?;
            Ok(true)
        })
        .await
    }
}

impl EmbeddedStore {
    /// Removes `current` (if the stored revision is still its), its lookup
    /// item and the counters only it charged, and writes `audit`.
    pub(super) async fn remove_api_key(
        &self,
        current: &ApiKey,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let (current, audit) = (current.clone(), audit.clone());
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let (pk, sk) = (tenant_pk(&current.tenant_id), api_key_sk(&current.id));
            let stored: Option<ApiKey> = get(&items, &pk, &sk)?;
            let Some(stored) = stored.filter(|s| s.revision == current.revision) else {
                return Err(Conflict::Changed.into());
            };
            let lookup = api_key_lookup_pk(&stored.id);
            let mut gone = vec![(pk.clone(), sk.clone()), (lookup.clone(), lookup)];
            if let Some(locator) = &stored.locator {
                let pointer = keys::imported_key_pk(locator);
                gone.push((pointer.clone(), pointer));
            }
            if let Some(owner) = counters_removed_at_purge(&stored) {
                let balance = api_key_balance_pk(owner);
                gone.push((balance.clone(), balance));
            }
            for (pk, sk) in gone {
                items
                    .remove((pk.as_str(), sk.as_str()))
                    .map_err(StoreError::backend)?;
            }
            put_audit(txn, &mut items, &audit)?;
            drop(items);
            index_api_key(txn, Some(&stored), None)
        })
        .await
    }
}
