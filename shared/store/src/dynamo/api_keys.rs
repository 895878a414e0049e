//! API keys on DynamoDB: the key item and its lookup item, reads, create,
//! rotate and every other change (each one transaction), and use.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use domain::{
    ApiKey, ApiKeyCounts, ApiKeyId, AuditEvent, Counters, KeyChange, KeyLocator, Page, Rotation,
    TenantId, Timestamp,
};
use serde::Deserialize;

use super::transaction::Transaction;
use super::{DynamoStore, Item, PartitionQuery, entity_item, table_key};
use crate::keys::{
    self, API_KEY_COUNTS_SK, API_KEY_SK_PREFIX, ApiKeyIndex, api_key_balance_pk,
    api_key_list_partition, api_key_lookup_pk, api_key_sk, expiring_keys_pk, tenant_pk,
};
use crate::{
    ApiKeyCreate, ApiKeyLastUse, ApiKeyLookup, ApiKeyQuery, ApiKeyRead, ApiKeyRotate, ApiKeyWrite,
    Conflict, ImportedKeyLookup, ImportedPointer, KeyLookup, Replay, StoreError, StoreResult,
    fresh_balance, into_page,
};

/// The key item: the record, with its place in each secondary index.
fn api_key_item(key: &ApiKey) -> StoreResult<Item> {
    let mut item = entity_item(
        key,
        "api_key",
        tenant_pk(&key.tenant_id),
        api_key_sk(&key.id),
    )?;
    for index in ApiKeyIndex::SECONDARY {
        // A key outside a sparse index simply lacks its attributes.
        if let Some((partition, sort_key)) = index.entry_of(key) {
            let (pk, sk) = index.key_attributes();
            item.insert(pk.into(), AttributeValue::S(partition));
            item.insert(sk.into(), AttributeValue::S(sort_key));
        }
    }
    Ok(item)
}

fn lookup_item(key: &ApiKey) -> StoreResult<Item> {
    let pk = api_key_lookup_pk(&key.id);
    entity_item(&KeyLookup::of(key), "api_key_lookup", pk.clone(), pk)
}

/// `key`'s counters started afresh, if it has limits.
fn balance_item(key: &ApiKey) -> StoreResult<Option<Item>> {
    let pk = api_key_balance_pk(key.balance_key());
    fresh_balance(key, Timestamp::now())
        .map(|balance| entity_item(&balance, "api_key_usage", pk.clone(), pk))
        .transpose()
}

impl ApiKeyRead for DynamoStore {
    async fn get_api_key(&self, tenant: &TenantId, id: &ApiKeyId) -> StoreResult<Option<ApiKey>> {
        self.get_item(tenant_pk(tenant), api_key_sk(id)).await
    }

    async fn list_api_keys(
        &self,
        tenant: &TenantId,
        query: &ApiKeyQuery,
    ) -> StoreResult<Page<ApiKey, ApiKeyId>> {
        let (index, partition) = api_key_list_partition(tenant, query);
        let start = query.cursor.as_ref().map(|cursor| {
            let sk = api_key_sk(cursor.last_seen());
            let mut start = table_key(tenant_pk(tenant), sk.clone());
            if index != ApiKeyIndex::Table {
                let (index_pk, index_sk) = index.key_attributes();
                start.insert(index_pk.into(), AttributeValue::S(partition.clone()));
                start.insert(index_sk.into(), AttributeValue::S(sk));
            }
            start
        });
        let partition = PartitionQuery {
            index: index.name(),
            key_attributes: index.key_attributes(),
            partition,
            sk_prefix: API_KEY_SK_PREFIX,
            oldest_first: query.oldest_first,
        };
        let limit = query.limit;
        let keys = self
            .query_in_order(partition, start, limit.get(), |key| {
                query.filter.matches(key, query.as_of)
            })
            .await?;
        Ok(into_page(keys, limit, |key: &ApiKey| &key.id))
    }

    async fn api_key_counts(&self, tenant: &TenantId) -> StoreResult<ApiKeyCounts> {
        // The counts item carries other attributes (keys, entity_type); read only ours.
        #[derive(Deserialize)]
        struct Stored {
            #[serde(default)]
            total: u64,
            #[serde(default)]
            active: u64,
            #[serde(default)]
            deleted: u64,
            #[serde(default)]
            expired: u64,
            #[serde(default)]
            disabled: u64,
        }
        let (stored, unrecorded) = tokio::try_join!(
            self.get_item::<Stored>(tenant_pk(tenant), API_KEY_COUNTS_SK.into()),
            self.count_expired_unrecorded(tenant, Timestamp::now()),
        )?;
        let counts = stored.map_or_else(ApiKeyCounts::default, |s| ApiKeyCounts {
            total: s.total,
            active: s.active,
            deleted: s.deleted,
            expired: s.expired,
            disabled: s.disabled,
        });
        Ok(counts.with_unrecorded_expiries(unrecorded))
    }
}

impl DynamoStore {
    /// A Query of one partition of a by-time index (`GSI4`, `GSI5`: sort keys
    /// `<epoch seconds>#<key id>`) for what falls due at or before `until`.
    pub(super) fn due_by(
        &self,
        index: ApiKeyIndex,
        partition: String,
        until: Timestamp,
    ) -> QueryFluentBuilder {
        let (pk_attribute, sk_attribute) = index.key_attributes();
        self.client
            .query()
            .table_name(&self.table)
            .set_index_name(index.name().map(str::to_owned))
            .key_condition_expression("#pk = :pk AND #sk < :after")
            .expression_attribute_names("#pk", pk_attribute)
            .expression_attribute_names("#sk", sk_attribute)
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .expression_attribute_values(":after", AttributeValue::S(keys::due_sk_after(until)))
    }

    /// How many of the tenant's keys recorded active are past their expiry at
    /// `now`: the part of `GSI5` up to now, counted (keys only, no items
    /// returned). The sweep keeps it to an hour's worth of expiries.
    async fn count_expired_unrecorded(
        &self,
        tenant: &TenantId,
        now: Timestamp,
    ) -> StoreResult<u64> {
        let mut count = 0u64;
        let mut start = None;
        loop {
            let output = self
                .due_by(ApiKeyIndex::Expiring, expiring_keys_pk(tenant), now)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::backend)?;
            count += u64::try_from(output.count).unwrap_or_default();
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(count),
            }
        }
    }
}

impl ApiKeyCreate for DynamoStore {
    async fn create_api_key(&self, key: &ApiKey, audit: &AuditEvent) -> StoreResult<()> {
        if key.locator.is_some() {
            // Before the key: a verify that finds no marker looks no further.
            self.mark_imports().await?;
        }
        let mut transaction = Transaction::default();
        self.add_new_key(&mut transaction, key)?;
        transaction.put(self, super::audit::audit_item(audit)?)?;
        transaction.commit(self).await
    }

    async fn create_api_key_kept(
        &self,
        key: &ApiKey,
        audit: &AuditEvent,
        replay: &Replay,
    ) -> StoreResult<()> {
        let mut transaction = Transaction::default();
        self.add_new_key(&mut transaction, key)?;
        transaction.put(self, super::audit::audit_item(audit)?)?;
        self.keep_replay_in(&mut transaction, replay)?;
        transaction.commit(self).await
    }
}

impl ApiKeyRotate for DynamoStore {
    async fn rotate_api_key(&self, current: &ApiKey, rotation: &Rotation) -> StoreResult<()> {
        self.rotate_in(Transaction::default(), current, rotation)
            .await
    }

    async fn rotate_api_key_kept(
        &self,
        current: &ApiKey,
        rotation: &Rotation,
        replay: &Replay,
    ) -> StoreResult<()> {
        let mut transaction = Transaction::default();
        self.keep_replay_in(&mut transaction, replay)?;
        self.rotate_in(transaction, current, rotation).await
    }
}

impl DynamoStore {
    /// A rotation's writes, added to `transaction` and committed.
    async fn rotate_in(
        &self,
        mut transaction: Transaction,
        current: &ApiKey,
        rotation: &Rotation,
    ) -> StoreResult<()> {
        // Over the revision read: a key rotated meanwhile (or changed in
        // any way) is read again, so it is rotated once.
        let rotated = &rotation.rotated;
        transaction.put_if_revision(self, api_key_item(rotated)?, current.revision)?;
        transaction.put(self, lookup_item(rotated)?)?;
        self.add_new_key(&mut transaction, &rotation.replacement)?;
        for event in &rotation.audit {
            transaction.put(self, super::audit::audit_item(event)?)?;
        }
        transaction.commit(self).await
    }

    /// A first answer's part of a transaction: kept unless one is.
    pub(super) fn keep_replay_in(
        &self,
        transaction: &mut Transaction,
        replay: &Replay,
    ) -> StoreResult<()> {
        let (pk, sk) = (tenant_pk(&replay.tenant_id), keys::replay_sk(&replay.slot));
        let mut item = super::entity_item(replay, "replay", pk, sk)?;
        item.insert(
            keys::TTL.into(),
            AttributeValue::N(replay.expires.to_string()),
        );
        let now = domain::Timestamp::now().unix_seconds();
        transaction.put_unless_live(self, item, now, Conflict::Replayed)
    }

    /// A new key's part of a transaction: the key and its lookup item (both
    /// new), its application and Arx still accepting keys, and the counts.
    fn add_new_key(&self, transaction: &mut Transaction, key: &ApiKey) -> StoreResult<()> {
        let tenant = tenant_pk(&key.tenant_id);
        transaction.put_new(self, api_key_item(key)?, Conflict::AlreadyExists)?;
        transaction.put_new(self, lookup_item(key)?, Conflict::AlreadyExists)?;
        if let Some(locator) = &key.locator {
            let pk = keys::imported_key_pk(locator);
            let pointer = ImportedPointer {
                key_id: key.id.clone(),
                tenant_id: key.tenant_id.clone(),
            };
            let item = entity_item(&pointer, "imported_key", pk.clone(), pk)?;
            transaction.put_new(self, item, Conflict::AlreadyImported)?;
        }
        if key.starts_counters()
            && let Some(balance) = balance_item(key)?
        {
            transaction.put(self, balance)?;
        }
        transaction.check_status(
            self,
            (tenant.clone(), keys::application_sk(&key.application_id)),
            domain::ApplicationStatus::Active.as_str(),
            Conflict::ApplicationNotAcceptingKeys,
        )?;
        transaction.check_status(
            self,
            (tenant, keys::arx_sk(&key.arx_id)),
            domain::ArxStatus::Active.as_str(),
            Conflict::ArxNotAcceptingKeys,
        )?;
        transaction.add_counts(
            self,
            &key.tenant_id,
            ApiKeyCounts::delta(None, Some(key.status)),
        )
    }
}

impl ApiKeyWrite for DynamoStore {
    async fn write_api_key_change(&self, current: &ApiKey, change: &KeyChange) -> StoreResult<()> {
        let next = &change.next;
        let mut transaction = Transaction::default();
        // The whole item: its index attributes (an owner's, say) follow the record.
        transaction.put_if_revision(self, api_key_item(next)?, current.revision)?;
        transaction.put(self, lookup_item(next)?)?;
        if current.status != next.status {
            let delta = ApiKeyCounts::delta(Some(current.status), Some(next.status));
            transaction.add_counts(self, &current.tenant_id, delta)?;
        }
        if change.counters == Counters::Restarted {
            match balance_item(next)? {
                Some(balance) => transaction.put(self, balance)?,
                None => {
                    let balance = api_key_balance_pk(next.balance_key());
                    transaction.delete(self, (balance.clone(), balance))?;
                }
            }
        }
        for event in &change.audit {
            transaction.put(self, super::audit::audit_item(event)?)?;
        }
        transaction.commit(self).await
    }
}

impl ApiKeyLookup for DynamoStore {
    async fn lookup_api_key(&self, id: &ApiKeyId) -> StoreResult<Option<KeyLookup>> {
        let pk = api_key_lookup_pk(id);
        self.get_item(pk.clone(), pk).await
    }
}

impl ImportedKeyLookup for DynamoStore {
    async fn imported_key(&self, locator: &KeyLocator) -> StoreResult<Option<ApiKeyId>> {
        let pk = keys::imported_key_pk(locator);
        let pointer: Option<ImportedPointer> = self.get_item(pk.clone(), pk).await?;
        Ok(pointer.map(|pointer| pointer.key_id))
    }

    async fn imported_keys_exist(&self) -> StoreResult<bool> {
        let marker = keys::IMPORTS_MARKER_PK.to_owned();
        let found: Option<serde_json::Value> = self.get_item(marker.clone(), marker).await?;
        Ok(found.is_some())
    }
}

impl DynamoStore {
    /// Records that keys were imported here, once: the first import's first
    /// key writes it (later ones find it and leave it).
    pub(super) async fn mark_imports(&self) -> StoreResult<()> {
        if self.imported_keys_exist().await? {
            return Ok(());
        }
        let marker = keys::IMPORTS_MARKER_PK.to_owned();
        let item = entity_item(
            &serde_json::json!({}),
            "imports_marker",
            marker.clone(),
            marker,
        )?;
        self.put(item).await
    }
}

impl ApiKeyLastUse for DynamoStore {
    async fn record_use(
        &self,
        tenant: &TenantId,
        id: &ApiKeyId,
        at: Timestamp,
        min_interval: time::Duration,
    ) -> StoreResult<bool> {
        // `last_used_s` (epoch seconds) is what the condition compares: the
        // RFC 3339 text does not sort as time when fractions differ in length.
        let cutoff = at.plus(-min_interval).unix_seconds();
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(tenant_pk(tenant)))
            .key(keys::SK, AttributeValue::S(api_key_sk(id)))
            // A write of the item: its revision moves, so a change computed
            // before it reads again and keeps this `last_used_at`.
            .update_expression("SET #at = :at, #s = :s ADD #rev :one")
            .condition_expression(
                "attribute_exists(#pk) AND (attribute_not_exists(#s) OR #s <= :cutoff)",
            )
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#at", keys::LAST_USED_AT)
            .expression_attribute_names("#s", keys::LAST_USED_SECONDS)
            .expression_attribute_names("#rev", keys::REVISION)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":at", AttributeValue::S(at.to_string()))
            .expression_attribute_values(":s", AttributeValue::N(at.unix_seconds().to_string()))
            .expression_attribute_values(":cutoff", AttributeValue::N(cutoff.to_string()))
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(StoreError::backend(error)),
        }
    }
}
