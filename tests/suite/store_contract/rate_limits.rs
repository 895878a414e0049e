//! Rate-limit windows on both stores: a window's counter is made by its
//! first charge (one write), charged exactly, and ends with its window:
//! DynamoDB's TTL may take it after, and the embedded store removes ended
//! ones as new ones are made, so neither grows with identifiers seen long
//! ago.

use super::backends::Store;
use domain::limits::{RateLimit, RateRequests, RateSeconds};
use domain::{Cost, KeyLimits, NamespaceId, Timestamp};
use store::{ApiKeyCharge, ChargePart, Charges, Counter, DynamoStore, EmbeddedStore, LimitWindow};

fn window(namespace: &NamespaceId, identifier: &str, requests: u64, at: Timestamp) -> LimitWindow {
    let limit = RateLimit {
        requests: RateRequests::try_from(requests).expect("requests"),
        per_seconds: RateSeconds::try_from(60).expect("seconds"),
    };
    let (start, end) = domain::ratelimit::window_at(limit, at);
    LimitWindow {
        namespace: namespace.clone(),
        identifier_digest: identifier.to_owned(),
        limit,
        start,
        end,
    }
}

fn part(window: &LimitWindow, cost: u64) -> ChargePart {
    ChargePart {
        counter: Counter::RateLimit(window.clone()),
        expected: KeyLimits {
            rate: Some(window.limit),
            credits: None,
        },
        cost: Cost::try_from(cost).expect("a cost"),
    }
}

/// What a charge of `cost` left, or `None` if it was refused.
async fn charge(
    store: &impl ApiKeyCharge,
    window: &LimitWindow,
    cost: u64,
    at: Timestamp,
) -> Option<u64> {
    match store
        .charge_together(&[part(window, cost)], at)
        .await
        .expect("charged")
    {
        Charges::Charged(after) => Some(
            after[0]
                .and_then(|balance| balance.least_left(at))
                .unwrap_or(window.limit.requests.get()),
        ),
        Charges::Refused { .. } => None,
    }
}

contract!(a_window_is_made_by_its_first_charge_and_charged_exactly,);

async fn a_window_is_made_by_its_first_charge_and_charged_exactly(store: impl Store) {
    let now = Timestamp::now();
    let namespace = NamespaceId::new();
    let w = window(&namespace, "digest-a", 3, now);
    assert_eq!(
        charge(&store, &w, 0, now).await,
        Some(3),
        "a peek makes nothing"
    );
    assert_eq!(
        charge(&store, &w, 1, now).await,
        Some(2),
        "made by the first charge"
    );
    assert_eq!(charge(&store, &w, 2, now).await, Some(0));
    assert_eq!(
        charge(&store, &w, 1, now).await,
        None,
        "the window is spent"
    );
    assert_eq!(charge(&store, &w, 0, now).await, None, "and a peek says so");
    let other = window(&namespace, "digest-b", 3, now);
    assert_eq!(
        charge(&store, &other, 4, now).await,
        None,
        "more than the limit, at once"
    );
    assert_eq!(
        charge(&store, &other, 3, now).await,
        Some(0),
        "and nothing was spent by it"
    );
    let next = Timestamp::from_unix_seconds(w.end);
    let after = window(&namespace, "digest-a", 3, next);
    assert_eq!(
        charge(&store, &after, 1, next).await,
        Some(2),
        "the next window counts afresh"
    );
}

/// The embedded store removes ended windows as it makes new ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_removes_ended_windows_as_it_makes_new_ones() {
    let (store, _dir): (EmbeddedStore, _) = super::backends::embedded();
    let namespace = NamespaceId::new();
    let long_ago = Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() - 3_600);
    let old: Vec<LimitWindow> = (0..10)
        .map(|i| window(&namespace, &format!("old-{i}"), 5, long_ago))
        .collect();
    for w in &old {
        assert_eq!(charge(&store, w, 1, long_ago).await, Some(4));
    }
    let now = Timestamp::now();
    for i in 0..5 {
        let w = window(&namespace, &format!("new-{i}"), 5, now);
        assert_eq!(charge(&store, &w, 1, now).await, Some(4));
    }
    // Each of the five new windows removed two ended ones: a peek of an
    // ended window, as of its own time, finds none (it would say 4 left).
    for w in &old {
        assert_eq!(charge(&store, w, 0, long_ago).await, Some(5), "removed");
    }
}

/// On DynamoDB each window carries the TTL that lets it go after its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamodb_window_carries_a_ttl_after_its_end() {
    let store: DynamoStore = super::backends::dynamodb().await;
    let now = Timestamp::now();
    let w = window(&NamespaceId::new(), "digest-ttl", 5, now);
    assert_eq!(charge(&store, &w, 1, now).await, Some(4));
    let pk = w.pk();
    let item = store
        .client()
        .get_item()
        .table_name(store.table_name())
        .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()))
        .key("SK", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .send()
        .await
        .expect("read")
        .item
        .expect("the window's item");
    let ttl: i64 = item["ttl"]
        .as_n()
        .expect("a number")
        .parse()
        .expect("seconds");
    assert!(ttl > w.end && ttl <= w.end + 3_600, "{ttl} after {}", w.end);
}
