//! DynamoDB's `TransactionConflict`, made to happen. The test server serves one
//! request at a time, so concurrent writes there never conflict: a proxy in
//! front of it cancels chosen `TransactWriteItems` calls exactly as DynamoDB
//! does when another transaction holds an item, and passes everything else
//! through. The store must retry, stop at its bound, and keep counts exact.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use domain::ApiKeyCounts;
use serde_json::{Value, json};
use store::{ApiKeyCreate, ApiKeyRead, DynamoStore, StoreError};

use crate::store_contract::fixtures::{audit, catalog, new_key};

/// The proxy's counters: transactions seen, and how many more to cancel.
#[derive(Default)]
struct Conflicts {
    transactions: AtomicUsize,
    to_cancel: AtomicUsize,
}

impl Conflicts {
    /// Takes one cancellation if any are left.
    fn cancel_next(&self) -> bool {
        self.to_cancel
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }
}

/// A fresh table behind a proxy to the DynamoDB test server.
async fn store_behind_proxy() -> (DynamoStore, Arc<Conflicts>) {
    let conflicts = Arc::new(Conflicts::default());
    let counters = Arc::clone(&conflicts);
    let url = crate::dynamodb_proxy::start(move |target, body| {
        if !target.ends_with(".TransactWriteItems") {
            return None;
        }
        counters.transactions.fetch_add(1, Ordering::SeqCst);
        counters.cancel_next().then(|| cancelled(body))
    })
    .await;
    let store = DynamoStore::local(&url, format!("conflicts-{}", uuid::Uuid::now_v7().simple()));
    store.create_table_if_missing().await.expect("a table");
    (store, conflicts)
}

/// DynamoDB's answer to a transaction that lost a race: 400, one reason per
/// item, the first item in conflict.
fn cancelled(request: &[u8]) -> crate::dynamodb_proxy::Answer {
    let request: Value = serde_json::from_slice(request).expect("a JSON request");
    let items = request["TransactItems"].as_array().map_or(1, Vec::len);
    let mut reasons = vec![json!({"Code": "None"}); items];
    reasons[0] =
        json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"});
    crate::dynamodb_proxy::error(
        "TransactionCanceledException",
        json!({
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
            "CancellationReasons": reasons,
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_transaction_is_retried_and_the_counts_stay_exact() {
    let (store, conflicts) = store_behind_proxy().await;
    let c = catalog(&store).await;
    let key = new_key(&c.tenant, &c.application, &c.arx);
    let event = audit(&c.tenant, domain::AuditAction::ApiKeyCreated, &key.id);
    let before = conflicts.transactions.load(Ordering::SeqCst);
    conflicts.to_cancel.store(3, Ordering::SeqCst);

    store
        .create_api_key(&key, &event)
        .await
        .expect("created on the fourth try");

    assert_eq!(conflicts.transactions.load(Ordering::SeqCst) - before, 4);
    assert!(
        store
            .get_api_key(&c.tenant, &key.id)
            .await
            .expect("read")
            .is_some()
    );
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read"),
        ApiKeyCounts {
            total: 1,
            active: 1,
            ..ApiKeyCounts::default()
        },
        "counted once, though sent four times"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_stop_at_their_bound_and_write_nothing() {
    let (store, conflicts) = store_behind_proxy().await;
    let c = catalog(&store).await;
    let key = new_key(&c.tenant, &c.application, &c.arx);
    let event = audit(&c.tenant, domain::AuditAction::ApiKeyCreated, &key.id);
    let before = conflicts.transactions.load(Ordering::SeqCst);
    conflicts.to_cancel.store(usize::MAX, Ordering::SeqCst);

    // Unbounded retries would never end: fail instead of hanging.
    let refused = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        store.create_api_key(&key, &event),
    )
    .await
    .expect("the retries end");

    assert!(matches!(refused, Err(StoreError::Contended)), "{refused:?}");
    let sent = conflicts.transactions.load(Ordering::SeqCst) - before;
    assert_eq!(sent, DynamoStore::TRANSACTION_ATTEMPTS as usize, "bounded");
    conflicts.to_cancel.store(0, Ordering::SeqCst);
    assert_eq!(
        store.get_api_key(&c.tenant, &key.id).await.expect("read"),
        None
    );
    assert_eq!(
        store.api_key_counts(&c.tenant).await.expect("read"),
        ApiKeyCounts::default()
    );
    let answer = api::ApiError::from(StoreError::Contended).into_response();
    assert_eq!(answer.status, 503, "contention is a retry, not a fault");
    assert!(
        answer
            .headers
            .iter()
            .any(|(name, value)| *name == "retry-after" && value == "1")
    );
}
