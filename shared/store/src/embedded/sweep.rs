//! The sweep's due keys and progress, and pending cascades.

use domain::{ApiKey, ApiKeyId, AuditEvent, PageLimit, PrefixedId, Timestamp};

use crate::keys::{self, api_key_lookup_pk, api_key_sk, tenant_pk};
use crate::{
    ApiKeySweep, CascadeTarget, Conflict, DueWork, KeyLookup, PendingCascade, PendingCascades,
    StoreError, StoreResult, SweepProgress,
};

use super::api_keys::index_api_key;
use super::{API_KEY_INDEX, EmbeddedStore, ITEMS, get, put};

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
            // update does), so a `last_used_at` written meanwhile stays; a
            // change computed before it must read again.
            let next = ApiKey {
                expiry_notice_sent_at: sent_at,
                revision: stored.revision.next(),
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
        self.remove_api_key(current, audit).await
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
