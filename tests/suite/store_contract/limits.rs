//! Charging a limited key's counters, on both stores: exact under
//! concurrency, one refill and one new window per boundary however many
//! charges cross it together, and counters that follow the key's limits.

use domain::{ApiKey, AuditAction, Cost, KeyLimits, LimitHit, Timestamp};
use domain::{Counters, KeyChange};
use store::Charge;

use super::backends::Store;
use super::fixtures::*;

contract!(
    concurrent_charges_spend_exactly_the_credits,
    a_refill_happens_once_however_many_charges_cross_the_day,
    a_rate_window_holds_its_count_and_starts_afresh_once,
    the_stored_counters_decide_whatever_limits_the_caller_expects,
    a_peek_spends_nothing,
    changed_limits_restart_the_counters_and_removed_ones_end_charging,
    a_purged_key_leaves_no_counters,
);

fn limits(json: serde_json::Value) -> KeyLimits {
    serde_json::from_value(json).expect("valid limits")
}

fn cost(n: u64) -> Cost {
    Cost::try_from(n).expect("in range")
}

/// A key with `limits`, created (with its counters) in the store.
async fn limited_key(store: &impl Store, limits: KeyLimits) -> ApiKey {
    let catalog = catalog(store).await;
    let mut key = new_key(&catalog.tenant, &catalog.application, &catalog.arx);
    key.limits = Some(limits);
    let event = audit(&catalog.tenant, AuditAction::ApiKeyCreated, &key.id);
    store.create_api_key(&key, &event).await.expect("created");
    key
}

/// `n` charges of cost 1 at `at`, all at once: how many were charged, and
/// the refusals' limits.
async fn charge_together(
    store: &impl Store,
    key: &ApiKey,
    n: usize,
    at: Timestamp,
) -> (usize, Vec<LimitHit>) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (store, id, limits) = (
                store.clone(),
                key.id.clone(),
                key.limits.unwrap_or_default(),
            );
            tokio::spawn(async move { store.charge_api_key(&id, &limits, cost(1), at).await })
        })
        .collect();
    let (mut charged, mut refused) = (0, Vec::new());
    for task in tasks {
        match task.await.expect("joined").expect("answered") {
            Charge::Charged(_) => charged += 1,
            Charge::Refused(_, hit) => refused.push(hit),
            Charge::Unlimited => panic!("a limited key was not charged"),
        }
    }
    (charged, refused)
}

async fn concurrent_charges_spend_exactly_the_credits(store: impl Store) {
    let key = limited_key(
        &store,
        limits(serde_json::json!({"credits": {"remaining": 100}})),
    )
    .await;
    let (charged, refused) = charge_together(&store, &key, 500, Timestamp::now()).await;
    assert_eq!(charged, 100);
    assert!(refused.iter().all(|hit| *hit == LimitHit::Credits));
    let balance = store
        .api_key_balance(&key.id)
        .await
        .expect("read")
        .expect("counters");
    assert_eq!(balance.credits.map(|c| c.left), Some(0));
}

async fn a_refill_happens_once_however_many_charges_cross_the_day(store: impl Store) {
    let key = limited_key(
        &store,
        limits(serde_json::json!({"credits": {"remaining": 0, "refill": {"amount": 5, "every": "day"}}})),
    )
    .await;
    let now = Timestamp::now();
    let (charged, _) = charge_together(&store, &key, 10, now).await;
    assert_eq!(charged, 0, "nothing until the refill");
    // Two days on: one refill of 5 (missed days do not pile up), whatever the
    // number of charges racing to make it.
    let later = now.plus(time::Duration::days(2));
    let (charged, refused) = charge_together(&store, &key, 40, later).await;
    assert_eq!(charged, 5);
    assert!(refused.iter().all(|hit| *hit == LimitHit::Credits));
    let balance = store
        .api_key_balance(&key.id)
        .await
        .expect("read")
        .expect("counters");
    let next = domain::limits::RefillEvery::Day.next_after(later);
    assert_eq!(
        balance.credits.and_then(|c| c.refill_at),
        Some(next.unix_seconds())
    );
}

async fn a_rate_window_holds_its_count_and_starts_afresh_once(store: impl Store) {
    let key = limited_key(
        &store,
        limits(serde_json::json!({"rate": {"requests": 10, "per_seconds": 60}})),
    )
    .await;
    let now = Timestamp::now();
    let (charged, refused) = charge_together(&store, &key, 40, now).await;
    assert_eq!(charged, 10);
    assert!(refused.iter().all(|hit| *hit == LimitHit::Rate));
    let (charged, _) =
        charge_together(&store, &key, 40, now.plus(time::Duration::seconds(59))).await;
    assert_eq!(charged, 0, "the same window");
    let (charged, _) =
        charge_together(&store, &key, 40, now.plus(time::Duration::seconds(60))).await;
    assert_eq!(charged, 10, "one new window, opened once");
}

async fn the_stored_counters_decide_whatever_limits_the_caller_expects(store: impl Store) {
    let key = limited_key(
        &store,
        limits(serde_json::json!({"rate": {"requests": 5, "per_seconds": 60}, "credits": {"remaining": 3}})),
    )
    .await;
    // A caller whose cached lookup says "no limits", or "credits only".
    let stale = [
        KeyLimits::default(),
        limits(serde_json::json!({"credits": {"remaining": 9}})),
    ];
    let now = Timestamp::now();
    let mut charged = 0;
    for expected in stale.iter().cycle().take(6) {
        if let Charge::Charged(_) = store
            .charge_api_key(&key.id, expected, cost(1), now)
            .await
            .expect("answered")
        {
            charged += 1;
        }
    }
    assert_eq!(charged, 3);
    let balance = store
        .api_key_balance(&key.id)
        .await
        .expect("read")
        .expect("counters");
    assert_eq!(
        balance.rate.map(|r| r.left),
        Some(2),
        "both counters were charged"
    );
}

async fn a_peek_spends_nothing(store: impl Store) {
    let key = limited_key(
        &store,
        limits(serde_json::json!({"credits": {"remaining": 1}})),
    )
    .await;
    let expected = key.limits.unwrap_or_default();
    let now = Timestamp::now();
    for _ in 0..3 {
        let peeked = store
            .charge_api_key(&key.id, &expected, cost(0), now)
            .await
            .expect("answered");
        assert!(
            matches!(peeked, Charge::Charged(balance) if balance.credits.map(|c| c.left) == Some(1))
        );
    }
    let spent = store
        .charge_api_key(&key.id, &expected, cost(1), now)
        .await
        .expect("answered");
    assert!(matches!(spent, Charge::Charged(_)));
    let peeked = store
        .charge_api_key(&key.id, &expected, cost(0), now)
        .await
        .expect("answered");
    assert!(
        matches!(peeked, Charge::Refused(_, LimitHit::Credits)),
        "{peeked:?}"
    );
}

async fn changed_limits_restart_the_counters_and_removed_ones_end_charging(store: impl Store) {
    let key = limited_key(
        &store,
        limits(serde_json::json!({"credits": {"remaining": 1}})),
    )
    .await;
    let now = Timestamp::now();
    let (charged, _) = charge_together(&store, &key, 3, now).await;
    assert_eq!(charged, 1);
    let raised = ApiKey {
        limits: Some(limits(serde_json::json!({"credits": {"remaining": 4}}))),
        ..key.clone()
    };
    let event = audit(&key.tenant_id, AuditAction::ApiKeyLimitsChanged, &key.id);
    let change = KeyChange {
        next: ApiKey {
            revision: key.revision.next(),
            ..raised.clone()
        },
        counters: Counters::Restarted,
        audit: vec![event],
    };
    store
        .write_api_key_change(&key, &change)
        .await
        .expect("changed");
    let (charged, _) = charge_together(&store, &raised, 10, now).await;
    assert_eq!(charged, 4, "a fresh balance");
    let stored = store
        .get_api_key(&key.tenant_id, &key.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(stored.limits, raised.limits);

    let unlimited = ApiKey {
        limits: None,
        ..key.clone()
    };
    let event = audit(&key.tenant_id, AuditAction::ApiKeyLimitsChanged, &key.id);
    let change = KeyChange {
        next: ApiKey {
            revision: stored.revision.next(),
            ..unlimited
        },
        counters: Counters::Restarted,
        audit: vec![event],
    };
    store
        .write_api_key_change(&stored, &change)
        .await
        .expect("changed");
    assert_eq!(store.api_key_balance(&key.id).await.expect("read"), None);
    let free = store
        .charge_api_key(&key.id, &raised.limits.unwrap_or_default(), cost(1), now)
        .await
        .expect("answered");
    assert_eq!(free, Charge::Unlimited);
    let lookup = store
        .lookup_api_key(&key.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(lookup.limits, None);
}

async fn a_purged_key_leaves_no_counters(store: impl Store) {
    let key = limited_key(
        &store,
        limits(serde_json::json!({"credits": {"remaining": 1}})),
    )
    .await;
    let deleted = delete_key(&store, &key).await;
    let event = audit(&key.tenant_id, AuditAction::ApiKeyPurged, &key.id);
    store.purge_api_key(&deleted, &event).await.expect("purged");
    assert_eq!(store.api_key_balance(&key.id).await.expect("read"), None);
}
