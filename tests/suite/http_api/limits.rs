//! Limits over real HTTP, on both stores: set at create, charged at every
//! verify however many arrive at once, changed by owners and admins, kept by
//! rotation, refused beyond their bounds.

use std::time::Instant;

use domain::Role;
use serde_json::{Value, json};

use super::helpers::{TestApp, on_both_stores};
use super::verify::code;

on_both_stores!(
    five_hundred_concurrent_verifies_of_a_key_with_100_credits_give_100_valid,
    a_rate_limit_of_10_per_second_holds_under_a_burst,
    limits_are_changed_by_owners_and_admins_and_kept_by_rotation,
    limits_beyond_their_bounds_are_refused_naming_the_field,
    a_rotation_chain_has_one_balance_set_by_its_newest_key,
);

/// A → B → C, all three working through their grace periods: the limits
/// set on C (the newest) bind A and B too, against one balance, and the
/// rotated keys' limits are C's to change (409, saying so).
async fn a_rotation_chain_has_one_balance_set_by_its_newest_key(app: &TestApp) {
    let created = app.create_key(Role::Developer).await;
    let mut ids = vec![created["api_key"]["id"].as_str().expect("an id").to_owned()];
    let mut keys = vec![created["access_key"].as_str().expect("a key").to_owned()];
    for _ in 0..2 {
        let last = ids.last().expect("a key");
        let rotated = app
            .post(
                &format!("/v1/api-keys/{last}/rotate"),
                Role::Developer,
                &json!({"grace_seconds": 600}),
            )
            .await;
        assert_eq!(rotated.status, 201, "{}", rotated.text);
        let rotated = rotated.json();
        ids.push(rotated["api_key"]["id"].as_str().expect("an id").to_owned());
        keys.push(rotated["access_key"].as_str().expect("a key").to_owned());
    }
    let patch = |id: String| async move {
        app.call(
            "PATCH",
            &format!("/v1/api-keys/{id}"),
            Some(&app.token(Role::PlatformOwner)),
            Some(r#"{"limits": {"credits": {"remaining": 3}}}"#),
        )
        .await
    };
    for rotated in &ids[..2] {
        let refused = patch(rotated.clone()).await;
        assert_eq!(refused.status, 409, "{}", refused.text);
        assert_eq!(refused.json()["code"], "already_rotated");
    }
    let newest = patch(ids[2].clone()).await;
    assert_eq!(newest.status, 200, "{}", newest.text);
    let mut valid = 0;
    for key in &keys {
        valid += count(&verify_together(app, key, 2, 1).await, "VALID");
    }
    assert_eq!(valid, 3, "one balance of 3 for A, B and C");
    for id in &ids {
        let key = app
            .get(&format!("/v1/api-keys/{id}"), Role::Developer)
            .await;
        assert_eq!(key.json()["usage"]["credits_remaining"], 0, "{id}");
    }
}

/// Creates a key with `limits`: its id and access key.
async fn create_limited(app: &TestApp, limits: Value) -> (String, String) {
    let body = json!({
        "application_id": app.demo.application_id, "arx_id": app.demo.arx_id, "limits": limits,
    });
    let created = app.post("/v1/api-keys", Role::Developer, &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    assert_eq!(created["api_key"]["limits"], limits);
    (
        created["api_key"]["id"].as_str().expect("an id").to_owned(),
        created["access_key"].as_str().expect("a key").to_owned(),
    )
}

/// `n` verifies of `key` sent at once: their verdicts.
async fn verify_together(app: &TestApp, key: &str, n: usize, cost: u64) -> Vec<Value> {
    let token = app.token(Role::Verifier);
    let body = json!({ "key": key, "cost": cost }).to_string();
    let calls = (0..n).map(|_| app.call("POST", "/v1/verify", Some(&token), Some(&body)));
    futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|response| {
            assert_eq!(response.status, 200, "{}", response.text);
            response.json()
        })
        .collect()
}

fn count(verdicts: &[Value], wanted: &str) -> usize {
    verdicts.iter().filter(|v| code(v) == wanted).count()
}

async fn five_hundred_concurrent_verifies_of_a_key_with_100_credits_give_100_valid(app: &TestApp) {
    let (id, key) = create_limited(app, json!({"credits": {"remaining": 100}})).await;
    let verdicts = verify_together(app, &key, 500, 1).await;
    assert_eq!(count(&verdicts, "VALID"), 100);
    assert_eq!(count(&verdicts, "USAGE_EXCEEDED"), 400);
    let refused = verdicts
        .iter()
        .find(|v| code(v) == "USAGE_EXCEEDED")
        .expect("a refusal");
    assert_eq!(
        refused,
        &json!({"valid": false, "code": "USAGE_EXCEEDED", "remaining": 0, "reset_at": null,
            "limited_by": {"owner": "key", "kind": "credits", "remaining": 0, "reset_at": null}})
    );
    // Every VALID answer says what was left after it: 99 down to 0, once each.
    let mut left: Vec<u64> = verdicts
        .iter()
        .filter(|v| code(v) == "VALID")
        .map(|v| v["remaining"].as_u64().expect("remaining"))
        .collect();
    left.sort_unstable();
    assert_eq!(left, (0..100).collect::<Vec<_>>());
    let read = app
        .get(&format!("/v1/api-keys/{id}"), Role::Developer)
        .await
        .json();
    assert_eq!(read["usage"]["credits_remaining"], 0);
    // A peek (cost 0) spends nothing and says the credits are gone.
    let peek = verify_together(app, &key, 1, 0).await;
    assert_eq!(code(&peek[0]), "USAGE_EXCEEDED");
}

async fn a_rate_limit_of_10_per_second_holds_under_a_burst(app: &TestApp) {
    let (_, key) = create_limited(app, json!({"rate": {"requests": 10, "per_seconds": 1}})).await;
    // Warm the verdict cache so the burst is all charges, then send it.
    let _ = verify_together(app, &key, 1, 0).await;
    let started = Instant::now();
    let verdicts = verify_together(app, &key, 200, 1).await;
    let elapsed = started.elapsed();
    let valid = count(&verdicts, "VALID");
    assert_eq!(valid + count(&verdicts, "RATE_LIMITED"), 200);
    // A window lasts a second from its first verify: a burst that took `elapsed`
    // touched at most ceil(elapsed) + 1 windows.
    let windows = elapsed.as_secs() as usize + 2;
    assert!(
        valid >= 10,
        "{valid} valid: the first window alone allows 10"
    );
    assert!(valid <= 10 * windows, "{valid} valid in {elapsed:?}");
    let limited = verdicts
        .iter()
        .find(|v| code(v) == "RATE_LIMITED")
        .expect("a refusal");
    assert_eq!(limited["remaining"], 0);
    assert!(limited["reset_at"].is_string(), "{limited}");

    // A window of a minute: exactly 10, whatever the burst takes.
    let (_, key) = create_limited(app, json!({"rate": {"requests": 10, "per_seconds": 60}})).await;
    let verdicts = verify_together(app, &key, 100, 1).await;
    assert_eq!(count(&verdicts, "VALID"), 10);
    assert_eq!(count(&verdicts, "RATE_LIMITED"), 90);
}

async fn limits_are_changed_by_owners_and_admins_and_kept_by_rotation(app: &TestApp) {
    let (id, key) = create_limited(app, json!({"credits": {"remaining": 3}})).await;
    let path = format!("/v1/api-keys/{id}");
    let patch = |role: Role, body: Value| {
        let token = app.token(role);
        let path = path.clone();
        async move {
            app.call("PATCH", &path, Some(&token), Some(&body.to_string()))
                .await
        }
    };
    let raised =
        json!({"limits": {"credits": {"remaining": 5, "refill": {"amount": 5, "every": "month"}}}});
    assert_eq!(patch(Role::Developer, raised.clone()).await.status, 403);
    let changed = patch(Role::PlatformAdmin, raised.clone()).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let changed = changed.json();
    assert_eq!(changed["limits"], raised["limits"]);
    assert_eq!(changed["usage"]["credits_remaining"], 5);
    assert!(changed["usage"]["refill_at"].is_string());
    let verdicts = verify_together(app, &key, 8, 2).await;
    assert_eq!(
        count(&verdicts, "VALID"),
        2,
        "5 credits pay for two verifies of cost 2"
    );
    let audit = app
        .get(
            &format!("/v1/audit-events?object_id={id}"),
            Role::PlatformOwner,
        )
        .await
        .json();
    assert!(
        audit["items"]
            .as_array()
            .expect("events")
            .iter()
            .any(|event| event["action"] == "api_key_limits_changed"),
        "{audit}"
    );

    // Rotation: the same limits and the balance as it stands (1): the new
    // key is charged against the old key's counters, and through the grace
    // period both keys spend that one balance.
    let rotated = app
        .post(
            &format!("{path}/rotate"),
            Role::Developer,
            &json!({"grace_seconds": 600}),
        )
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    let rotated = rotated.json();
    assert_eq!(rotated["api_key"]["limits"], raised["limits"]);
    let new_key = rotated["access_key"].as_str().expect("a key").to_owned();
    let new_id = rotated["api_key"]["id"].as_str().expect("an id").to_owned();
    let new = app
        .get(&format!("/v1/api-keys/{new_id}"), Role::Developer)
        .await
        .json();
    assert_eq!(new["usage"]["credits_remaining"], 1, "the balance carried");
    let old_verdicts = verify_together(app, &key, 3, 1).await;
    assert_eq!(
        count(&old_verdicts, "VALID"),
        1,
        "the old key spends the one credit"
    );
    let new_verdicts = verify_together(app, &new_key, 3, 1).await;
    assert_eq!(
        count(&new_verdicts, "VALID"),
        0,
        "the new key finds it spent"
    );
    let old = app.get(&path, Role::Developer).await.json();
    assert_eq!(
        old["usage"]["credits_remaining"], 0,
        "the old key shows the shared balance"
    );
    let refilled = json!({"limits": {"credits": {"remaining": 1}}});
    let changed = app
        .call(
            "PATCH",
            &format!("/v1/api-keys/{new_id}"),
            Some(&app.token(Role::PlatformOwner)),
            Some(&refilled.to_string()),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let verdicts = verify_together(app, &new_key, 3, 1).await;
    assert_eq!(count(&verdicts, "VALID"), 1);

    // Removed: the key verifies without charge or count.
    let removed = app
        .call(
            "PATCH",
            &format!("/v1/api-keys/{new_id}"),
            Some(&app.token(Role::PlatformOwner)),
            Some(r#"{"limits": null}"#),
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.json()["limits"], Value::Null);
    let verdicts = verify_together(app, &new_key, 5, 1).await;
    assert_eq!(count(&verdicts, "VALID"), 5);
    assert!(verdicts[0].get("remaining").is_none(), "{}", verdicts[0]);
    // A body that forgets `limits` removes nothing: it is refused.
    let forgot = patch(Role::PlatformOwner, json!({})).await;
    assert_eq!(forgot.status, 400, "{}", forgot.text);
}

async fn limits_beyond_their_bounds_are_refused_naming_the_field(app: &TestApp) {
    let cases = [
        (
            json!({"rate": {"requests": 0, "per_seconds": 1}}),
            "limits.rate.requests",
        ),
        (
            json!({"rate": {"requests": 5, "per_seconds": 86401}}),
            "limits.rate.per_seconds",
        ),
        (json!({"rate": {"requests": 5}}), "limits.rate.per_seconds"),
        (
            json!({"credits": {"remaining": -1}}),
            "limits.credits.remaining",
        ),
        (
            json!({"credits": {"remaining": 1_000_000_001u64}}),
            "limits.credits.remaining",
        ),
        (
            json!({"credits": {"remaining": 1, "refill": {"amount": 1, "every": "week"}}}),
            "limits.credits.refill.every",
        ),
        (json!({"burst": 5}), "limits.burst"),
    ];
    let before = app.get("/v1/api-keys", Role::Developer).await.json()["counts"].clone();
    for (limits, field) in cases {
        let body = json!({
            "application_id": app.demo.application_id, "arx_id": app.demo.arx_id, "limits": limits,
        });
        let refused = app.post("/v1/api-keys", Role::Developer, &body).await;
        assert_eq!(refused.status, 400, "{limits}: {}", refused.text);
        assert_eq!(
            refused.field().as_deref(),
            Some(field),
            "{limits}: {}",
            refused.text
        );
    }
    let after = app.get("/v1/api-keys", Role::Developer).await.json()["counts"].clone();
    assert_eq!(before, after, "nothing was created");
    let (_, key) = create_limited(app, json!({"credits": {"remaining": 1}})).await;
    let token = app.token(Role::Verifier);
    let too_dear = json!({"key": key, "cost": 1001}).to_string();
    let refused = app
        .call("POST", "/v1/verify", Some(&token), Some(&too_dear))
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.field().as_deref(), Some("cost"));
}
