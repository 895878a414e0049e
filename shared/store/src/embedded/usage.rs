//! Usage analytics on the embedded store: each bucket a record, added to in
//! one write transaction (so counts are exact), past its retention left out
//! of every read (the dev server has no TTL to remove it).

use domain::{ApiKeyId, Granularity, IdentityId, NamespaceId, OutcomeCounts, TenantId, Timestamp};
use serde::{Deserialize, Serialize};

use super::{EmbeddedStore, ITEMS, get, put};
use crate::keys::{
    identity_usage_pk, key_usage_pk, namespace_top_sk, namespace_usage_pk, tenant_usage_pk,
    usage_sk,
};
use crate::{
    StoreError, StoreResult, TenantDay, UsageDetail, UsageLog, UsageNotWritten, UsageWrites,
};

#[derive(Debug, Default, Serialize, Deserialize)]
struct KeyBucket {
    counts: OutcomeCounts,
    expires: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TenantBucket {
    by_key: std::collections::BTreeMap<String, OutcomeCounts>,
    by_application: std::collections::BTreeMap<String, OutcomeCounts>,
    by_arx: std::collections::BTreeMap<String, OutcomeCounts>,
    #[serde(default)]
    by_identity: std::collections::BTreeMap<String, OutcomeCounts>,
    expires: i64,
}

impl UsageLog for EmbeddedStore {
    async fn add_usage(&self, writes: UsageWrites) -> Result<(), UsageNotWritten> {
        // One transaction: all of it is written, or none (and all is left).
        let rest = writes.clone();
        self.write(move |txn| {
            let mut items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let keys = writes
                .key_buckets
                .iter()
                .map(|((tenant, key, g, start), counts)| {
                    (key_usage_pk(tenant, key), *g, *start, counts)
                });
            let identities =
                writes
                    .identity_buckets
                    .iter()
                    .map(|((tenant, identity, g, start), counts)| {
                        (identity_usage_pk(tenant, identity), *g, *start, counts)
                    });
            let namespaces =
                writes
                    .namespace_buckets
                    .iter()
                    .map(|((tenant, namespace, g, start), counts)| {
                        (namespace_usage_pk(tenant, namespace), *g, *start, counts)
                    });
            for (pk, granularity, start, counts) in keys.chain(identities).chain(namespaces) {
                let sk = usage_sk(granularity, start);
                let mut bucket: KeyBucket = get(&items, &pk, &sk)?.unwrap_or_default();
                bucket.counts.merge(counts);
                bucket.expires = granularity.expires(start);
                put(&mut items, &pk, &sk, &bucket)?;
            }
            for ((tenant, namespace, day), top) in writes.top_limited() {
                let (pk, sk) = (
                    namespace_usage_pk(tenant, namespace),
                    namespace_top_sk(*day),
                );
                let mut bucket: KeyBucket = get(&items, &pk, &sk)?.unwrap_or_default();
                for (identifier, n) in top {
                    bucket.counts.add(identifier, n);
                }
                bucket.expires = Granularity::Day.expires(*day);
                put(&mut items, &pk, &sk, &bucket)?;
            }
            for ((tenant, day), rollup) in &writes.tenant_days {
                let (pk, sk) = (tenant_usage_pk(tenant), usage_sk(Granularity::Day, *day));
                let bucket: TenantBucket = get(&items, &pk, &sk)?.unwrap_or_default();
                let mut merged = TenantDay {
                    day: *day,
                    by_key: bucket.by_key,
                    by_application: bucket.by_application,
                    by_arx: bucket.by_arx,
                    by_identity: bucket.by_identity,
                };
                merged.merge(rollup);
                let bucket = TenantBucket {
                    by_key: merged.by_key,
                    by_application: merged.by_application,
                    by_arx: merged.by_arx,
                    by_identity: merged.by_identity,
                    expires: Granularity::Day.expires(*day),
                };
                put(&mut items, &pk, &sk, &bucket)?;
            }
            Ok(())
        })
        .await
        .map_err(|error| UsageNotWritten { error, rest })
    }

    async fn key_usage(
        &self,
        tenant: &TenantId,
        key: &ApiKeyId,
        granularity: Granularity,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, OutcomeCounts)>> {
        self.buckets(key_usage_pk(tenant, key), granularity, from, to)
            .await
    }

    async fn identity_usage(
        &self,
        tenant: &TenantId,
        identity: &IdentityId,
        granularity: Granularity,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, OutcomeCounts)>> {
        self.buckets(identity_usage_pk(tenant, identity), granularity, from, to)
            .await
    }

    async fn namespace_usage(
        &self,
        tenant: &TenantId,
        namespace: &NamespaceId,
        granularity: Granularity,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, OutcomeCounts)>> {
        self.buckets(namespace_usage_pk(tenant, namespace), granularity, from, to)
            .await
    }

    async fn namespace_top_limited(
        &self,
        tenant: &TenantId,
        namespace: &NamespaceId,
        day: i64,
        most: usize,
    ) -> StoreResult<Vec<(String, u64)>> {
        let (pk, sk) = (namespace_usage_pk(tenant, namespace), namespace_top_sk(day));
        let bucket: Option<KeyBucket> = self.get_tenant_item(pk, sk).await?;
        let top = bucket
            .filter(|bucket| bucket.expires > Timestamp::now().unix_seconds())
            .map(|bucket| {
                bucket
                    .counts
                    .iter()
                    .map(|(identifier, n)| (identifier.to_owned(), n))
                    .collect()
            })
            .unwrap_or_default();
        Ok(crate::usage::most_first(top, most))
    }

    async fn tenant_usage(
        &self,
        tenant: &TenantId,
        from: i64,
        to: i64,
        detail: UsageDetail,
    ) -> StoreResult<Vec<TenantDay>> {
        // One local record a day: nothing to save by leaving the keys unread,
        // but a summary answers as the DynamoDB store's does.
        let with_keys = detail == UsageDetail::WithKeys;
        let pk = tenant_usage_pk(tenant);
        let (from_sk, to_sk) = (
            usage_sk(Granularity::Day, from),
            usage_sk(Granularity::Day, to),
        );
        let now = Timestamp::now().unix_seconds();
        self.read(move |txn| {
            let items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let mut days = Vec::new();
            for entry in items
                .range((pk.as_str(), from_sk.as_str())..=(pk.as_str(), to_sk.as_str()))
                .map_err(StoreError::backend)?
            {
                let (keys, bytes) = entry.map_err(StoreError::backend)?;
                let bucket: TenantBucket =
                    serde_json::from_slice(bytes.value()).map_err(StoreError::corrupt)?;
                let day = keys
                    .value()
                    .1
                    .split_once('#')
                    .and_then(|(_, s)| s.parse().ok());
                if let Some(day) = day.filter(|_| bucket.expires > now) {
                    days.push(TenantDay {
                        day,
                        by_key: if with_keys {
                            bucket.by_key
                        } else {
                            Default::default()
                        },
                        by_identity: if with_keys {
                            bucket.by_identity
                        } else {
                            Default::default()
                        },
                        by_application: bucket.by_application,
                        by_arx: bucket.by_arx,
                    });
                }
            }
            Ok(days)
        })
        .await
    }
}

impl EmbeddedStore {
    /// The buckets of `pk` from the one starting at `from` to the one at
    /// `to`, oldest first, past their retention left out.
    async fn buckets(
        &self,
        pk: String,
        granularity: Granularity,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, OutcomeCounts)>> {
        let (from_sk, to_sk) = (usage_sk(granularity, from), usage_sk(granularity, to));
        let now = Timestamp::now().unix_seconds();
        self.read(move |txn| {
            let items = txn.open_table(ITEMS).map_err(StoreError::backend)?;
            let mut found = Vec::new();
            for entry in items
                .range((pk.as_str(), from_sk.as_str())..=(pk.as_str(), to_sk.as_str()))
                .map_err(StoreError::backend)?
            {
                let (keys, bytes) = entry.map_err(StoreError::backend)?;
                let bucket: KeyBucket =
                    serde_json::from_slice(bytes.value()).map_err(StoreError::corrupt)?;
                let start = keys
                    .value()
                    .1
                    .split_once('#')
                    .and_then(|(_, s)| s.parse().ok());
                if let Some(start) = start.filter(|_| bucket.expires > now) {
                    found.push((start, bucket.counts));
                }
            }
            Ok(found)
        })
        .await
    }
}
