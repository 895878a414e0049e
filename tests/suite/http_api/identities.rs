//! Identities over real HTTP, on both stores: a customer's keys share its
//! exact limits, charged beside each key's own, both or neither.

use domain::Role;
use serde_json::{Value, json};

use super::helpers::{TestApp, on_both_stores};
use super::verify::code;

on_both_stores!(
    identities_are_created_listed_read_changed_and_deleted,
    four_hundred_verifies_over_three_keys_of_one_identity_with_100_credits_give_100_valid,
    a_refusal_by_either_limit_spends_nothing_on_the_other,
    named_rate_limits_are_charged_as_a_verify_asks,
    a_valid_verdict_names_the_identity_and_sees_its_changes,
    usage_by_identity_counts_exactly_what_its_keys_verified,
);

/// Creates an identity: its id.
async fn create_identity(app: &TestApp, body: Value) -> String {
    let created = app.post("/v1/identities", Role::PlatformAdmin, &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    assert_eq!(created["external_id"], body["external_id"]);
    created["id"].as_str().expect("an id").to_owned()
}

/// Creates a key of `owner` with `limits` (null: none): its id and access key.
async fn create_key_of(app: &TestApp, owner: &str, limits: Value) -> (String, String) {
    let mut body = json!({
        "application_id": app.demo.application_id, "arx_id": app.demo.arx_id,
        "external_id": owner,
    });
    if !limits.is_null() {
        body["limits"] = limits;
    }
    let created = app.post("/v1/api-keys", Role::PlatformAdmin, &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    (
        created["api_key"]["id"].as_str().expect("an id").to_owned(),
        created["access_key"].as_str().expect("a key").to_owned(),
    )
}

async fn verify(app: &TestApp, body: &Value) -> Value {
    let answer = app.post("/v1/verify", Role::Verifier, body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

async fn patch(
    app: &TestApp,
    path: &str,
    role: Role,
    body: &Value,
) -> super::helpers::TestResponse {
    app.call(
        "PATCH",
        path,
        Some(&app.token(role)),
        Some(&body.to_string()),
    )
    .await
}

async fn identities_are_created_listed_read_changed_and_deleted(app: &TestApp) {
    let body = json!({
        "external_id": "org|acme", "meta": {"plan": "pro"},
        "limits": {"credits": {"remaining": 500, "refill": {"amount": 500, "every": "month"}},
                   "rate_limits": [{"name": "requests", "requests": 10, "per_seconds": 60}]},
    });
    // A developer reads identities but does not make them.
    let refused = app.post("/v1/identities", Role::Developer, &body).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    let id = create_identity(app, body.clone()).await;
    let again = app.post("/v1/identities", Role::PlatformOwner, &body).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.json()["code"], "identity_exists");
    for (bad, field) in [
        (json!({"external_id": "a b"}), "external_id"),
        (
            json!({"external_id": "x", "limits": {"rate_limits": [
                {"name": "r", "requests": 1, "per_seconds": 1},
                {"name": "r", "requests": 2, "per_seconds": 1}]}}),
            "limits",
        ),
        (
            json!({"external_id": "x", "limits": {"rate_limits": [
                {"name": "r#1", "requests": 1, "per_seconds": 1}]}}),
            "limits.rate_limits[0].name",
        ),
    ] {
        let refused = app.post("/v1/identities", Role::PlatformAdmin, &bad).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text);
        assert!(
            refused.field().is_some_and(|f| f.starts_with(field)),
            "{bad}: {}",
            refused.text
        );
    }

    let read = app
        .get(&format!("/v1/identities/{id}"), Role::Developer)
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    let read = read.json();
    assert_eq!(read["meta"], json!({"plan": "pro"}));
    assert_eq!(read["limits"], body["limits"]);
    let left: Vec<(&str, u64)> = read["limits_left"]
        .as_array()
        .expect("limits_left")
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().expect("kind"),
                l["remaining"].as_u64().expect("n"),
            )
        })
        .collect();
    assert_eq!(left, [("credits", 500), ("rate", 10)]);

    let listed = app.get("/v1/identities?limit=10", Role::Developer).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json()["items"][0]["id"], id.as_str());
    let found = app
        .get("/v1/identities?external_id=org%7Cacme", Role::Developer)
        .await
        .json();
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "{found}");
    let none = app
        .get("/v1/identities?external_id=nobody", Role::Developer)
        .await
        .json();
    assert_eq!(none["items"], json!([]));

    let path = format!("/v1/identities/{id}");
    let changed = patch(
        app,
        &path,
        Role::PlatformOwner,
        &json!({"meta": null,
        "limits": {"credits": {"remaining": 7}}}),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let changed = changed.json();
    assert_eq!(changed["meta"], Value::Null);
    assert_eq!(changed["limits"], json!({"credits": {"remaining": 7}}));
    assert_eq!(changed["limits_left"][0]["remaining"], 7);
    let empty = patch(app, &path, Role::PlatformOwner, &json!({})).await;
    assert_eq!(empty.status, 400, "{}", empty.text);
    let external = patch(
        app,
        &path,
        Role::PlatformOwner,
        &json!({"external_id": "y"}),
    )
    .await;
    assert_eq!(
        external.status, 400,
        "the external id is fixed: {}",
        external.text
    );

    // Refused while a live key carries its external id, then gone.
    let (key_id, _) = create_key_of(app, "org|acme", Value::Null).await;
    let admin = app.token(Role::PlatformAdmin);
    let delete = || app.call("DELETE", &path, Some(&admin), None);
    let refused = delete().await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json()["code"], "identity_has_keys");
    assert_eq!(
        app.delete_key(&key_id, Role::PlatformAdmin).await.status,
        204
    );
    let deleted = delete().await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(app.get(&path, Role::Developer).await.status, 404);

    let audit = app
        .get(
            &format!("/v1/audit-events?object_id={id}"),
            Role::PlatformOwner,
        )
        .await
        .json();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().expect("an action"))
        .collect();
    assert_eq!(
        actions,
        ["identity_deleted", "identity_updated", "identity_created"]
    );
}

/// The issue's measure: three keys, one balance of 100, 400 verifies at once.
async fn four_hundred_verifies_over_three_keys_of_one_identity_with_100_credits_give_100_valid(
    app: &TestApp,
) {
    let id = create_identity(
        app,
        json!({"external_id": "cust-1", "limits": {"credits": {"remaining": 100}}}),
    )
    .await;
    let mut keys = Vec::new();
    for _ in 0..3 {
        keys.push(create_key_of(app, "cust-1", Value::Null).await.1);
    }
    let token = app.token(Role::Verifier);
    let bodies: Vec<String> = (0..400)
        .map(|n| json!({"key": keys[n % 3]}).to_string())
        .collect();
    let calls = bodies
        .iter()
        .map(|body| app.call("POST", "/v1/verify", Some(&token), Some(body)));
    let verdicts: Vec<Value> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|answer| {
            assert_eq!(answer.status, 200, "{}", answer.text);
            answer.json()
        })
        .collect();
    let count = |wanted: &str| verdicts.iter().filter(|v| code(v) == wanted).count();
    assert_eq!(count("VALID"), 100);
    assert_eq!(count("USAGE_EXCEEDED"), 300);
    let refused = verdicts
        .iter()
        .find(|v| code(v) == "USAGE_EXCEEDED")
        .expect("a refusal");
    assert_eq!(
        refused["limited_by"],
        json!({"owner": "identity", "kind": "credits", "remaining": 0, "reset_at": null})
    );
    let mut left: Vec<u64> = verdicts
        .iter()
        .filter(|v| code(v) == "VALID")
        .map(|v| v["limits"][0]["remaining"].as_u64().expect("remaining"))
        .collect();
    left.sort_unstable();
    assert_eq!(left, (0..100).collect::<Vec<_>>(), "each unit once");
    let read = app
        .get(&format!("/v1/identities/{id}"), Role::Developer)
        .await;
    assert_eq!(read.json()["limits_left"][0]["remaining"], 0);
}

async fn a_refusal_by_either_limit_spends_nothing_on_the_other(app: &TestApp) {
    let identity = create_identity(
        app,
        json!({"external_id": "cust-2", "limits": {"credits": {"remaining": 5}}}),
    )
    .await;
    let (key_id, key) = create_key_of(app, "cust-2", json!({"credits": {"remaining": 2}})).await;
    // The key's own 2 go first; the third verify is the key's refusal and
    // leaves the identity's 3 untouched.
    for expected in ["VALID", "VALID", "USAGE_EXCEEDED", "USAGE_EXCEEDED"] {
        let verdict = verify(app, &json!({"key": key})).await;
        assert_eq!(code(&verdict), expected, "{verdict}");
        if expected == "USAGE_EXCEEDED" {
            assert_eq!(verdict["limited_by"]["owner"], "key", "{verdict}");
        }
    }
    let read = app
        .get(&format!("/v1/identities/{identity}"), Role::Developer)
        .await;
    assert_eq!(read.json()["limits_left"][0]["remaining"], 3);

    // The other way round: a key with 100 of its own, the identity's 3
    // run out, and the key keeps all it did not spend.
    let (other_id, other) =
        create_key_of(app, "cust-2", json!({"credits": {"remaining": 100}})).await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        let verdict = verify(app, &json!({"key": other, "cost": 1})).await;
        if code(&verdict) == "USAGE_EXCEEDED" {
            assert_eq!(verdict["limited_by"]["owner"], "identity", "{verdict}");
        }
        codes.push(code(&verdict).to_owned());
    }
    assert_eq!(
        codes,
        [
            "VALID",
            "VALID",
            "VALID",
            "USAGE_EXCEEDED",
            "USAGE_EXCEEDED"
        ]
    );
    let other_key = app
        .get(&format!("/v1/api-keys/{other_id}"), Role::Developer)
        .await;
    assert_eq!(
        other_key.json()["usage"]["credits_remaining"],
        97,
        "two refusals by the identity gave back what they took of the key"
    );
    let first_key = app
        .get(&format!("/v1/api-keys/{key_id}"), Role::Developer)
        .await;
    assert_eq!(first_key.json()["usage"]["credits_remaining"], 0);
}

async fn named_rate_limits_are_charged_as_a_verify_asks(app: &TestApp) {
    create_identity(
        app,
        json!({"external_id": "cust-3", "limits": {"rate_limits": [
            {"name": "requests", "requests": 100, "per_seconds": 3600},
            {"name": "tokens", "requests": 1000, "per_seconds": 3600}]}}),
    )
    .await;
    let (_, key) = create_key_of(app, "cust-3", Value::Null).await;
    // Unasked, each is charged the verify's cost.
    let verdict = verify(app, &json!({"key": key, "cost": 2})).await;
    assert_eq!(code(&verdict), "VALID", "{verdict}");
    let left = |verdict: &Value| -> Vec<(String, u64)> {
        verdict["limits"]
            .as_array()
            .expect("limits")
            .iter()
            .map(|l| {
                (
                    l["name"].as_str().expect("a name").to_owned(),
                    l["remaining"].as_u64().expect("remaining"),
                )
            })
            .collect()
    };
    assert_eq!(
        left(&verdict),
        [("requests".into(), 98), ("tokens".into(), 998)]
    );
    // Asked: only those named, each at its own cost; a name the identity
    // lacks is passed over.
    let verdict = verify(
        app,
        &json!({"key": key, "rate_limits": [{"name": "tokens", "cost": 900}, {"name": "nope"}]}),
    )
    .await;
    assert_eq!(left(&verdict), [("tokens".into(), 98)], "{verdict}");
    let refused = verify(
        app,
        &json!({"key": key, "rate_limits": [{"name": "requests"}, {"name": "tokens", "cost": 99}]}),
    )
    .await;
    assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
    assert_eq!(
        refused["limited_by"]["name"], "tokens",
        "the limit that refused: {refused}"
    );
    // ...and `requests`, charged first, got its unit back.
    let verdict = verify(
        app,
        &json!({"key": key, "rate_limits": [{"name": "requests"}]}),
    )
    .await;
    assert_eq!(left(&verdict), [("requests".into(), 97)], "{verdict}");
    let bad = app
        .post(
            "/v1/verify",
            Role::Verifier,
            &json!({"key": key, "rate_limits": [{"name": "a b"}]}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
}

async fn a_valid_verdict_names_the_identity_and_sees_its_changes(app: &TestApp) {
    let (_, key) = create_key_of(app, "cust-4", Value::Null).await;
    let verdict = verify(app, &json!({"key": key})).await;
    assert_eq!(verdict["identity"], Value::Null, "none recorded yet");
    assert!(verdict.get("limits").is_none(), "{verdict}");
    let id = create_identity(
        app,
        json!({"external_id": "cust-4", "meta": {"tier": "gold"}}),
    )
    .await;
    // This process clears its verdicts on the change; another (a Lambda
    // instance) sees it within the verdict cache's TTL.
    let verdict = verify(app, &json!({"key": key})).await;
    assert_eq!(
        verdict["identity"],
        json!({"id": id, "external_id": "cust-4", "meta": {"tier": "gold"}})
    );
    let changed = patch(
        app,
        &format!("/v1/identities/{id}"),
        Role::PlatformAdmin,
        &json!({"limits": {"credits": {"remaining": 1}}}),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let first = verify(app, &json!({"key": key})).await;
    assert_eq!(code(&first), "VALID", "{first}");
    assert_eq!(first["remaining"], 0);
    let second = verify(app, &json!({"key": key})).await;
    assert_eq!(code(&second), "USAGE_EXCEEDED", "{second}");
}

async fn usage_by_identity_counts_exactly_what_its_keys_verified(app: &TestApp) {
    let gold = create_identity(
        app,
        json!({"external_id": "usage-gold", "limits": {"credits": {"remaining": 5}}}),
    )
    .await;
    let silver = create_identity(app, json!({"external_id": "usage-silver"})).await;
    let gold_keys = [
        create_key_of(app, "usage-gold", Value::Null).await.1,
        create_key_of(app, "usage-gold", Value::Null).await.1,
    ];
    let silver_key = create_key_of(app, "usage-silver", Value::Null).await.1;
    let (_, loner) = create_key_of(app, "no-identity", Value::Null).await;
    // Gold: 8 verifies over two keys, 5 VALID then 3 refused by its credits.
    for n in 0..8 {
        verify(app, &json!({"key": gold_keys[n % 2]})).await;
    }
    for _ in 0..4 {
        verify(app, &json!({"key": silver_key})).await;
    }
    verify(app, &json!({"key": loner})).await;

    let usage = app
        .get("/v1/usage?group_by=identity&limit=100", Role::Developer)
        .await;
    assert_eq!(usage.status, 200, "{}", usage.text);
    let usage = usage.json();
    let group = |id: &str| {
        usage["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .find(|g| g["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no group {id}: {usage}"))
    };
    assert_eq!(
        group(&gold)["counts"],
        json!({"VALID": 5, "USAGE_EXCEEDED": 3})
    );
    assert_eq!(group(&silver)["counts"], json!({"VALID": 4}));
    assert_eq!(usage["groups"].as_array().map(Vec::len), Some(2), "{usage}");

    let own = app
        .get(
            &format!("/v1/identities/{gold}/usage?granularity=day"),
            Role::Developer,
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
    let own = own.json();
    assert_eq!(own["identity_id"], gold.as_str());
    assert_eq!(own["total"], 8);
    assert_eq!(own["totals"], json!({"VALID": 5, "USAGE_EXCEEDED": 3}));
    let csv = app
        .get(
            &format!("/v1/identities/{silver}/usage?granularity=day&format=csv"),
            Role::Developer,
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    let today = csv.text.lines().last().expect("a row");
    assert!(today.contains(",4,4,"), "{}", csv.text);
    let unknown = app
        .get(
            &format!("/v1/identities/{}/usage", domain::IdentityId::new()),
            Role::Developer,
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
}

/// A hot key spends its own limits from a lease (`store::leases`) while its
/// identity, near its end, is charged one write at a time: each refusal by
/// the identity puts the key's unit back in the lease, so once the leases
/// are given back the key's counters show exactly what was admitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_by_the_identity_gives_back_what_a_hot_keys_lease_spent() {
    use std::sync::Arc;

    use store::{ApiKeyCharge, IdentityStore};

    let (state, demo, _dir) = super::helpers::embedded_state().await;
    let owner = domain::ExternalId::parse("hot-customer").expect("an owner");
    let limits: domain::IdentityLimits =
        serde_json::from_value(json!({"credits": {"remaining": 50}})).expect("limits");
    let by = domain::Author::person(
        domain::UserId::parse("owner-1").expect("a user"),
        Role::PlatformOwner,
        domain::Timestamp::now(),
    );
    let (identity, audit) =
        domain::Identity::create(demo.tenant.clone(), owner.clone(), None, limits, &by);
    state
        .store
        .create_identity(&identity, &audit)
        .await
        .expect("an identity");
    let created = super::helpers::create_key_in_with(
        &state,
        &demo,
        json!({"external_id": owner.as_str(), "limits": {"credits": {"remaining": 100000}}}),
    )
    .await;
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let id: domain::ApiKeyId =
        serde_json::from_value(created["api_key"]["id"].clone()).expect("an id");
    let verdicts: Vec<_> = (0..300)
        .map(|_| {
            let (state, tenant, key) = (Arc::clone(&state), demo.tenant.clone(), key.clone());
            tokio::spawn(async move {
                state
                    .verifier
                    .verify(&state.store, Some(&tenant), &key, &verify::Ask::ONE)
                    .await
                    .expect("answered")
            })
        })
        .collect();
    let mut valid = 0;
    for verdict in verdicts {
        let verdict = verdict.await.expect("joined");
        if verdict.valid {
            valid += 1;
        } else {
            assert_eq!(verdict.code.as_str(), "USAGE_EXCEEDED");
        }
    }
    assert_eq!(valid, 50, "the identity's 50, exactly");
    state.store.return_leases(true).await.expect("given back");
    let left = state
        .store
        .api_key_balance(&id)
        .await
        .expect("read")
        .and_then(|balance| balance.credits)
        .map(|credits| credits.left);
    assert_eq!(
        left,
        Some(100000 - 50),
        "the key spent only what was admitted"
    );
}
