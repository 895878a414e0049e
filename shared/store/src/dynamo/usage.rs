//! Usage analytics on DynamoDB: every bucket an item, every increment an
//! `ADD` (DynamoDB adds concurrent ones one at a time, so no count is lost
//! however many instances write at once), every item a TTL.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{ApiKeyId, Granularity, IdentityId, NamespaceId, OutcomeCounts, TenantId};

use super::{DynamoStore, Item};
use crate::keys::{
    ENTITY_TYPE, PK, SK, TTL, identity_usage_pk, key_usage_pk, namespace_top_sk,
    namespace_usage_pk, tenant_key_usage_pk, tenant_usage_attribute, tenant_usage_pk,
    tenant_usage_shard_sk, usage_sk,
};
use crate::{
    StoreError, StoreResult, TenantDay, UsageDetail, UsageLog, UsageNotWritten, UsageWrites,
    WriteStamp,
};

/// Counters per UpdateItem: an update expression may be at most 4 KB, and
/// a tenant's day may gain a counter per key, application and Arx.
const COUNTERS_PER_UPDATE: usize = 100;

impl DynamoStore {
    /// `ADD`s `counters` to the item `pk`/`sk`, setting its TTL; with a
    /// `stamp`, each chunk at most once (a chunk the item already has is
    /// skipped: see [`WriteStamp`]).
    async fn add_counters(
        &self,
        pk: &str,
        sk: &str,
        entity_type: &str,
        expires: i64,
        counters: &[(String, u64)],
        stamp: Option<&WriteStamp>,
    ) -> Result<(), NotAdded> {
        use aws_sdk_dynamodb::error::ProvideErrorMetadata;
        for (index, chunk) in counters.chunks(COUNTERS_PER_UPDATE).enumerate() {
            let mut names = HashMap::from([
                ("#ttl".to_owned(), TTL.to_owned()),
                ("#entity".to_owned(), ENTITY_TYPE.to_owned()),
            ]);
            let mut values = HashMap::from([
                (":ttl".to_owned(), AttributeValue::N(expires.to_string())),
                (
                    ":entity".to_owned(),
                    AttributeValue::S(entity_type.to_owned()),
                ),
            ]);
            let mut adds = Vec::with_capacity(chunk.len());
            for (n, (attribute, count)) in chunk.iter().enumerate() {
                names.insert(format!("#c{n}"), attribute.clone());
                values.insert(format!(":c{n}"), AttributeValue::N(count.to_string()));
                adds.push(format!("#c{n} :c{n}"));
            }
            let mut set = "SET #ttl = :ttl, #entity = :entity".to_owned();
            let mut condition = None;
            if let Some(stamp) = stamp {
                // The chunk's place in the writer's order: its batch, then
                // its index (an item's batch holds at most ~70 chunks).
                let order = stamp
                    .batch
                    .saturating_mul(1000)
                    .saturating_add(index as u64);
                names.insert("#w".to_owned(), writer_attribute(&stamp.writer));
                values.insert(":w".to_owned(), AttributeValue::N(order.to_string()));
                set.push_str(", #w = :w");
                condition = Some("attribute_not_exists(#w) OR #w < :w".to_owned());
            }
            let added = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(PK, AttributeValue::S(pk.to_owned()))
                .key(SK, AttributeValue::S(sk.to_owned()))
                .update_expression(format!("{set} ADD {}", adds.join(", ")))
                .set_condition_expression(condition)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .send()
                .await;
            match added {
                Ok(_) => {}
                // Added before (this very chunk, sent again): nothing to add.
                Err(error) if error.code() == Some("ConditionalCheckFailedException") => {}
                Err(error) if error.code() == Some("ValidationException") => {
                    return Err(NotAdded::TooLarge);
                }
                Err(error) => return Err(NotAdded::Failed(StoreError::backend(error))),
            }
        }
        Ok(())
    }

    /// Adds `counts` to one hour or day bucket (`pk`, its granularity and
    /// start, its entity type). A bucket past DynamoDB's item size keeps
    /// what it has: its new counts are dropped, said in the log (a retry
    /// would never fit either).
    async fn add_bucket(
        &self,
        (pk, granularity, start, entity_type): (&str, Granularity, i64, &str),
        counts: &OutcomeCounts,
        stamp: Option<&WriteStamp>,
    ) -> StoreResult<()> {
        let counters: Vec<(String, u64)> = counts
            .iter()
            .map(|(outcome, n)| (outcome.to_owned(), n))
            .collect();
        let sk = usage_sk(granularity, start);
        let expires = granularity.expires(start);
        match self
            .add_counters(pk, &sk, entity_type, expires, &counters, stamp)
            .await
        {
            Ok(()) => Ok(()),
            Err(NotAdded::TooLarge) => {
                tracing::warn!(
                    entity_type,
                    "a usage bucket is full: its counts are dropped"
                );
                Ok(())
            }
            Err(NotAdded::Failed(error)) => Err(error),
        }
    }

    /// The buckets of `pk` from the one starting at `from` to the one at
    /// `to`, oldest first; buckets without a verify are absent.
    async fn buckets(
        &self,
        pk: String,
        granularity: Granularity,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, OutcomeCounts)>> {
        let items = self
            .sk_range(pk, usage_sk(granularity, from), usage_sk(granularity, to))
            .await?;
        items
            .iter()
            .filter_map(|item| start_of(item).map(|start| (start, item)))
            .map(|(start, item)| {
                let mut counts = OutcomeCounts::default();
                for counter in counters(item) {
                    let (outcome, n) = counter?;
                    counts.add(outcome, n);
                }
                Ok((start, counts))
            })
            .collect()
    }

    /// The items of `pk` whose sort keys lie from `from` to `to`, oldest first.
    async fn sk_range(&self, pk: String, from: String, to: String) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":from", AttributeValue::S(from.clone()))
                .expression_attribute_values(":to", AttributeValue::S(to.clone()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(StoreError::backend)?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }
}

/// A shard of a tenant's day, as one write adds it: its counters, and the
/// keys (`k`) and identities (`i`) they are for.
type Shard<'a> = (Vec<(String, u64)>, Vec<(char, &'a str)>);

/// Why counters were not added.
enum NotAdded {
    /// DynamoDB refused what was asked, not the moment: the item would pass
    /// its size limit (400 KB). Retrying would never succeed.
    TooLarge,
    Failed(StoreError),
}

/// The bucket's start: `HOUR#<start>`, `DAY#<start>`, or a day's shard
/// `DAY#<start>#K<nn>`.
fn start_of(item: &Item) -> Option<i64> {
    let AttributeValue::S(sk) = item.get(SK)? else {
        return None;
    };
    sk.split('#').nth(1)?.parse().ok()
}

/// The attribute that keeps a writer's last batch added to an item.
fn writer_attribute(writer: &str) -> String {
    format!("w#{writer}")
}

/// The item's counters: its number attributes but the TTL and the writers'
/// batches (the rest are its keys and type); a count that is not a whole
/// number is corrupt.
fn counters(item: &Item) -> impl Iterator<Item = StoreResult<(&str, u64)>> {
    item.iter().filter_map(|(name, value)| match value {
        AttributeValue::N(n) if name != TTL && !name.starts_with("w#") => Some(
            n.parse::<u64>()
                .map(|n| (name.as_str(), n))
                .map_err(StoreError::corrupt),
        ),
        _ => None,
    })
}

impl UsageLog for DynamoStore {
    async fn add_usage(&self, writes: UsageWrites) -> Result<(), UsageNotWritten> {
        // One bucket at a time; on a failure, it and the buckets after it
        // are what is left (the ones before are written: never twice).
        let mut rest = writes.clone();
        for ((tenant, key, granularity, start), counts) in &writes.key_buckets {
            let pk = key_usage_pk(tenant, key);
            let bucket = (pk.as_str(), *granularity, *start, "key_traffic");
            if let Err(error) = self.add_bucket(bucket, counts, writes.stamp.as_ref()).await {
                return Err(UsageNotWritten { error, rest });
            }
            rest.key_buckets
                .remove(&(tenant.clone(), key.clone(), *granularity, *start));
        }
        for ((tenant, identity, granularity, start), counts) in &writes.identity_buckets {
            let pk = identity_usage_pk(tenant, identity);
            let bucket = (pk.as_str(), *granularity, *start, "identity_traffic");
            if let Err(error) = self.add_bucket(bucket, counts, writes.stamp.as_ref()).await {
                return Err(UsageNotWritten { error, rest });
            }
            rest.identity_buckets
                .remove(&(tenant.clone(), identity.clone(), *granularity, *start));
        }
        for ((tenant, namespace, granularity, start), counts) in &writes.namespace_buckets {
            let pk = namespace_usage_pk(tenant, namespace);
            let bucket = (pk.as_str(), *granularity, *start, "ratelimit_traffic");
            if let Err(error) = self.add_bucket(bucket, counts, writes.stamp.as_ref()).await {
                return Err(UsageNotWritten { error, rest });
            }
            rest.namespace_buckets.remove(&(
                tenant.clone(),
                namespace.clone(),
                *granularity,
                *start,
            ));
        }
        for ((tenant, namespace, day), top) in writes.top_limited() {
            // Each identifier a counter of its own (`i#…`: never a name the
            // item's own attributes have); an item past DynamoDB's size
            // keeps the identifiers it has.
            let counters: Vec<(String, u64)> = top
                .into_iter()
                .map(|(identifier, n)| (format!("i#{identifier}"), n))
                .collect();
            let (pk, sk) = (
                namespace_usage_pk(tenant, namespace),
                namespace_top_sk(*day),
            );
            let expires = Granularity::Day.expires(*day);
            let added = self
                .add_counters(
                    &pk,
                    &sk,
                    "ratelimit_top",
                    expires,
                    &counters,
                    writes.stamp.as_ref(),
                )
                .await;
            match added {
                Ok(()) | Err(NotAdded::TooLarge) => {}
                Err(NotAdded::Failed(error)) => return Err(UsageNotWritten { error, rest }),
            }
            rest.namespace_limited
                .remove(&(tenant.clone(), namespace.clone(), *day));
        }
        for ((tenant, day), rollup) in &writes.tenant_days {
            // The day's summary (applications and Arx: a few counters, however
            // many keys), then its per-key counts, each key in one of 16
            // shard items: every item a write touches stays small, so a write
            // costs a few write units, not up to 400 (docs/data-model.md).
            let mut summary = Vec::new();
            for (dimension, map) in [('a', &rollup.by_application), ('x', &rollup.by_arx)] {
                for (id, counts) in map {
                    for (outcome, n) in counts.iter() {
                        summary.push((tenant_usage_attribute(dimension, id, outcome), n));
                    }
                }
            }
            // Each shard's item, its counters and the keys they are for.
            let mut shards: std::collections::BTreeMap<String, Shard<'_>> =
                std::collections::BTreeMap::new();
            let keyed = rollup.by_key.iter().map(|(id, counts)| ('k', id, counts));
            let identities = rollup.by_identity.iter().map(|(id, c)| ('i', id, c));
            for (dimension, id, counts) in keyed.chain(identities) {
                let (counters, ids) = shards.entry(tenant_usage_shard_sk(*day, id)).or_default();
                ids.push((dimension, id));
                for (outcome, n) in counts.iter() {
                    counters.push((tenant_usage_attribute(dimension, id, outcome), n));
                }
            }
            let expires = Granularity::Day.expires(*day);
            let summary_item = (
                tenant_usage_pk(tenant),
                usage_sk(Granularity::Day, *day),
                summary,
                None,
            );
            let items = std::iter::once(summary_item).chain(shards.into_iter().map(
                |(sk, (counters, ids))| (tenant_key_usage_pk(tenant), sk, counters, Some(ids)),
            ));
            for (pk, sk, counters, keys) in items {
                if !counters.is_empty() {
                    match self
                        .add_counters(
                            &pk,
                            &sk,
                            "tenant_traffic",
                            expires,
                            &counters,
                            writes.stamp.as_ref(),
                        )
                        .await
                    {
                        Ok(()) => {}
                        // Full (400 KB): what fitted is written, the rest dropped
                        // (never retried). A shard holds about 7,000 key-outcome
                        // counters, so a day about 110,000.
                        Err(NotAdded::TooLarge) => {
                            tracing::warn!(tenant = %tenant, day, "a tenant's usage day item is full (400 KB): the counts that did not fit are dropped");
                        }
                        Err(NotAdded::Failed(error)) => {
                            return Err(UsageNotWritten { error, rest });
                        }
                    }
                }
                // Written: out of what is left, so a retry never adds it twice.
                if let Some(left) = rest.tenant_days.get_mut(&(tenant.clone(), *day)) {
                    match keys {
                        None => {
                            left.by_application.clear();
                            left.by_arx.clear();
                        }
                        Some(ids) => ids.iter().for_each(|(dimension, id)| {
                            match dimension {
                                'i' => left.by_identity.remove(*id),
                                _ => left.by_key.remove(*id),
                            };
                        }),
                    }
                }
            }
            rest.tenant_days.remove(&(tenant.clone(), *day));
        }
        Ok(())
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
        let pk = namespace_usage_pk(tenant, namespace);
        self.buckets(pk, granularity, from, to).await
    }

    async fn namespace_top_limited(
        &self,
        tenant: &TenantId,
        namespace: &NamespaceId,
        day: i64,
        most: usize,
    ) -> StoreResult<Vec<(String, u64)>> {
        let (pk, sk) = (namespace_usage_pk(tenant, namespace), namespace_top_sk(day));
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::backend)?;
        let item = output.item.unwrap_or_default();
        let mut top = Vec::new();
        for counter in counters(&item) {
            let (name, n) = counter?;
            if let Some(identifier) = name.strip_prefix("i#") {
                top.push((identifier.to_owned(), n));
            }
        }
        Ok(crate::usage::most_first(top, most))
    }

    async fn tenant_usage(
        &self,
        tenant: &TenantId,
        from: i64,
        to: i64,
        detail: UsageDetail,
    ) -> StoreResult<Vec<TenantDay>> {
        let (from_sk, to_sk) = (
            usage_sk(Granularity::Day, from),
            usage_sk(Granularity::Day, to),
        );
        // The summaries; a day written before the per-key shards existed
        // holds its per-key counts here too, and is read the same way.
        let mut items = self
            .sk_range(tenant_usage_pk(tenant), from_sk.clone(), to_sk.clone())
            .await?;
        if detail == UsageDetail::WithKeys {
            // `DAY#<to>#K..` sorts after `DAY#<to>` and before the next day.
            let shards = self
                .sk_range(tenant_key_usage_pk(tenant), from_sk, format!("{to_sk}#~"))
                .await?;
            items.extend(shards);
        }
        let mut days: std::collections::BTreeMap<i64, TenantDay> =
            std::collections::BTreeMap::new();
        for item in &items {
            let Some(day) = start_of(item) else { continue };
            let rollup = days.entry(day).or_insert_with(|| TenantDay {
                day,
                ..TenantDay::default()
            });
            for counter in counters(item) {
                let (name, n) = counter?;
                let mut parts = name.splitn(3, '#');
                let (Some(dimension), Some(id), Some(outcome)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                let map = match dimension {
                    "k" if detail == UsageDetail::WithKeys => &mut rollup.by_key,
                    "i" if detail == UsageDetail::WithKeys => &mut rollup.by_identity,
                    "a" => &mut rollup.by_application,
                    "x" => &mut rollup.by_arx,
                    _ => continue,
                };
                map.entry(id.to_owned()).or_default().add(outcome, n);
            }
        }
        Ok(days.into_values().collect())
    }
}
