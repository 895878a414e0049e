//! Permissions, owner and meta over real HTTP, on both stores: set at
//! create, asked at verify by a permission query, changed by owners and
//! admins (audited with what changed), kept by rotation, listed by owner
//! through the owner's index, refused beyond their grammar naming the field.

use domain::Role;
use serde_json::{Value, json};

use super::helpers::{SECRET, TestApp, claims, on_both_stores, token_with};
use super::verify::code;

on_both_stores!(
    verify_answers_as_the_permission_query_says,
    a_wildcard_grant_answers_every_name_under_it,
    a_refused_permission_query_spends_no_credit,
    bad_permissions_owners_meta_and_queries_are_400_naming_the_field,
    owners_and_admins_change_permissions_owner_and_meta_and_rotation_keeps_them,
    the_dashboard_lists_one_owners_keys_and_no_other_tenants,
);

async fn create_with(app: &TestApp, more: Value) -> Value {
    let mut body = json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id});
    if let (Some(body), Some(more)) = (body.as_object_mut(), more.as_object()) {
        body.extend(more.clone());
    }
    let created = app.post("/v1/api-keys", Role::Developer, &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.json()
}

async fn verify_asking(app: &TestApp, key: &str, permissions: &str) -> Value {
    let body = json!({"key": key, "permissions": permissions}).to_string();
    let token = app.token(Role::Verifier);
    let response = app
        .call("POST", "/v1/verify", Some(&token), Some(&body))
        .await;
    assert_eq!(response.status, 200, "{permissions}: {}", response.text);
    response.json()
}

async fn patch(app: &TestApp, id: &str, role: Role, body: &Value) -> super::helpers::TestResponse {
    app.call(
        "PATCH",
        &format!("/v1/api-keys/{id}"),
        Some(&app.token(role)),
        Some(&body.to_string()),
    )
    .await
}

async fn verify_answers_as_the_permission_query_says(app: &TestApp) {
    let created = create_with(
        app,
        json!({
            "permissions": ["documents.read", "billing:write", "documents.read"],
            "external_id": "org_42",
            "meta": {"plan": "pro", "seats": 5, "tags": ["a", "b"]},
        }),
    )
    .await;
    assert_eq!(
        created["api_key"]["permissions"],
        json!(["billing:write", "documents.read"]),
        "each name once, in order"
    );
    let key = created["access_key"].as_str().expect("a key");
    let cases = [
        ("documents.read", "VALID"),
        ("documents.write", "INSUFFICIENT_PERMISSIONS"),
        ("documents.read AND billing:write", "VALID"),
        (
            "documents.read AND documents.write",
            "INSUFFICIENT_PERMISSIONS",
        ),
        ("documents.write OR billing:write", "VALID"),
        ("documents.write OR admin", "INSUFFICIENT_PERMISSIONS"),
        ("admin OR documents.read AND billing:write", "VALID"),
        ("(admin OR documents.read) AND billing:write", "VALID"),
        (
            "(admin OR documents.write) AND billing:write",
            "INSUFFICIENT_PERMISSIONS",
        ),
        ("admin AND documents.read OR billing:write", "VALID"),
        (
            "admin AND (documents.read OR billing:write)",
            "INSUFFICIENT_PERMISSIONS",
        ),
        ("((documents.read and (billing:write or x)))", "VALID"),
    ];
    for (query, expected) in cases {
        let verdict = verify_asking(app, key, query).await;
        assert_eq!(code(&verdict), expected, "{query}: {verdict}");
        assert_eq!(verdict["valid"], expected == "VALID", "{query}");
        if expected != "VALID" {
            assert!(
                verdict.get("key_id").is_none(),
                "a refusal says no more: {verdict}"
            );
        }
    }
    let valid = verify_asking(app, key, "documents.read").await;
    assert_eq!(
        valid["permissions"],
        json!(["billing:write", "documents.read"])
    );
    assert_eq!(valid["external_id"], "org_42");
    assert_eq!(
        valid["meta"],
        json!({"plan": "pro", "seats": 5, "tags": ["a", "b"]})
    );
    // No query: a good key is valid whatever it holds.
    let plain = super::verify::verify(app, &app.token(Role::Verifier), key).await;
    assert_eq!(code(&plain), "VALID");
    // A key with no permissions passes no query, and still verifies without one.
    let bare = create_with(app, json!({})).await;
    let bare_key = bare["access_key"].as_str().expect("a key");
    assert_eq!(
        code(&verify_asking(app, bare_key, "documents.read").await),
        "INSUFFICIENT_PERMISSIONS"
    );
    let bare_valid = super::verify::verify(app, &app.token(Role::Verifier), bare_key).await;
    assert_eq!(bare_valid["permissions"], json!([]));
    assert_eq!(bare_valid["external_id"], Value::Null);
    assert_eq!(bare_valid["meta"], Value::Null);
    // A status refusal comes before the query: a disabled key is DISABLED.
    let id = created["api_key"]["id"].as_str().expect("an id");
    let disabled = app.key_action(id, "disable", Role::PlatformAdmin).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(
        code(&verify_asking(app, key, "documents.write").await),
        "DISABLED"
    );
}

/// A key with one credit asked for what it lacks: refused, and its credit
/// is still there for the request it may make.
async fn a_refused_permission_query_spends_no_credit(app: &TestApp) {
    let created = create_with(
        app,
        json!({"permissions": ["read"], "limits": {"credits": {"remaining": 1}}}),
    )
    .await;
    let key = created["access_key"].as_str().expect("a key");
    for _ in 0..3 {
        let refused = verify_asking(app, key, "write").await;
        assert_eq!(code(&refused), "INSUFFICIENT_PERMISSIONS", "{refused}");
    }
    let valid = verify_asking(app, key, "read").await;
    assert_eq!(code(&valid), "VALID", "{valid}");
    assert_eq!(valid["remaining"], 0);
    assert_eq!(
        code(&verify_asking(app, key, "read").await),
        "USAGE_EXCEEDED"
    );
}

async fn a_wildcard_grant_answers_every_name_under_it(app: &TestApp) {
    let created = create_with(app, json!({"permissions": ["documents.*", "billing.read"]})).await;
    assert_eq!(
        created["api_key"]["permissions"],
        json!(["billing.read", "documents.*"])
    );
    let key = created["access_key"].as_str().expect("a key");
    for (query, expected) in [
        ("documents.read", "VALID"),
        ("documents.drafts.write AND billing.read", "VALID"),
        ("documents", "INSUFFICIENT_PERMISSIONS"),
        ("documentsX.read", "INSUFFICIENT_PERMISSIONS"),
        ("billing.write OR admin", "INSUFFICIENT_PERMISSIONS"),
    ] {
        assert_eq!(
            code(&verify_asking(app, key, query).await),
            expected,
            "{query}"
        );
    }
}

async fn bad_permissions_owners_meta_and_queries_are_400_naming_the_field(app: &TestApp) {
    let many: Vec<String> = (0..101).map(|i| format!("p{i}")).collect();
    let cases = [
        (json!({"permissions": ["has space"]}), "permissions[0]"),
        (json!({"permissions": ["read", "AND"]}), "permissions[1]"),
        (
            json!({"permissions": ["documents.*.read"]}),
            "permissions[0]",
        ),
        (json!({"permissions": ["*"]}), "permissions[0]"),
        (json!({"permissions": ["x".repeat(101)]}), "permissions[0]"),
        (json!({"permissions": many}), "permissions"),
        (json!({"permissions": "read"}), "permissions"),
        (json!({"external_id": ""}), "external_id"),
        (json!({"external_id": "has space"}), "external_id"),
        (json!({"external_id": "x".repeat(256)}), "external_id"),
        (json!({"external_id": "a\u{202E}b"}), "external_id"),
        (json!({"meta": [1, 2]}), "meta"),
        (json!({"meta": "text"}), "meta"),
        (json!({"meta": {"pad": "x".repeat(4096)}}), "meta"),
    ];
    let before = app.get("/v1/api-keys", Role::Developer).await.json()["counts"].clone();
    for (more, field) in cases {
        let mut body =
            json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id});
        if let (Some(body), Some(more)) = (body.as_object_mut(), more.as_object()) {
            body.extend(more.clone());
        }
        let refused = app.post("/v1/api-keys", Role::Developer, &body).await;
        assert_eq!(refused.status, 400, "{more}: {}", refused.text);
        assert_eq!(
            refused.field().as_deref(),
            Some(field),
            "{more}: {}",
            refused.text
        );
    }
    let after = app.get("/v1/api-keys", Role::Developer).await.json()["counts"].clone();
    assert_eq!(before, after, "nothing was created");

    let created = create_with(app, json!({"permissions": ["read"]})).await;
    let key = created["access_key"].as_str().expect("a key");
    let token = app.token(Role::Verifier);
    let deep = format!("{}read{}", "(".repeat(9), ")".repeat(9));
    let long = vec!["read"; 300].join(" OR ");
    for query in [
        "",
        "read AND",
        "read write",
        "(read",
        "read)",
        "read && write",
        "ré",
        "documents.*",
        deep.as_str(),
        long.as_str(),
    ] {
        let body = json!({"key": key, "permissions": query}).to_string();
        let refused = app
            .call("POST", "/v1/verify", Some(&token), Some(&body))
            .await;
        assert_eq!(refused.status, 400, "{query:?}: {}", refused.text);
        assert_eq!(refused.field().as_deref(), Some("permissions"), "{query:?}");
    }
    let not_text = json!({"key": key, "permissions": ["read"]}).to_string();
    let refused = app
        .call("POST", "/v1/verify", Some(&token), Some(&not_text))
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.field().as_deref(), Some("permissions"));
}

async fn owners_and_admins_change_permissions_owner_and_meta_and_rotation_keeps_them(
    app: &TestApp,
) {
    let created = create_with(
        app,
        json!({"permissions": ["read", "admin"], "external_id": "org_1", "meta": {"plan": "free"}}),
    )
    .await;
    let id = created["api_key"]["id"].as_str().expect("an id").to_owned();
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let change =
        json!({"permissions": ["read", "write"], "external_id": "org_2", "meta": {"plan": "pro"}});
    let refused = patch(app, &id, Role::Developer, &change).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    let changed = patch(app, &id, Role::PlatformAdmin, &change).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let changed = changed.json();
    assert_eq!(changed["permissions"], json!(["read", "write"]));
    assert_eq!(changed["external_id"], "org_2");
    assert_eq!(changed["meta"], json!({"plan": "pro"}));
    // The next verify, in this process, already sees the change.
    assert_eq!(code(&verify_asking(app, &key, "write").await), "VALID");
    assert_eq!(
        code(&verify_asking(app, &key, "admin").await),
        "INSUFFICIENT_PERMISSIONS"
    );
    let events = app
        .get(
            &format!("/v1/audit-events?object_id={id}"),
            Role::PlatformOwner,
        )
        .await
        .json();
    let updated: Vec<&Value> = events["items"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|event| event["action"] == "api_key_updated")
        .collect();
    assert_eq!(updated.len(), 1, "{events}");
    assert_eq!(
        updated[0]["detail"],
        "permissions added: write; permissions removed: admin; owner set to org_2; meta changed"
    );
    assert_eq!(
        updated[0]["actor"]["role"], "platform_admin",
        "{}",
        updated[0]
    );

    // Only what is named changes; `null` removes; nothing named is refused.
    let owner_only = patch(app, &id, Role::PlatformOwner, &json!({"external_id": null})).await;
    assert_eq!(owner_only.status, 200, "{}", owner_only.text);
    let owner_only = owner_only.json();
    assert_eq!(owner_only["external_id"], Value::Null);
    assert_eq!(owner_only["permissions"], json!(["read", "write"]));
    assert_eq!(owner_only["meta"], json!({"plan": "pro"}));
    let nothing = patch(app, &id, Role::PlatformOwner, &json!({})).await;
    assert_eq!(nothing.status, 400, "{}", nothing.text);
    let bad = patch(
        app,
        &id,
        Role::PlatformOwner,
        &json!({"permissions": ["no good"]}),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.field().as_deref(), Some("permissions[0]"));

    // Rotation keeps all three, or takes other permissions.
    let back = patch(
        app,
        &id,
        Role::PlatformOwner,
        &json!({"external_id": "org_2"}),
    )
    .await;
    assert_eq!(back.status, 200, "{}", back.text);
    let rotated = app
        .post(
            &format!("/v1/api-keys/{id}/rotate"),
            Role::Developer,
            &json!({}),
        )
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    let rotated = rotated.json();
    assert_eq!(rotated["api_key"]["permissions"], json!(["read", "write"]));
    assert_eq!(rotated["api_key"]["external_id"], "org_2");
    assert_eq!(rotated["api_key"]["meta"], json!({"plan": "pro"}));
    let new_id = rotated["api_key"]["id"].as_str().expect("an id");
    let narrowed = app
        .post(
            &format!("/v1/api-keys/{new_id}/rotate"),
            Role::Developer,
            &json!({"permissions": ["read"]}),
        )
        .await;
    assert_eq!(narrowed.status, 201, "{}", narrowed.text);
    let narrowed = narrowed.json();
    assert_eq!(narrowed["api_key"]["permissions"], json!(["read"]));
    let narrowed_key = narrowed["access_key"].as_str().expect("a key");
    assert_eq!(
        code(&verify_asking(app, narrowed_key, "write").await),
        "INSUFFICIENT_PERMISSIONS"
    );
    // A rotated key's permissions are still its own to change (its limits are not).
    let old = patch(app, &id, Role::PlatformOwner, &json!({"permissions": []})).await;
    assert_eq!(old.status, 200, "{}", old.text);
    let old_limits = patch(app, &id, Role::PlatformOwner, &json!({"limits": null})).await;
    assert_eq!(old_limits.status, 409, "{}", old_limits.text);
}

async fn the_dashboard_lists_one_owners_keys_and_no_other_tenants(app: &TestApp) {
    let mut mine = Vec::new();
    for owner in ["org#a", "org#b", "org#a"] {
        let created = create_with(app, json!({"external_id": owner})).await;
        if owner == "org#a" {
            mine.push(created["api_key"]["id"].as_str().expect("an id").to_owned());
        }
    }
    create_with(app, json!({})).await;
    let listed = app
        .get("/v1/api-keys?external_id=org%23a", Role::Developer)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let ids: Vec<String> = listed.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|key| key["id"].as_str().expect("an id").to_owned())
        .collect();
    mine.reverse();
    assert_eq!(ids, mine, "the owner's keys, newest first");
    // A page at a time, through the index.
    let first = app
        .get("/v1/api-keys?external_id=org%23a&limit=1", Role::Developer)
        .await
        .json();
    assert_eq!(first["items"].as_array().map(Vec::len), Some(1));
    let cursor = first["next_cursor"].as_str().expect("a cursor");
    let second = app
        .get(
            &format!("/v1/api-keys?external_id=org%23a&limit=1&cursor={cursor}"),
            Role::Developer,
        )
        .await
        .json();
    assert_eq!(second["items"][0]["id"], mine[1].as_str());
    // Moved to another owner, the key leaves the first owner's list.
    let moved = patch(
        app,
        &mine[0],
        Role::PlatformOwner,
        &json!({"external_id": "org#c"}),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let after = app
        .get("/v1/api-keys?external_id=org%23a", Role::Developer)
        .await
        .json();
    assert_eq!(after["items"].as_array().map(Vec::len), Some(1), "{after}");
    // Another tenant, the same owner id: nothing.
    let other = token_with(claims("another-tenant", "developer"), SECRET);
    let theirs = app
        .call(
            "GET",
            "/v1/api-keys?external_id=org%23a",
            Some(&other),
            None,
        )
        .await;
    assert_eq!(theirs.status, 200, "{}", theirs.text);
    assert_eq!(theirs.json()["items"], json!([]));
    let bad = app
        .get("/v1/api-keys?external_id=has%20space", Role::Developer)
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.field().as_deref(), Some("external_id"));
}
