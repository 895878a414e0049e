//! A table made by an earlier release, opened by this one: what this
//! release needs and the table lacks (an index, the stream, the TTL) is
//! added on a local server, one index at a time, and nothing else changes.
//! The release before added the owner index (GSI6) and never created it on
//! an existing table, so listing one owner's keys was a 500 there.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveStatus,
};
use store::DynamoStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_of_an_earlier_release_is_brought_up_to_date() {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT: run `bash tests/run.sh`, which starts the DynamoDB test server",
    );
    let store = DynamoStore::local(
        &endpoint,
        format!("upgrade-{}", uuid::Uuid::now_v7().simple()),
    );
    let client = store.client();
    let string = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("an attribute")
    };
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .expect("a key")
    };
    // The table as the release before made it: GSI1 to GSI5, no stream, no TTL.
    let mut create = client
        .create_table()
        .table_name(store.table_name())
        .attribute_definitions(string("PK"))
        .attribute_definitions(string("SK"))
        .key_schema(key("PK", KeyType::Hash))
        .key_schema(key("SK", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest);
    for n in 1..=5 {
        let (pk, sk) = (format!("GSI{n}PK"), format!("GSI{n}SK"));
        create = create
            .attribute_definitions(string(&pk))
            .attribute_definitions(string(&sk))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(format!("GSI{n}"))
                    .key_schema(key(&pk, KeyType::Hash))
                    .key_schema(key(&sk, KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .expect("an index"),
            );
    }
    create.send().await.expect("the earlier release's table");
    let kept = ("TENANT#demo", "KEEP#me");
    client
        .put_item()
        .table_name(store.table_name())
        .item("PK", AttributeValue::S(kept.0.into()))
        .item("SK", AttributeValue::S(kept.1.into()))
        .send()
        .await
        .expect("an item of before");

    // What it lacks is named, as the cleanup function logs it on AWS.
    let lacks: Vec<String> = store
        .missing_from_table()
        .await
        .expect("checked")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lacks,
        [
            "the index GSI6 (keys GSI6PK and GSI6SK)",
            "the stream (new and old images)",
            "time to live on the attribute ttl",
        ]
    );
    store
        .create_table_if_missing()
        .await
        .expect("brought up to date");
    assert_eq!(store.missing_from_table().await.expect("checked"), []);

    let table = client
        .describe_table()
        .table_name(store.table_name())
        .send()
        .await
        .expect("described")
        .table
        .expect("a table");
    let indexes: Vec<&str> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|index| index.index_name())
        .collect();
    for wanted in ["GSI1", "GSI2", "GSI3", "GSI4", "GSI5", "GSI6"] {
        assert!(indexes.contains(&wanted), "{wanted} in {indexes:?}");
    }
    assert!(
        table
            .stream_specification()
            .is_some_and(|s| s.stream_enabled()),
        "the stream is on"
    );
    let ttl = client
        .describe_time_to_live()
        .table_name(store.table_name())
        .send()
        .await
        .expect("described");
    assert!(matches!(
        ttl.time_to_live_description()
            .and_then(|d| d.time_to_live_status()),
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ));
    // The owner index answers (it was ResourceNotFound), and what was there stays.
    client
        .query()
        .table_name(store.table_name())
        .index_name("GSI6")
        .key_condition_expression("GSI6PK = :pk")
        .expression_attribute_values(":pk", AttributeValue::S("TENANT#demo#OWNER#x".into()))
        .send()
        .await
        .expect("the owner index is there");
    let item = client
        .get_item()
        .table_name(store.table_name())
        .key("PK", AttributeValue::S(kept.0.into()))
        .key("SK", AttributeValue::S(kept.1.into()))
        .send()
        .await
        .expect("read");
    assert!(item.item.is_some(), "the earlier release's items stay");
    // Up to date now: a second start adds nothing.
    assert_eq!(
        store.bring_up_to_date().await.expect("checked"),
        Vec::<String>::new()
    );
}

/// Data a later release wrote is refused, naming both versions, on either
/// store; data without a version (the release before) is version 1 and is
/// brought up to this one's, which is then recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_from_a_later_release_is_refused_naming_the_versions() {
    use store::{DATA_VERSION, DataVersionStore, StoredVersion};

    let embedded_dir = tempfile::tempdir().expect("a folder");
    let embedded =
        store::EmbeddedStore::open(embedded_dir.path().join("api-keys.redb")).expect("a store");
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT: run `bash tests/run.sh`, which starts the DynamoDB test server",
    );
    let table = format!("version-{}", uuid::Uuid::now_v7().simple());
    let dynamo = DynamoStore::local(&endpoint, table.clone());
    dynamo.create_table_if_missing().await.expect("a table");

    async fn versions(store: &impl DataVersionStore) {
        assert_eq!(
            store.data_version().await.expect("read"),
            None,
            "none before"
        );
        assert_eq!(store::open_data(store, "test").await.expect("opened"), 1);
        let recorded = store.data_version().await.expect("read").expect("recorded");
        assert_eq!(recorded.version, DATA_VERSION);
        assert_eq!(
            store::open_data(store, "test").await.expect("opened"),
            DATA_VERSION
        );
        store
            .set_data_version(&StoredVersion {
                version: 99,
                written_by: "9.9.9".into(),
            })
            .await
            .expect("written");
        let refused = store::open_data(store, "0.1.0").await.expect_err("refused");
        let said = refused.to_string();
        assert!(
            said.contains("data version 99")
                && said.contains("9.9.9")
                && said.contains(&format!("data version {DATA_VERSION}")),
            "{said}"
        );
    }
    versions(&embedded).await;
    versions(&dynamo).await;

    // The dev server will not start on it, and says why.
    drop(embedded);
    let refused = crate::http_api::helpers::TestApp::embedded_on(embedded_dir, Default::default())
        .await
        .err()
        .expect("the dev server refused to start");
    assert!(refused.contains("data version 99"), "{refused}");
    let refused = crate::http_api::helpers::TestApp::dynamodb_on(&table, Default::default())
        .await
        .err()
        .expect("the dev server refused to start");
    assert!(refused.contains("data version 99"), "{refused}");
}

/// A key rotated before chains shared one balance (its replacement named, no
/// `balance`) charged its replacement's counters from then on, and left its
/// own unused: its purge removes those, on both stores (the purges of the
/// releases before left them behind for good).
async fn a_key_rotated_before_chains_leaves_no_counters_at_purge(
    store: impl super::backends::Store,
) {
    use domain::{ApiKey, ApiKeyId, AuditAction, KeyLimits};
    use domain::{Counters, KeyChange};

    use super::fixtures::{audit, catalog, new_key};

    let catalog = catalog(&store).await;
    let mut key = new_key(&catalog.tenant, &catalog.application, &catalog.arx);
    key.limits = Some(
        serde_json::from_value::<KeyLimits>(serde_json::json!({"credits": {"remaining": 5}}))
            .expect("limits"),
    );
    store
        .create_api_key(
            &key,
            &audit(&catalog.tenant, AuditAction::ApiKeyCreated, &key.id),
        )
        .await
        .expect("created");
    assert!(
        store
            .api_key_balance(&key.id)
            .await
            .expect("read")
            .is_some(),
        "its counters"
    );
    let before_chains = ApiKey {
        rotated_to: Some(ApiKeyId::new()),
        balance: None,
        ..key.clone()
    };
    let change = KeyChange {
        next: ApiKey {
            revision: key.revision.next(),
            ..before_chains
        },
        counters: Counters::Kept,
        audit: vec![audit(&catalog.tenant, AuditAction::ApiKeyUpdated, &key.id)],
    };
    store
        .write_api_key_change(&key, &change)
        .await
        .expect("written as a release before chains left it");
    let stored = store
        .get_api_key(&catalog.tenant, &key.id)
        .await
        .expect("read")
        .expect("there");
    let deletion = stored
        .delete(&crate::store_contract::author())
        .expect("deletable");
    store
        .write_api_key_change(&stored, &deletion)
        .await
        .expect("deleted");
    let deleted = deletion.next;
    store
        .purge_api_key(
            &deleted,
            &audit(&catalog.tenant, AuditAction::ApiKeyPurged, &key.id),
        )
        .await
        .expect("purged");
    assert!(
        store
            .api_key_balance(&key.id)
            .await
            .expect("read")
            .is_none(),
        "its own counters went with it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_key_rotated_before_chains_leaves_no_counters_at_purge() {
    let (store, _dir) = super::backends::embedded();
    a_key_rotated_before_chains_leaves_no_counters_at_purge(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_a_key_rotated_before_chains_leaves_no_counters_at_purge() {
    a_key_rotated_before_chains_leaves_no_counters_at_purge(super::backends::dynamodb().await)
        .await;
}
