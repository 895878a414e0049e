//! Creates that are safe to retry, over real HTTP on both stores: an
//! `Idempotency-Key` makes one key however often (and however concurrently)
//! the create is sent, never shows its secret twice, refuses the key for
//! another request, and keeps one caller's key from answering another's.

use bytes::Bytes;
use domain::Role;
use http_body_util::Full;
use serde_json::{Value, json};

use super::helpers::{SECRET, TestApp, TestResponse, claims, on_both_stores, token_with};

on_both_stores!(
    a_create_sent_again_under_its_key_is_answered_again_without_its_secret,
    concurrent_creates_under_one_key_make_one_key,
    a_rotation_sent_again_under_its_key_rotates_once,
);

async fn send_keyed(
    app: &TestApp,
    path: &str,
    role: Role,
    key: &str,
    body: &Value,
) -> TestResponse {
    let request = hyper::Request::post(path)
        .header("authorization", format!("Bearer {}", app.token(role)))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a request");
    app.send(request).await
}

fn choice(app: &TestApp, name: &str) -> Value {
    json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id, "name": name})
}

async fn a_create_sent_again_under_its_key_is_answered_again_without_its_secret(app: &TestApp) {
    let body = choice(app, "retried create");
    let first = send_keyed(app, "/v1/api-keys", Role::Developer, "create-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let first = first.json();
    let secret = first["access_key"].as_str().expect("the secret").to_owned();
    let again = send_keyed(app, "/v1/api-keys", Role::Developer, "create-1", &body).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert!(!again.text.contains(&secret), "the secret is shown once");
    let again = again.json();
    assert_eq!(again["replayed"], true);
    assert_eq!(again["api_key"]["id"], first["api_key"]["id"]);
    assert_eq!(again["arx_url"], first["arx_url"]);
    assert!(again.get("access_key").is_none(), "{again}");
    // The draft's quoted form is the same key.
    let quoted = send_keyed(app, "/v1/api-keys", Role::Developer, "\"create-1\"", &body).await;
    assert_eq!(quoted.status, 200, "{}", quoted.text);

    let other = send_keyed(
        app,
        "/v1/api-keys",
        Role::Developer,
        "create-1",
        &choice(app, "other"),
    )
    .await;
    assert_eq!(other.status, 422, "{}", other.text);
    assert_eq!(other.json()["code"], "idempotency_key_reused");
    // Another caller's key of the same text is its own.
    let mut someone = claims(app.demo.tenant.as_str(), "developer");
    someone["sub"] = json!("someone-else");
    let request = hyper::Request::post("/v1/api-keys")
        .header(
            "authorization",
            format!("Bearer {}", token_with(someone, SECRET)),
        )
        .header("content-type", "application/json")
        .header("idempotency-key", "create-1")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a request");
    let theirs = app.send(request).await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    for bad in ["", &"k".repeat(256), "caf\u{e9}", "two words"] {
        let refused = send_keyed(app, "/v1/api-keys", Role::Developer, bad, &body).await;
        assert_eq!(refused.status, 400, "{bad:?}: {}", refused.text);
        assert_eq!(refused.field().as_deref(), Some("Idempotency-Key"));
    }
    let listed = app
        .get(
            "/v1/api-keys?name=retried%20create&limit=100",
            Role::Developer,
        )
        .await
        .json();
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(2),
        "one per caller"
    );
}

async fn concurrent_creates_under_one_key_make_one_key(app: &TestApp) {
    let body = choice(app, "raced create");
    let sends = (0..8).map(|_| send_keyed(app, "/v1/api-keys", Role::Developer, "raced", &body));
    let answers = futures_util::future::join_all(sends).await;
    let created = answers.iter().filter(|answer| answer.status == 201).count();
    let replayed = answers.iter().filter(|answer| answer.status == 200).count();
    assert_eq!(
        (created, replayed),
        (1, 7),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let secrets = answers
        .iter()
        .filter(|answer| answer.json().get("access_key").is_some())
        .count();
    assert_eq!(secrets, 1, "the secret is in one answer only");
    let listed = app
        .get(
            "/v1/api-keys?name=raced%20create&limit=100",
            Role::Developer,
        )
        .await
        .json();
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
}

async fn a_rotation_sent_again_under_its_key_rotates_once(app: &TestApp) {
    let created = app.create_key(Role::Developer).await;
    let id = created["api_key"]["id"].as_str().expect("an id").to_owned();
    let path = format!("/v1/api-keys/{id}/rotate");
    let body = json!({"grace_seconds": 60});
    let first = send_keyed(app, &path, Role::Developer, "rotate-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = send_keyed(app, &path, Role::Developer, "rotate-1", &body).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["api_key"]["id"], first.json()["api_key"]["id"]);
    assert!(again.json().get("access_key").is_none());
    // Without the key, a second rotation is refused: the key rotates once.
    let unkeyed = app.post(&path, Role::Developer, &body).await;
    assert_eq!(unkeyed.status, 409, "{}", unkeyed.text);
}
