//! DynamoDB's `TransactionConflict`, made to happen. The test server serves one
//! request at a time, so concurrent writes there never conflict: a proxy in
//! front of it cancels chosen `TransactWriteItems` calls exactly as DynamoDB
//! does when another transaction holds an item, and passes everything else
//! through. The store must retry, stop at its bound, and keep counts exact.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use domain::ApiKeyCounts;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
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
    let upstream = std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT: run `bash tests/run.sh`, which starts the DynamoDB test server",
    );
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let conflicts = Arc::new(Conflicts::default());
    let counters = Arc::clone(&conflicts);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (counters, upstream) = (Arc::clone(&counters), upstream.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let (counters, upstream) = (Arc::clone(&counters), upstream.clone());
                    async move { Ok::<_, Infallible>(relay(request, &counters, &upstream).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let store = DynamoStore::local(&url, format!("conflicts-{}", uuid::Uuid::now_v7().simple()));
    store.create_table_if_missing().await.expect("a table");
    (store, conflicts)
}

async fn relay(
    request: hyper::Request<hyper::body::Incoming>,
    conflicts: &Conflicts,
    upstream: &str,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.expect("a body").to_bytes();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if target.ends_with(".TransactWriteItems") {
        conflicts.transactions.fetch_add(1, Ordering::SeqCst);
        if conflicts.cancel_next() {
            return cancelled(&body);
        }
    }
    let stream = tokio::net::TcpStream::connect(upstream)
        .await
        .expect("the DynamoDB test server");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("a connection");
    tokio::spawn(connection);
    let forwarded = hyper::Request::from_parts(parts, Full::new(body));
    let answer = sender.send_request(forwarded).await.expect("an answer");
    let (parts, body) = answer.into_parts();
    let body = body.collect().await.expect("a body").to_bytes();
    hyper::Response::from_parts(parts, Full::new(body))
}

/// DynamoDB's answer to a transaction that lost a race: 400, one reason per
/// item, the first item in conflict.
fn cancelled(request: &[u8]) -> hyper::Response<Full<Bytes>> {
    let request: Value = serde_json::from_slice(request).expect("a JSON request");
    let items = request["TransactItems"].as_array().map_or(1, Vec::len);
    let mut reasons = vec![json!({"Code": "None"}); items];
    reasons[0] =
        json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"});
    let body = json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
        "CancellationReasons": reasons,
    });
    hyper::Response::builder()
        .status(400)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a response")
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
