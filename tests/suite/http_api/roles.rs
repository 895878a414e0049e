//! Roles for keys over real HTTP, on both stores: named sets of permissions
//! a key is given by name, resolved at each check; and a role's change as
//! another process sees it (within its verdict cache's TTL).

use domain::Role;
use serde_json::{Value, json};

use super::helpers::{TestApp, TestResponse, on_both_stores};
use super::verify::code;

on_both_stores!(roles_are_made_given_to_keys_and_granted_at_verify);

async fn send(app: &TestApp, method: &str, path: &str, role: Role, body: &Value) -> TestResponse {
    let body = (!body.is_null()).then(|| body.to_string());
    app.call(method, path, Some(&app.token(role)), body.as_deref())
        .await
}

async fn create_role(app: &TestApp, name: &str, permissions: &[&str]) -> String {
    let body = json!({"name": name, "permissions": permissions});
    let created = app.post("/v1/roles", Role::PlatformAdmin, &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    assert_eq!(created["name"], name);
    created["id"].as_str().expect("an id").to_owned()
}

/// The code of a verify of `key` that needs `needs`.
async fn verify_needing(app: &TestApp, key: &str, needs: &str) -> Value {
    let body = json!({"key": key, "permissions": needs});
    let answer = app.post("/v1/verify", Role::Verifier, &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

async fn roles_are_made_given_to_keys_and_granted_at_verify(app: &TestApp) {
    let refused = app
        .post("/v1/roles", Role::Developer, &json!({"name": "reader"}))
        .await;
    assert_eq!(
        refused.status, 403,
        "a developer reads roles, never makes them"
    );
    let reader = create_role(app, "reader", &["documents.read"]).await;
    let editor = create_role(app, "editor", &["documents.*"]).await;
    let again = app
        .post("/v1/roles", Role::PlatformOwner, &json!({"name": "reader"}))
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.json()["code"], "role_exists");
    let bad = app
        .post("/v1/roles", Role::PlatformOwner, &json!({"name": "a b"}))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.field().as_deref(), Some("name"));

    // A key is given roles that exist, by name.
    let choice = |roles: Value| {
        json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id,
            "permissions": ["billing.read"], "roles": roles})
    };
    let unknown = app
        .post("/v1/api-keys", Role::Developer, &choice(json!(["readr"])))
        .await;
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    assert_eq!(unknown.field().as_deref(), Some("roles"));
    let created = app
        .post("/v1/api-keys", Role::Developer, &choice(json!(["reader"])))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    assert_eq!(created["api_key"]["roles"], json!(["reader"]));
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let key_id = created["api_key"]["id"].as_str().expect("an id").to_owned();

    let verdict = verify_needing(app, &key, "documents.read AND billing.read").await;
    assert_eq!(code(&verdict), "VALID", "{verdict}");
    assert_eq!(verdict["roles"], json!(["reader"]));
    assert_eq!(
        verdict["permissions"],
        json!(["billing.read", "documents.read"])
    );
    assert_eq!(
        code(&verify_needing(app, &key, "documents.write").await),
        "INSUFFICIENT_PERMISSIONS"
    );

    // A change to the role reaches the key at its next check.
    let changed = send(
        app,
        "PATCH",
        &format!("/v1/roles/{reader}"),
        Role::PlatformOwner,
        &json!({"permissions": ["documents.read", "documents.write"]}),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(
        code(&verify_needing(app, &key, "documents.write").await),
        "VALID"
    );

    // Another role on the key, by PATCH; then the role deleted.
    let patched = send(
        app,
        "PATCH",
        &format!("/v1/api-keys/{key_id}"),
        Role::PlatformAdmin,
        &json!({"roles": ["reader", "editor"]}),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(
        code(&verify_needing(app, &key, "documents.drafts.delete").await),
        "VALID"
    );
    let deleted = send(
        app,
        "DELETE",
        &format!("/v1/roles/{editor}"),
        Role::PlatformAdmin,
        &Value::Null,
    )
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(
        code(&verify_needing(app, &key, "documents.drafts.delete").await),
        "INSUFFICIENT_PERMISSIONS",
        "a deleted role grants nothing"
    );

    let listed = app.get("/v1/roles", Role::Developer).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let listed = listed.json();
    let names: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|role| role["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, ["reader"], "the editor is gone");
    let audit = app
        .get(
            &format!("/v1/audit-events?object_id={reader}"),
            Role::PlatformOwner,
        )
        .await
        .json();
    assert_eq!(audit["items"][0]["action"], "role_updated");
    assert!(
        audit["items"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("permissions added: documents.write")),
        "{audit}"
    );
    let key_audit = app
        .get(
            &format!("/v1/audit-events?object_id={key_id}"),
            Role::PlatformOwner,
        )
        .await
        .json();
    assert!(
        key_audit["items"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("roles added: editor")),
        "{key_audit}"
    );
}

/// Two processes over one store: a role changed through one reaches its
/// keys there at once, and in the other when the verdict it cached ends
/// (its TTL, two seconds here), not before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_reaches_another_process_within_the_cache_ttl() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use api::{ApiRequest, AppState, Identity, Route, ServiceConfig};
    use domain::{TenantId, UserId};

    const TTL: Duration = Duration::from_secs(2);
    let (store, _dir) = crate::store_contract::backends::embedded();
    let demo = dev_server::seed::demo_tenant(&store, "https://arx.test")
        .await
        .expect("seeded");
    let config = ServiceConfig {
        table_name: "unused".into(),
        dynamodb_endpoint: None,
        access_key_prefix: domain::KeyPrefix::default(),
        feedback_topic_arn: None,
        arx_base_url: "https://arx.test".into(),
        verify_cache: TTL,
        expiry_notice: domain::NoticePeriod::default(),
        usage_flush: None,
        leases: store::LeaseSettings::DEFAULT,
    };
    let changing = Arc::new(AppState::new(store.clone(), &config));
    let other = Arc::new(AppState::new(store, &config));
    let request = |role: Role, id: Option<&str>, body: Value| ApiRequest {
        identity: Identity {
            tenant: TenantId::parse("demo").expect("valid"),
            user: UserId::parse("someone").expect("valid"),
            role,
        },
        id: id.map(str::to_owned),
        query: vec![],
        body: body.to_string().into(),
        idempotency_key: None,
        media: Default::default(),
    };
    let call = |state: &Arc<AppState<store::EmbeddedStore>>, route, request| {
        api::dispatch(Arc::clone(state), route, request)
    };
    let made = call(
        &changing,
        Route::CreateRole,
        request(
            Role::PlatformAdmin,
            None,
            json!({"name": "reader", "permissions": ["a"]}),
        ),
    )
    .await;
    assert_eq!(made.status, 201);
    let role: Value = serde_json::from_slice(&made.body).expect("JSON");
    let role_id = role["id"].as_str().expect("an id").to_owned();
    let created = call(
        &changing,
        Route::CreateApiKey,
        request(
            Role::Developer,
            None,
            json!({"application_id": demo.application_id, "arx_id": demo.arx_id,
                "roles": ["reader"]}),
        ),
    )
    .await;
    assert_eq!(created.status, 201);
    let created: Value = serde_json::from_slice(&created.body).expect("JSON");
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let needing_b = |state| {
        let request = request(
            Role::Verifier,
            None,
            json!({"key": key, "permissions": "b"}),
        );
        async move {
            let answer = call(state, Route::VerifyKey, request).await;
            assert_eq!(answer.status, 200);
            let verdict: Value = serde_json::from_slice(&answer.body).expect("JSON");
            verdict["code"].as_str().unwrap_or_default().to_owned()
        }
    };
    assert_eq!(needing_b(&other).await, "INSUFFICIENT_PERMISSIONS");
    let cached_at = Instant::now();
    let changed = call(
        &changing,
        Route::UpdateRole,
        request(
            Role::PlatformAdmin,
            Some(&role_id),
            json!({"permissions": ["a", "b"]}),
        ),
    )
    .await;
    assert_eq!(changed.status, 200);
    assert_eq!(needing_b(&changing).await, "VALID", "this process: at once");
    assert!(cached_at.elapsed() < TTL, "{:?}", cached_at.elapsed());
    assert_eq!(
        needing_b(&other).await,
        "INSUFFICIENT_PERMISSIONS",
        "the other: its cached verdict"
    );
    tokio::time::sleep(TTL.saturating_sub(cached_at.elapsed()) + Duration::from_millis(100)).await;
    assert_eq!(
        needing_b(&other).await,
        "VALID",
        "the other: within the TTL"
    );
}
