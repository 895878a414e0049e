//! Usage counts on both stores: increments written at once by many writers
//! add up exactly, each in its hour and its day and its tenant's day; a
//! read returns only the range asked and only the tenant's own; every
//! bucket carries its expiry (DynamoDB's TTL removes it).

use domain::{ApiKeyId, ApplicationId, ArxId, Granularity, OutcomeCounts, TenantId, Timestamp};
use store::{UsageDetail, UsageIncrement, UsageLog, UsageWrites};

use super::backends::Store;

contract!(concurrent_increments_add_up_in_every_bucket_they_name,);

fn increment(
    tenant: &TenantId,
    key: &ApiKeyId,
    hour: i64,
    outcome: &str,
    n: u64,
) -> UsageIncrement {
    let mut counts = OutcomeCounts::default();
    counts.add(outcome, n);
    UsageIncrement {
        tenant: tenant.clone(),
        key_id: key.clone(),
        application_id: ApplicationId::new(),
        arx_id: ArxId::new(),
        identity_id: None,
        hour,
        counts,
    }
}

async fn concurrent_increments_add_up_in_every_bucket_they_name(store: impl Store) {
    let tenant = TenantId::parse(&format!("t{}", uuid::Uuid::now_v7().simple())).expect("valid");
    let other = TenantId::parse("someone-else").expect("valid");
    let key = domain::AccessKey::generate(&domain::KeyPrefix::default()).0;
    let now = Timestamp::now().unix_seconds();
    let hour = Granularity::Hour.start_of(now);
    let earlier = hour - 3600;
    // 20 writers at once, each adding 5 VALID this hour and 1 DISABLED the hour before.
    let writers = (0..20).map(|_| {
        let store = store.clone();
        let (tenant, key) = (tenant.clone(), key.clone());
        tokio::spawn(async move {
            let writes = UsageWrites::of(&[
                increment(&tenant, &key, hour + 10, "VALID", 5),
                increment(&tenant, &key, earlier, "DISABLED", 1),
            ]);
            store.add_usage(writes).await.map_err(|failed| failed.error)
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.expect("a writer").expect("written");
    }
    let hours = store
        .key_usage(&tenant, &key, Granularity::Hour, earlier, hour)
        .await
        .expect("read");
    let by_hour: Vec<(i64, u64, u64)> = hours
        .iter()
        .map(|(start, counts)| (*start, counts.get("VALID"), counts.get("DISABLED")))
        .collect();
    assert_eq!(by_hour, [(earlier, 0, 20), (hour, 100, 0)]);
    let only_this_hour = store
        .key_usage(&tenant, &key, Granularity::Hour, hour, hour)
        .await
        .expect("read");
    assert_eq!(only_this_hour.len(), 1, "the range asked, no more");
    let day = Granularity::Day.start_of(now);
    let days = store
        .key_usage(&tenant, &key, Granularity::Day, day - 86_400, day)
        .await
        .expect("read");
    let in_days: u64 = days.iter().map(|(_, counts)| counts.total()).sum();
    assert_eq!(in_days, 120, "every count is in its day too");
    let rollups = store
        .tenant_usage(&tenant, day - 86_400, day, UsageDetail::WithKeys)
        .await
        .expect("read");
    let summary = store
        .tenant_usage(&tenant, day - 86_400, day, UsageDetail::Summary)
        .await
        .expect("read");
    assert!(
        summary.iter().all(|day| day.by_key.is_empty()),
        "a summary reads no key's counts"
    );
    let summed: u64 = summary
        .iter()
        .flat_map(|day| day.by_application.values())
        .map(OutcomeCounts::total)
        .sum();
    assert_eq!(summed, 120, "a summary has every application count");
    let by_key: u64 = rollups
        .iter()
        .filter_map(|rollup| rollup.by_key.get(key.as_str()))
        .map(OutcomeCounts::total)
        .sum();
    let by_application: u64 = rollups
        .iter()
        .flat_map(|rollup| rollup.by_application.values())
        .map(OutcomeCounts::total)
        .sum();
    assert_eq!((by_key, by_application), (120, 120));
    assert!(
        store
            .tenant_usage(&other, day - 86_400, day, UsageDetail::WithKeys)
            .await
            .expect("read")
            .is_empty(),
        "another tenant has none of it"
    );
    assert!(
        store
            .key_usage(&other, &key, Granularity::Hour, earlier, hour)
            .await
            .expect("read")
            .is_empty()
    );
}

/// On DynamoDB every bucket has its TTL: an hour 90 days after it ends, a
/// day 400 (the table's TTL attribute, `ttl`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_buckets_carry_their_ttl() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let store = super::backends::dynamodb().await;
    let tenant = TenantId::parse("ttl-tenant").expect("valid");
    let key = domain::AccessKey::generate(&domain::KeyPrefix::default()).0;
    let hour = Granularity::Hour.start_of(Timestamp::now().unix_seconds());
    let day = Granularity::Day.start_of(hour);
    store
        .add_usage(UsageWrites::of(&[increment(
            &tenant, &key, hour, "VALID", 1,
        )]))
        .await
        .map_err(|failed| failed.error)
        .expect("written");
    let items = [
        (
            store::keys::key_usage_pk(&tenant, &key),
            store::keys::usage_sk(Granularity::Hour, hour),
            hour + 3600 + 90 * 86_400,
        ),
        (
            store::keys::key_usage_pk(&tenant, &key),
            store::keys::usage_sk(Granularity::Day, day),
            day + 86_400 + 400 * 86_400,
        ),
        (
            store::keys::tenant_usage_pk(&tenant),
            store::keys::usage_sk(Granularity::Day, day),
            day + 86_400 + 400 * 86_400,
        ),
        (
            store::keys::tenant_key_usage_pk(&tenant),
            store::keys::tenant_usage_shard_sk(day, key.as_str()),
            day + 86_400 + 400 * 86_400,
        ),
    ];
    for (pk, sk, expected) in items {
        let item = store
            .client()
            .get_item()
            .table_name(store.table_name())
            .key("PK", AttributeValue::S(pk.clone()))
            .key("SK", AttributeValue::S(sk.clone()))
            .send()
            .await
            .expect("read")
            .item
            .unwrap_or_else(|| panic!("no item {pk} {sk}"));
        assert_eq!(
            item.get("ttl"),
            Some(&AttributeValue::N(expected.to_string())),
            "{pk} {sk}"
        );
    }
}

/// A busy tenant's day on DynamoDB: its summary (applications and Arx) stays
/// a few counters however many keys verify, and the per-key counts spread
/// over at most 16 shard items, so no write touches a large item (one item
/// of 400 KB made every write cost up to 400 write units). A day written in
/// the one-item form of before reads the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_a_busy_day_is_a_small_summary_and_sharded_key_counts() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let store = super::backends::dynamodb().await;
    let tenant = TenantId::parse(&format!("busy{}", uuid::Uuid::now_v7().simple())).expect("valid");
    let (application, arx) = (ApplicationId::new(), ArxId::new());
    let hour = Granularity::Hour.start_of(Timestamp::now().unix_seconds());
    let day = Granularity::Day.start_of(hour);
    // Every third key belongs to one of two identities.
    let identities = [domain::IdentityId::new(), domain::IdentityId::new()];
    let increments: Vec<UsageIncrement> = (0..300)
        .map(|n| {
            let mut counts = OutcomeCounts::default();
            counts.add("VALID", 2);
            counts.add("RATE_LIMITED", 1);
            UsageIncrement {
                tenant: tenant.clone(),
                key_id: domain::AccessKey::generate(&domain::KeyPrefix::default()).0,
                application_id: application.clone(),
                arx_id: arx.clone(),
                identity_id: (n % 3 == 0).then(|| identities[n % 2].clone()),
                hour,
                counts,
            }
        })
        .collect();
    store
        .add_usage(UsageWrites::of(&increments))
        .await
        .map_err(|failed| failed.error)
        .expect("written");
    let partition = |pk: String| {
        let store = &store;
        async move {
            store
                .client()
                .query()
                .table_name(store.table_name())
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk))
                .send()
                .await
                .expect("a query")
                .items
                .unwrap_or_default()
        }
    };
    let summaries = partition(store::keys::tenant_usage_pk(&tenant)).await;
    assert_eq!(summaries.len(), 1, "one summary for the day");
    let summary = &summaries[0];
    assert!(
        summary.keys().all(|name| !name.starts_with("k#")),
        "no key's counts in the summary"
    );
    assert!(summary.len() <= 10, "a few counters: {:?}", summary.keys());
    let shards = partition(store::keys::tenant_key_usage_pk(&tenant)).await;
    assert!(
        (2..=16).contains(&shards.len()),
        "300 keys over at most 16 shards: {}",
        shards.len()
    );
    let counters: usize = shards
        .iter()
        .map(|shard| shard.keys().filter(|name| name.starts_with("k#")).count())
        .sum();
    assert_eq!(counters, 600, "every key's two outcomes, once");
    let days = store
        .tenant_usage(&tenant, day, day, UsageDetail::WithKeys)
        .await
        .expect("read");
    assert_eq!(days.len(), 1);
    assert_eq!(days[0].by_key.len(), 300);
    assert_eq!(days[0].by_application[application.as_str()].total(), 900);
    // 100 keys of identities, 50 each, 3 verifies a key: in the day's
    // shards (never its summary), and in each identity's own buckets.
    for identity in &identities {
        assert_eq!(days[0].by_identity[identity.as_str()].total(), 150);
        let hours = store
            .identity_usage(&tenant, identity, Granularity::Hour, hour, hour)
            .await
            .expect("read");
        assert_eq!(hours.len(), 1);
        assert_eq!(hours[0].1.get("VALID"), 100);
    }
    let summary_days = store
        .tenant_usage(&tenant, day, day, UsageDetail::Summary)
        .await
        .expect("read");
    assert!(
        summary_days[0].by_identity.is_empty(),
        "read with the keys only"
    );

    // A day in the one-item form of the release before: its per-key
    // counters in the day's own item. Read the same, with either detail.
    let before = day - 86_400;
    let legacy_key = ApiKeyId::new();
    store
        .client()
        .put_item()
        .table_name(store.table_name())
        .item(
            "PK",
            AttributeValue::S(store::keys::tenant_usage_pk(&tenant)),
        )
        .item(
            "SK",
            AttributeValue::S(store::keys::usage_sk(Granularity::Day, before)),
        )
        .item("entity_type", AttributeValue::S("tenant_traffic".into()))
        .item(
            format!("a#{application}#VALID"),
            AttributeValue::N("5".into()),
        )
        .item(
            format!("k#{legacy_key}#VALID"),
            AttributeValue::N("5".into()),
        )
        .send()
        .await
        .expect("a legacy day");
    let both = store
        .tenant_usage(&tenant, before, day, UsageDetail::WithKeys)
        .await
        .expect("read");
    assert_eq!(both.len(), 2);
    assert_eq!(both[0].by_key[legacy_key.as_str()].get("VALID"), 5);
    let summary = store
        .tenant_usage(&tenant, before, day, UsageDetail::Summary)
        .await
        .expect("read");
    assert!(summary.iter().all(|day| day.by_key.is_empty()));
    assert_eq!(
        summary[0].by_application[application.as_str()].get("VALID"),
        5
    );
}

/// A flush whose per-key shards fail after its key items and its summary
/// were written: what was written is not written again by the next flush,
/// and what failed is (a proxy in front of the DynamoDB test server throttles
/// every write to the shards until told to stop).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_a_flush_that_fails_half_way_never_counts_twice() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let failing = Arc::new(AtomicBool::new(true));
    let fail = Arc::clone(&failing);
    let url = crate::dynamodb_proxy::start(move |_, body| {
        let to_a_shard = String::from_utf8_lossy(body).contains("TRAFFIC#KEYS");
        (fail.load(Ordering::SeqCst) && to_a_shard).then(|| {
            crate::dynamodb_proxy::error(
                "ProvisionedThroughputExceededException",
                serde_json::json!({"message": "throttled"}),
            )
        })
    })
    .await;
    let store =
        store::DynamoStore::local(&url, format!("halfway-{}", uuid::Uuid::now_v7().simple()));
    store.create_table_if_missing().await.expect("a table");
    let tenant = TenantId::parse("halfway").expect("valid");
    let key = ApiKeyId::new();
    let hour = Granularity::Hour.start_of(Timestamp::now().unix_seconds());
    let day = Granularity::Day.start_of(hour);
    let writes = UsageWrites::of(&[increment(&tenant, &key, hour, "VALID", 7)]);
    let failed = store
        .add_usage(writes)
        .await
        .expect_err("the shard's write fails");
    assert_eq!(
        failed.rest.key_buckets.len(),
        0,
        "the key's hour and day were written"
    );
    let left = &failed.rest.tenant_days[&(tenant.clone(), day)];
    assert!(left.by_application.is_empty(), "the summary was written");
    assert_eq!(left.by_key.len(), 1, "the shard is what is left");
    failing.store(false, Ordering::SeqCst);
    store
        .add_usage(failed.rest)
        .await
        .map_err(|f| f.error)
        .expect("the rest written");
    let days = store
        .tenant_usage(&tenant, day, day, UsageDetail::WithKeys)
        .await
        .expect("read");
    let by_application: u64 = days[0]
        .by_application
        .values()
        .map(OutcomeCounts::total)
        .sum();
    assert_eq!(by_application, 7, "the summary once");
    assert_eq!(days[0].by_key[key.as_str()].total(), 7, "the shard once");
    let hours = store
        .key_usage(&tenant, &key, Granularity::Hour, hour, hour)
        .await
        .expect("read");
    assert_eq!(hours[0].1.total(), 7, "the key's hour once");
}

/// A write DynamoDB applied whose answer was lost (a 500 on the way back):
/// the SDK sends it again, and a later flush may too. Each batch is stamped
/// with its writer and number, and an item adds a batch at most once, so
/// every count is added once (it was added twice, the SDK's retry being a
/// second `ADD`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_a_write_sent_again_after_a_lost_answer_counts_once() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::dynamodb_proxy::Decision;

    let lost = Arc::new(AtomicUsize::new(0));
    let losing = Arc::clone(&lost);
    let url = crate::dynamodb_proxy::start_deciding(move |target, _| {
        // Every first sending of an update is applied, its answer lost.
        if target.ends_with(".UpdateItem")
            && losing.fetch_add(1, Ordering::SeqCst).is_multiple_of(2)
        {
            Decision::PassThenAnswer(crate::dynamodb_proxy::error_with_status(
                500,
                "InternalServerError",
                serde_json::json!({"message": "the answer was lost"}),
            ))
        } else {
            Decision::Pass
        }
    })
    .await;
    let store = store::DynamoStore::local(&url, format!("lost-{}", uuid::Uuid::now_v7().simple()));
    store.create_table_if_missing().await.expect("a table");
    let tenant = TenantId::parse("lost").expect("valid");
    let key = ApiKeyId::new();
    let hour = Granularity::Hour.start_of(Timestamp::now().unix_seconds());
    let day = Granularity::Day.start_of(hour);
    // A batch stamped as the functions' counter stamps each flush.
    let mut writes = UsageWrites::of(&[increment(&tenant, &key, hour, "VALID", 3)]);
    writes.stamp = Some(store::WriteStamp {
        writer: "test-writer".into(),
        batch: 1,
    });
    store
        .add_usage(writes.clone())
        .await
        .map_err(|f| f.error)
        .expect("written");
    // The same batch again (a flush sending a kept batch): nothing added.
    store
        .add_usage(writes)
        .await
        .map_err(|f| f.error)
        .expect("written");
    assert!(
        lost.load(Ordering::SeqCst) >= 8,
        "answers were lost on the way"
    );
    let hours = store
        .key_usage(&tenant, &key, Granularity::Hour, hour, hour)
        .await
        .expect("read");
    assert_eq!(hours[0].1.get("VALID"), 3, "the key's hour once");
    let days = store
        .tenant_usage(&tenant, day, day, UsageDetail::WithKeys)
        .await
        .expect("read");
    assert_eq!(
        days[0].by_key[key.as_str()].get("VALID"),
        3,
        "the shard once"
    );
    let summary: u64 = days[0]
        .by_application
        .values()
        .map(OutcomeCounts::total)
        .sum();
    assert_eq!(summary, 3, "the summary once");
}
