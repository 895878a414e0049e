//! Service keys through the dev server: made by owners and admins, shown
//! once, accepted as a bearer credential with their own role, audited under
//! their own actor, refused at once when revoked, and never able to make
//! another.

use domain::Role;
use serde_json::{Value, json};

use super::helpers::{TestApp, on_both_stores};

on_both_stores!(
    a_verifier_service_key_verifies_keys_until_revoked,
    a_developer_service_key_manages_keys_but_not_the_tenant,
    no_service_key_makes_or_sees_service_keys,
    roles_are_never_more_than_the_creators_and_bad_input_is_refused,
);

/// Creates a service key of `role` as `by`; the create answer.
async fn create_service_key(app: &TestApp, by: Role, role: &str) -> Value {
    let created = app
        .post(
            "/v1/service-keys",
            by,
            &json!({"name": format!("{role} job"), "role": role}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    created.json()
}

fn secret_of(created: &Value) -> String {
    created["secret"].as_str().expect("a secret").to_owned()
}

fn id_of(created: &Value) -> String {
    created["service_key"]["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

async fn a_verifier_service_key_verifies_keys_until_revoked(app: &TestApp) {
    let created = create_service_key(app, Role::PlatformOwner, "verifier").await;
    let (secret, id) = (secret_of(&created), id_of(&created));
    assert!(secret.starts_with("akmsk_"), "its own prefix");
    assert_eq!(created["service_key"]["role"], "verifier");
    assert_eq!(created["service_key"]["status"], "active");

    // Listed without its secret or hash.
    let listed = app.get("/v1/service-keys", Role::PlatformAdmin).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(!listed.text.contains(&secret[6..]), "no secret in the list");
    assert!(!listed.text.contains("argon2"), "no hash in the list");
    let item = &listed.json()["items"][0];
    assert_eq!(
        (item["id"].as_str(), item["status"].as_str()),
        (Some(id.as_str()), Some("active"))
    );
    assert_eq!(item["last_used_at"], Value::Null);

    let key = app.create_key(Role::Developer).await;
    let access_key = key["access_key"].as_str().expect("a key");
    let verify = |credential: String| {
        let body = json!({ "key": access_key }).to_string();
        async move {
            app.call("POST", "/v1/verify", Some(&credential), Some(&body))
                .await
        }
    };
    let verdict = verify(secret.clone()).await;
    assert_eq!(verdict.status, 200, "{}", verdict.text);
    assert_eq!(verdict.json()["code"], "VALID");
    // Its use is on the record.
    let listed = app.get("/v1/service-keys", Role::PlatformOwner).await;
    assert!(
        listed.json()["items"][0]["last_used_at"].is_string(),
        "{}",
        listed.text
    );

    // Only what a verifier may: not even reading keys.
    let list = app.call("GET", "/v1/api-keys", Some(&secret), None).await;
    assert_eq!(list.status, 403, "{}", list.text);

    // Revoked by typing its id: a wrong id changes nothing.
    let path = format!("/v1/service-keys/{id}");
    let owner = app.token(Role::PlatformOwner);
    let wrong = json!({"confirm": format!("{id} ")}).to_string();
    let refused = app.call("DELETE", &path, Some(&owner), Some(&wrong)).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(verify(secret.clone()).await.status, 200, "still works");
    let confirm = json!({ "confirm": id }).to_string();
    let revoked = app
        .call("DELETE", &path, Some(&owner), Some(&confirm))
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(revoked.json()["status"], "revoked");
    assert_eq!(revoked.json()["revoked_by"], "user-of-demo");
    // At once, though its answer was cached a moment ago.
    let after = verify(secret.clone()).await;
    assert_eq!(after.status, 401, "{}", after.text);
    assert_eq!(after.json()["code"], "unauthenticated");
    let again = app
        .call("DELETE", &path, Some(&owner), Some(&confirm))
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.json()["code"], "already_revoked");

    // The audit log has both, by the owner.
    let events = app
        .get(
            &format!("/v1/audit-events?object_id={id}"),
            Role::PlatformOwner,
        )
        .await;
    let events = events.json();
    let actions: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|event| event["action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        actions,
        ["service_key_revoked", "service_key_created"],
        "{events}"
    );
}

async fn a_developer_service_key_manages_keys_but_not_the_tenant(app: &TestApp) {
    let created = create_service_key(app, Role::PlatformAdmin, "developer").await;
    let (secret, id) = (secret_of(&created), id_of(&created));
    let body =
        json!({ "application_id": app.demo.application_id, "arx_id": app.demo.arx_id }).to_string();
    let key = app
        .call("POST", "/v1/api-keys", Some(&secret), Some(&body))
        .await;
    assert_eq!(key.status, 201, "{}", key.text);
    let key = key.json();
    let actor = format!("service-key:{id}");
    assert_eq!(key["api_key"]["created_by"], actor.as_str());
    // Audited under its own actor id.
    let events = app
        .get(
            &format!("/v1/audit-events?actor={actor}"),
            Role::PlatformOwner,
        )
        .await;
    assert_eq!(events.status, 200, "{}", events.text);
    let event = &events.json()["items"][0];
    assert_eq!(event["action"], "api_key_created");
    assert_eq!(event["actor"]["kind"], "service_key");
    assert_eq!(event["actor"]["id"], actor.as_str());
    assert_eq!(event["actor"]["role"], "developer");

    // Owner routes stay closed to it.
    for (method, path) in [
        ("GET", "/v1/audit-events"),
        ("POST", "/v1/applications"),
        ("POST", "/v1/verify"),
        ("GET", "/v1/service-keys"),
    ] {
        let body = (method == "POST").then(|| "{}".to_owned());
        let answer = app.call(method, path, Some(&secret), body.as_deref()).await;
        assert_eq!(answer.status, 403, "{method} {path}: {}", answer.text);
    }
}

async fn no_service_key_makes_or_sees_service_keys(app: &TestApp) {
    let admin_key =
        secret_of(&create_service_key(app, Role::PlatformOwner, "platform_admin").await);
    // An admin service key may do what an admin may, but never this.
    let catalog = app
        .call("GET", "/v1/audit-events", Some(&admin_key), None)
        .await;
    assert_eq!(catalog.status, 200, "{}", catalog.text);
    let body = json!({"name": "successor", "role": "verifier"}).to_string();
    let minted = app
        .call("POST", "/v1/service-keys", Some(&admin_key), Some(&body))
        .await;
    assert_eq!(minted.status, 403, "{}", minted.text);
    assert_eq!(minted.json()["code"], "service_key_forbidden");
    let listed = app
        .call("GET", "/v1/service-keys", Some(&admin_key), None)
        .await;
    assert_eq!(listed.status, 403, "{}", listed.text);
    let listed = app.get("/v1/service-keys", Role::PlatformOwner).await;
    assert_eq!(
        listed.json()["items"].as_array().map(Vec::len),
        Some(1),
        "nothing was made: {}",
        listed.text
    );
    // A made-up service key (right shape and checksum, no such key), a
    // mangled one and a revoked one are all 401, and none is 5xx.
    let (_, made_up) =
        domain::AccessKey::generate_service_key(&domain::KeyPrefix::default().for_service_keys());
    for credential in [
        made_up.expose_secret(),
        "akmsk_nothing",
        &admin_key[..admin_key.len() - 1],
    ] {
        let answer = app
            .call("GET", "/v1/api-keys", Some(credential), None)
            .await;
        assert_eq!(answer.status, 401, "{}", answer.text);
    }
}

async fn roles_are_never_more_than_the_creators_and_bad_input_is_refused(app: &TestApp) {
    let refused = |by: Role, body: Value| async move {
        let answer = app.post("/v1/service-keys", by, &body).await;
        (answer.status, answer.field(), answer.json()["code"].clone())
    };
    assert_eq!(
        refused(
            Role::PlatformOwner,
            json!({"name": "x", "role": "platform_owner"})
        )
        .await,
        (400, Some("role".into()), json!("invalid_field"))
    );
    assert_eq!(
        refused(Role::PlatformAdmin, json!({"name": "x", "role": "root"})).await,
        (400, Some("role".into()), json!("invalid_field"))
    );
    assert_eq!(
        refused(Role::PlatformAdmin, json!({"name": "", "role": "verifier"}))
            .await
            .0,
        400
    );
    assert_eq!(
        refused(
            Role::PlatformAdmin,
            json!({"name": "x", "role": "verifier", "tenant": "other"})
        )
        .await
        .0,
        400
    );
    assert_eq!(
        refused(
            Role::PlatformAdmin,
            json!({"name": "x", "role": "verifier", "expires_at": "2001-01-01T00:00:00Z"})
        )
        .await,
        (400, Some("expires_at".into()), json!("invalid_field"))
    );
    // People below admin never reach the routes.
    for role in [Role::Developer, Role::Verifier] {
        let answer = app
            .post(
                "/v1/service-keys",
                role,
                &json!({"name": "x", "role": "verifier"}),
            )
            .await;
        assert_eq!(answer.status, 403, "{role}: {}", answer.text);
        assert_eq!(app.get("/v1/service-keys", role).await.status, 403);
    }
    // Another tenant's key is not found, never forbidden.
    let created = create_service_key(app, Role::PlatformOwner, "verifier").await;
    let id = id_of(&created);
    let other = super::helpers::token_with(
        super::helpers::claims("another-tenant", "platform_owner"),
        super::helpers::SECRET,
    );
    let confirm = json!({ "confirm": id }).to_string();
    let path = format!("/v1/service-keys/{id}");
    let answer = app
        .call("DELETE", &path, Some(&other), Some(&confirm))
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    let malformed = app
        .call(
            "DELETE",
            "/v1/service-keys/nonsense",
            Some(&app.token(Role::PlatformOwner)),
            Some(&confirm),
        )
        .await;
    assert_eq!(malformed.status, 400, "{}", malformed.text);
    // An expiring key shows its expiry.
    let expiring = app
        .post(
            "/v1/service-keys",
            Role::PlatformOwner,
            &json!({"name": "nightly", "role": "verifier", "expires_at": "2030-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(expiring.status, 201, "{}", expiring.text);
    assert_eq!(
        expiring.json()["service_key"]["expires_at"],
        "2030-01-01T00:00:00Z"
    );
}
