//! The last release's data, opened by this one: the fixture in
//! `tests/fixtures/upgrade/` is what the release before this one's dev server
//! left after a realistic morning of use (made by its `make.py`, from that
//! release's commit), on both stores. Every key must answer as it did, its
//! balance and window go on, its events and counts stay, and what came since
//! works on the old keys. Refreshed at each release that changes what is
//! stored (README.md there).

use std::collections::HashMap;
use std::path::PathBuf;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use domain::Role;
use serde_json::{Value, json};

use crate::http_api::helpers::TestApp;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/upgrade")
        .join(name)
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixture("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("JSON")
}

/// No purge while the test reads: the fixture's deleted key must still be
/// there however old the fixture is.
fn keep_everything() -> dev_server::JobOptions {
    let mut jobs = dev_server::JobOptions::default();
    jobs.sweep.retention = time::Duration::days(36_500);
    jobs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_releases_embedded_data_opens_with_nothing_lost() {
    let dir = tempfile::tempdir().expect("a data folder");
    let unpacked = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(fixture("embedded.redb.gz"))
        .output()
        .expect("gzip (Debian's gzip package) unpacks the fixture");
    assert!(
        unpacked.status.success(),
        "gzip -dc embedded.redb.gz failed"
    );
    std::fs::write(dir.path().join("api-keys.redb"), unpacked.stdout).expect("written");
    let app = TestApp::embedded_on(dir, keep_everything())
        .await
        .unwrap_or_else(|e| panic!("the last release's data did not open: {e}"));
    nothing_lost(&app, &expected()["embedded"]).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_releases_dynamodb_data_opens_with_nothing_lost() {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT: run `bash tests/run.sh`, which starts the DynamoDB test server",
    );
    let table = format!("upgrade-{}", uuid::Uuid::now_v7().simple());
    let store = store::DynamoStore::local(&endpoint, table.clone());
    store.create_table_if_missing().await.expect("a table");
    let text = std::fs::read_to_string(fixture("dynamodb-items.json")).expect("the items");
    let items: Vec<Value> = serde_json::from_str(&text).expect("JSON");
    for batch in items.chunks(25) {
        let requests = batch
            .iter()
            .map(|item| {
                let item: HashMap<String, AttributeValue> = item
                    .as_object()
                    .expect("an item")
                    .iter()
                    .map(|(name, value)| (name.clone(), attribute(value)))
                    .collect();
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item))
                            .build()
                            .expect("a put"),
                    )
                    .build()
            })
            .collect();
        store
            .client()
            .batch_write_item()
            .request_items(&table, requests)
            .send()
            .await
            .expect("the last release's items loaded");
    }
    let app = TestApp::dynamodb_on(&table, keep_everything())
        .await
        .unwrap_or_else(|e| panic!("the last release's data did not open: {e}"));
    nothing_lost(&app, &expected()["dynamodb"]).await;
    app.stop().await;
}

/// DynamoDB JSON (`{"S": "…"}`, `{"N": "…"}`, …) as the SDK's value.
fn attribute(value: &Value) -> AttributeValue {
    let (kind, inner) = value
        .as_object()
        .and_then(|object| object.iter().next())
        .expect("a typed value");
    match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str().expect("text").to_owned()),
        "N" => AttributeValue::N(inner.as_str().expect("a number").to_owned()),
        "BOOL" => AttributeValue::Bool(inner.as_bool().expect("a bool")),
        "NULL" => AttributeValue::Null(true),
        "L" => AttributeValue::L(
            inner
                .as_array()
                .expect("a list")
                .iter()
                .map(attribute)
                .collect(),
        ),
        "M" => AttributeValue::M(
            inner
                .as_object()
                .expect("a map")
                .iter()
                .map(|(name, value)| (name.clone(), attribute(value)))
                .collect(),
        ),
        "SS" => AttributeValue::Ss(
            inner
                .as_array()
                .expect("a set")
                .iter()
                .map(|s| s.as_str().expect("text").to_owned())
                .collect(),
        ),
        other => panic!("the fixture holds a {other} value this loader does not read"),
    }
}

fn access_key(expected: &Value, name: &str) -> String {
    let hex = expected["keys"][name]["access_key_hex"]
        .as_str()
        .expect("hex");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(hex.get(at..at + 2).expect("two digits"), 16).expect("hex"))
        .collect();
    String::from_utf8(bytes).expect("text")
}

/// The verdict on the fixture's key `name`, by a verifier.
async fn verify(app: &TestApp, expected: &Value, name: &str) -> Value {
    let key = access_key(expected, name);
    let answer = app
        .post("/v1/verify", Role::Verifier, &json!({ "key": key }))
        .await;
    assert_eq!(answer.status, 200, "{name}: {}", answer.text);
    answer.json()
}

async fn nothing_lost(app: &TestApp, expected: &Value) {
    let made_at =
        domain::Timestamp::parse(expected["made_at"].as_str().expect("made_at")).expect("a time");
    let age = domain::Timestamp::now().unix_seconds() - made_at.unix_seconds();
    assert!(
        age < 380 * 86_400,
        "the upgrade fixture is over a year old and its day counts are expiring: make it again \
         (tests/fixtures/upgrade/README.md)"
    );
    // The overlap of the rotated pair was an hour from when it was made.
    let overlap_over = age > 3600;
    let cases = [
        ("plain", "VALID", None),
        ("credits", "VALID", Some(5)),
        ("rate", "VALID", None),
        ("expiring", "VALID", None),
        ("permissions", "VALID", None),
        (
            "rotated_old",
            if overlap_over { "EXPIRED" } else { "VALID" },
            None,
        ),
        ("rotated_new", "VALID", None),
        ("chain_c", "VALID", Some(7)),
        ("disabled", "DISABLED", None),
        ("deleted", "DELETED", None),
    ];
    for (name, code, remaining) in cases {
        let verdict = verify(app, expected, name).await;
        assert_eq!(verdict["code"], code, "{name}: {verdict}");
        if let Some(remaining) = remaining {
            assert_eq!(
                verdict["remaining"], remaining,
                "{name}'s balance goes on: {verdict}"
            );
        }
    }
    let permissions = verify(app, expected, "permissions").await;
    assert_eq!(permissions["permissions"], json!(["documents.read"]));
    assert_eq!(permissions["external_id"], "acme-corp");
    assert_eq!(permissions["meta"], json!({"plan": "pro", "seats": 12}));
    // The rate window: 5 a minute; two spent long ago, a window of its own now.
    let rate = verify(app, expected, "rate").await;
    assert!(
        rate["remaining"].as_u64().is_some_and(|left| left <= 4),
        "{rate}"
    );

    let id = |name: &str| {
        expected["keys"][name]["id"]
            .as_str()
            .expect("an id")
            .to_owned()
    };
    let listed = app
        .get("/v1/api-keys?limit=100", Role::Developer)
        .await
        .json();
    assert_eq!(
        listed["counts"]["total"], 12,
        "every key of before: {listed}"
    );
    let events = app
        .get(
            &format!("/v1/audit-events?object_id={}", id("disabled")),
            Role::PlatformOwner,
        )
        .await
        .json();
    let actions: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|event| event["action"].as_str())
        .collect();
    assert!(actions.contains(&"api_key_disabled"), "{actions:?}");
    assert!(actions.contains(&"api_key_created"), "{actions:?}");
    // The counts of before, and the verify just made.
    let usage = app
        .get(
            &format!(
                "/v1/api-keys/{}/usage?granularity=day&from={}",
                id("plain"),
                made_at
            ),
            Role::Developer,
        )
        .await;
    assert_eq!(usage.status, 200, "{}", usage.text);
    assert!(
        usage.json()["totals"]["VALID"]
            .as_u64()
            .is_some_and(|n| n >= 3),
        "the three verifies of before are counted: {}",
        usage.text
    );
    // What came since works on the keys of before.
    let path = format!("/v1/api-keys/{}", id("plain"));
    let changed = app
        .call(
            "PATCH",
            &path,
            Some(&app.token(Role::PlatformOwner)),
            Some(
                &json!({"limits": {"credits": {"remaining": 3}}, "external_id": "new-owner"})
                    .to_string(),
            ),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let rotated = app
        .post(
            &format!("{path}/rotate"),
            Role::Developer,
            &json!({"grace_seconds": 0}),
        )
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    let service_keys = app
        .get("/v1/service-keys", Role::PlatformOwner)
        .await
        .json();
    assert!(
        service_keys["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|key| key["id"] == expected["service_key_id"]),
        "{service_keys}"
    );
}
