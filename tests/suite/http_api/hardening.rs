//! Hardening, round 4, over real HTTP on both stores: a key hidden in meta
//! behind an escape or pasted into a name is refused naming the field, a
//! number in meta comes back as sent or is refused, and a change of limits
//! is audited from what to what. Each refusal changes nothing.

use domain::Role;
use serde_json::{Value, json};

use super::helpers::{TestApp, TestResponse, on_both_stores};

on_both_stores!(
    a_key_in_meta_is_refused_whatever_escapes_hide_it,
    a_key_pasted_into_a_name_is_refused_naming_the_field,
    numbers_in_meta_come_back_exactly_or_are_refused,
    a_change_of_limits_is_audited_from_what_to_what,
    a_whole_number_may_be_written_with_a_point_zero,
);

async fn raw_call(app: &TestApp, method: &str, path: &str, role: Role, body: &str) -> TestResponse {
    app.call(method, path, Some(&app.token(role)), Some(body))
        .await
}

fn refused_naming(answer: &TestResponse, field: &str, secret: &str, what: &str) {
    assert_eq!(answer.status, 400, "{what}: {}", answer.text);
    assert_eq!(
        answer.field().as_deref(),
        Some(field),
        "{what}: {}",
        answer.text
    );
    assert!(
        !answer.text.contains(secret),
        "{what}: the refusal repeats the key"
    );
}

/// An access key and a service key of this deployment, and their secrets'
/// middles (what must never come back).
async fn two_keys(app: &TestApp) -> [(String, String); 2] {
    let access = app.create_key(Role::Developer).await["access_key"]
        .as_str()
        .expect("a key")
        .to_owned();
    let service = app
        .post(
            "/v1/service-keys",
            Role::PlatformOwner,
            &json!({"name": "hardening", "role": "verifier"}),
        )
        .await;
    assert_eq!(service.status, 201, "{}", service.text);
    let service = service.json()["secret"]
        .as_str()
        .expect("a secret")
        .to_owned();
    [access, service].map(|key| {
        let secret = key[key.len() - 36..key.len() - 6].to_owned();
        (key, secret)
    })
}

async fn a_key_in_meta_is_refused_whatever_escapes_hide_it(app: &TestApp) {
    let target = app.create_key(Role::Developer).await;
    let id = target["api_key"]["id"].as_str().expect("an id");
    let path = format!("/v1/api-keys/{id}");
    for (key, secret) in two_keys(app).await {
        let hidden = [
            json!({"note": format!("line1\n{key}")}),
            json!({"note": format!("tab\t{key}")}),
            json!({"note": format!("cr\r{key}\u{0}")}),
            json!({ key.clone(): "as a member name" }),
            json!({"deep": [{"list": ["x", {"in": format!("\"{key}\"")}]}]}),
        ];
        for meta in hidden {
            let answer = raw_call(
                app,
                "PATCH",
                &path,
                Role::PlatformOwner,
                &json!({ "meta": meta }).to_string(),
            )
            .await;
            refused_naming(&answer, "meta", &secret, "PATCH meta");
            let mut body =
                json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id});
            body["meta"] = meta;
            let answer = app.post("/v1/api-keys", Role::Developer, &body).await;
            refused_naming(&answer, "meta", &secret, "create with meta");
        }
    }
    let after = app.get(&path, Role::Developer).await.json();
    assert_eq!(after["meta"], Value::Null, "the refusals changed nothing");
}

/// The tenant's key counts, and how many applications, Arx and service keys
/// it has: what a refused request must leave as it was.
async fn what_exists(app: &TestApp) -> (Value, usize, usize, usize) {
    let count = |listed: Value| listed["items"].as_array().map_or(0, Vec::len);
    (
        app.get("/v1/api-keys?limit=100", Role::Developer)
            .await
            .json()["counts"]
            .clone(),
        count(
            app.get("/v1/applications?limit=100", Role::Developer)
                .await
                .json(),
        ),
        count(app.get("/v1/arx?limit=100", Role::Developer).await.json()),
        count(
            app.get("/v1/service-keys?limit=100", Role::PlatformOwner)
                .await
                .json(),
        ),
    )
}

async fn a_key_pasted_into_a_name_is_refused_naming_the_field(app: &TestApp) {
    let arx = json!({"name": "eu", "purpose": "testing", "provider": "aws", "region": "eu-west-1",
        "encryption_method": "AES-GCM-256", "rotation_cycle": "90 days", "plan": "pro"});
    let application = format!("/v1/applications/{}", app.demo.application_id);
    let arx_path = format!("/v1/arx/{}", app.demo.arx_id);
    let before = what_exists(app).await;
    for (key, secret) in two_keys(app).await {
        let named = format!("the key is {key}.");
        let mut new_key =
            json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id});
        new_key["name"] = json!(named);
        let answer = app.post("/v1/api-keys", Role::Developer, &new_key).await;
        refused_naming(&answer, "name", &secret, "a key's name");

        let answer = app
            .post(
                "/v1/applications",
                Role::PlatformOwner,
                &json!({"name": named, "technology": "server"}),
            )
            .await;
        refused_naming(&answer, "name", &secret, "an application's name");
        let answer = raw_call(
            app,
            "PATCH",
            &application,
            Role::PlatformOwner,
            &json!({ "name": named }).to_string(),
        )
        .await;
        refused_naming(&answer, "name", &secret, "an application's new name");

        for field in ["name", "region", "plan"] {
            let mut body = arx.clone();
            body[field] = json!(named);
            let answer = app.post("/v1/arx", Role::PlatformOwner, &body).await;
            refused_naming(&answer, field, &secret, "an Arx's text");
            let answer = raw_call(
                app,
                "PATCH",
                &arx_path,
                Role::PlatformOwner,
                &json!({ field: named }).to_string(),
            )
            .await;
            refused_naming(&answer, field, &secret, "an Arx's new text");
        }

        let answer = app
            .post(
                "/v1/service-keys",
                Role::PlatformOwner,
                &json!({"name": named, "role": "verifier"}),
            )
            .await;
        refused_naming(&answer, "name", &secret, "a service key's name");
    }
    let after = what_exists(app).await;
    // two_keys made one API key and one service key.
    assert_eq!(after.1, before.1, "no application was made");
    assert_eq!(after.2, before.2, "no Arx was made");
    assert_eq!(
        after.3,
        before.3 + 1,
        "no service key but two_keys' was made"
    );
    assert_eq!(
        after.0["total"].as_u64(),
        before.0["total"].as_u64().map(|n| n + 1),
        "no API key but two_keys' was made"
    );
    let unchanged = app.get(&application, Role::Developer).await.json();
    assert!(
        !unchanged["name"]
            .as_str()
            .unwrap_or("")
            .contains("the key is")
    );
}

async fn numbers_in_meta_come_back_exactly_or_are_refused(app: &TestApp) {
    // Kept: each comes back as the same number.
    let kept = r#"{"seats": 12, "price": 0.1, "id": 9007199254740993, "max": 18446744073709551615, "scale": 1e5, "neg": -2.5e-3}"#;
    let body = format!(
        r#"{{"application_id": "{}", "arx_id": "{}", "meta": {kept}}}"#,
        app.demo.application_id, app.demo.arx_id
    );
    let created = raw_call(app, "POST", "/v1/api-keys", Role::Developer, &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json()["api_key"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let path = format!("/v1/api-keys/{id}");
    let meta = &app.get(&path, Role::Developer).await.json()["meta"];
    assert_eq!(meta["seats"].as_u64(), Some(12));
    assert_eq!(meta["id"].as_u64(), Some(9_007_199_254_740_993));
    assert_eq!(meta["max"].as_u64(), Some(u64::MAX));
    assert_eq!(meta["price"].as_f64(), Some(0.1));
    assert_eq!(meta["scale"].as_f64(), Some(100_000.0));
    assert_eq!(meta["neg"].as_f64(), Some(-0.0025));

    // Refused, naming the field, at create and at PATCH: nothing changes.
    for changed in [
        "123456789012345678901234567890",
        "18446744073709551616",
        "1e-400",
        "3.14159265358979323846264338327950288",
    ] {
        let meta = format!(r#"{{"nested": {{"n": [{changed}]}}}}"#);
        let body = format!(
            r#"{{"application_id": "{}", "arx_id": "{}", "meta": {meta}}}"#,
            app.demo.application_id, app.demo.arx_id
        );
        let answer = raw_call(app, "POST", "/v1/api-keys", Role::Developer, &body).await;
        assert_eq!(answer.status, 400, "{changed}: {}", answer.text);
        assert_eq!(answer.field().as_deref(), Some("meta"), "{}", answer.text);
        let answer = raw_call(
            app,
            "PATCH",
            &path,
            Role::PlatformOwner,
            &format!(r#"{{"meta": {meta}}}"#),
        )
        .await;
        assert_eq!(answer.status, 400, "{changed}: {}", answer.text);
        assert_eq!(answer.field().as_deref(), Some("meta"), "{}", answer.text);
    }
    let after = &app.get(&path, Role::Developer).await.json()["meta"];
    assert_eq!(
        after["id"].as_u64(),
        Some(9_007_199_254_740_993),
        "unchanged"
    );
}

async fn a_change_of_limits_is_audited_from_what_to_what(app: &TestApp) {
    let created = app.create_key(Role::Developer).await;
    let id = created["api_key"]["id"].as_str().expect("an id");
    let path = format!("/v1/api-keys/{id}");
    let patches = [
        json!({"limits": {"credits": {"remaining": 2}}}),
        json!({"limits": {"rate": {"requests": 10, "per_seconds": 60},
            "credits": {"remaining": 500, "refill": {"amount": 100, "every": "day"}}}}),
        json!({"limits": null}),
    ];
    for patch in &patches {
        let answer = raw_call(app, "PATCH", &path, Role::PlatformOwner, &patch.to_string()).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let events = app
        .get(
            &format!("/v1/audit-events?object_id={id}&action=api_key_limits_changed"),
            Role::PlatformOwner,
        )
        .await
        .json();
    let details: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|event| event["detail"].as_str())
        .collect();
    assert_eq!(
        details,
        [
            "limits removed (were 10 requests per 60 s, 500 credits (refilled to 100 each day))",
            "limits changed from 2 credits to 10 requests per 60 s, 500 credits (refilled to 100 \
             each day); counters restarted",
            "limits set to 2 credits; counters started",
        ],
        "newest first: {events}"
    );
}

/// JSON Schema (and so docs/openapi.yaml) calls `115.0` an integer: so does
/// the API, wherever it takes a whole number; `115.5` stays a 400.
async fn a_whole_number_may_be_written_with_a_point_zero(app: &TestApp) {
    let created = app.create_key(Role::Developer).await;
    let id = created["api_key"]["id"].as_str().expect("an id");
    let path = format!("/v1/api-keys/{id}");
    let whole = r#"{"limits": {"credits": {"remaining": 115.0, "refill": {"amount": 1e2, "every": "day"}}}}"#;
    let answer = raw_call(app, "PATCH", &path, Role::PlatformOwner, whole).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["limits"]["credits"]["remaining"], 115);
    let fraction = r#"{"limits": {"credits": {"remaining": 115.5}}}"#;
    let answer = raw_call(app, "PATCH", &path, Role::PlatformOwner, fraction).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.field().as_deref(), Some("limits.credits.remaining"));
    let rotated = raw_call(
        app,
        "POST",
        &format!("{path}/rotate"),
        Role::Developer,
        r#"{"grace_seconds": 60.0}"#,
    )
    .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
}
