//! Rotating a key over real HTTP, on both stores: the new key answers like a
//! create, the old one works until its grace period ends and never longer, a
//! key rotates once, and a service that switches keys meanwhile is never
//! refused.

use std::sync::Mutex;

use domain::{Role, Timestamp};
use serde_json::{Value, json};

use super::helpers::{TestApp, on_both_stores};

on_both_stores!(
    a_rotated_key_works_until_its_grace_period_ends,
    rotation_is_refused_for_ended_keys_bad_grace_and_an_archived_application,
    a_client_that_switches_keys_during_a_rotation_is_never_refused,
    the_audit_log_says_who_did_what_to_which_object,
);

/// The verdict code a service gets for `key`.
async fn verify(app: &TestApp, key: &str) -> String {
    let verdict = super::verify::verify(app, &app.token(Role::Verifier), key).await;
    super::verify::code(&verdict).to_owned()
}

async fn rotate(app: &TestApp, id: &str, body: &Value) -> super::helpers::TestResponse {
    app.post(&format!("/v1/api-keys/{id}/rotate"), Role::Developer, body)
        .await
}

fn seconds_from_now(at: &Value) -> i64 {
    let at = Timestamp::parse(at.as_str().expect("a time")).expect("RFC 3339");
    at.unix_seconds() - Timestamp::now().unix_seconds()
}

async fn a_rotated_key_works_until_its_grace_period_ends(app: &TestApp) {
    let choice = json!({
        "application_id": app.demo.application_id, "arx_id": app.demo.arx_id,
        "name": "billing worker",
        "expires_at": Timestamp::now().plus(time::Duration::days(30)).to_string(),
    });
    let old = app
        .post("/v1/api-keys", Role::Developer, &choice)
        .await
        .json();
    let (old_id, old_key) = (
        old["api_key"]["id"].as_str().expect("id").to_owned(),
        old["access_key"].as_str().expect("key").to_owned(),
    );
    assert_eq!(verify(app, &old_key).await, "VALID");
    let before = app
        .get("/v1/api-keys?limit=1", Role::Developer)
        .await
        .json()["counts"]
        .clone();

    let rotated = rotate(app, &old_id, &json!({"grace_seconds": 600})).await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let rotated = rotated.json();
    let new = &rotated["api_key"];
    let new_key = rotated["access_key"].as_str().expect("key").to_owned();
    assert_ne!(new_key, old_key);
    assert_eq!(new["name"], "billing worker");
    assert_eq!(new["application_id"], old["api_key"]["application_id"]);
    assert_eq!(new["arx_id"], old["api_key"]["arx_id"]);
    assert_eq!(new["rotated_from"], old_id.as_str());
    assert_eq!(rotated["arx_url"], old["arx_url"]);
    // The same expiry policy: thirty days, from now.
    let lifetime = seconds_from_now(&new["expires_at"]);
    assert!(
        (30 * 86_400 - 60..=30 * 86_400).contains(&lifetime),
        "{lifetime}"
    );

    let old_now = app
        .get(&format!("/v1/api-keys/{old_id}"), Role::Developer)
        .await
        .json();
    assert_eq!(old_now["status"], "active");
    assert_eq!(old_now["rotated_to"], new["id"]);
    let grace_left = seconds_from_now(&old_now["expires_at"]);
    assert!((540..=600).contains(&grace_left), "{grace_left}");
    assert_eq!(
        verify(app, &old_key).await,
        "VALID",
        "within its grace period"
    );
    assert_eq!(verify(app, &new_key).await, "VALID");
    let after = app
        .get("/v1/api-keys?limit=1", Role::Developer)
        .await
        .json()["counts"]
        .clone();
    assert_eq!(after["total"], before["total"].as_u64().expect("n") + 1);
    assert_eq!(after["active"], before["active"].as_u64().expect("n") + 1);

    // Once only: the replacement is what rotates next.
    let again = rotate(app, &old_id, &json!({})).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.json()["code"], "already_rotated");

    // No grace: the replaced key stops at once.
    let new_id = new["id"].as_str().expect("id").to_owned();
    let third = rotate(app, &new_id, &json!({"grace_seconds": 0}))
        .await
        .json();
    assert_eq!(verify(app, &new_key).await, "EXPIRED");
    let third_key = third["access_key"].as_str().expect("key");
    assert_eq!(verify(app, third_key).await, "VALID");
}

async fn rotation_is_refused_for_ended_keys_bad_grace_and_an_archived_application(app: &TestApp) {
    let created = app.create_key(Role::Developer).await;
    let id = created["api_key"]["id"].as_str().expect("id").to_owned();
    for grace in [json!(-1), json!(604_801), json!("a day"), json!(1.5)] {
        let refused = rotate(app, &id, &json!({ "grace_seconds": grace })).await;
        assert_eq!(refused.status, 400, "{grace}: {}", refused.text);
        assert_eq!(refused.field().as_deref(), Some("grace_seconds"), "{grace}");
    }
    let unknown = rotate(app, &id, &json!({"grace": 5})).await;
    assert_eq!(unknown.status, 400);
    let missing = rotate(app, &domain::ApiKeyId::new().to_string(), &json!({})).await;
    assert_eq!(missing.status, 404);

    // An archived application takes no new key: refused, and nothing changes.
    let owner = Role::PlatformOwner;
    let application = app
        .post(
            "/v1/applications",
            owner,
            &json!({"name": "Retiring", "technology": "server"}),
        )
        .await
        .json();
    let application_id = application["id"].as_str().expect("id");
    let choice = json!({"application_id": application_id, "arx_id": app.demo.arx_id});
    let doomed = app
        .post("/v1/api-keys", Role::Developer, &choice)
        .await
        .json();
    let doomed_id = doomed["api_key"]["id"].as_str().expect("id").to_owned();
    let before = app
        .get("/v1/api-keys?limit=1", Role::Developer)
        .await
        .json()["counts"]
        .clone();
    let archived = app
        .post(
            &format!("/v1/applications/{application_id}/archive"),
            owner,
            &Value::Null,
        )
        .await;
    assert_eq!(archived.status, 200, "{}", archived.text);
    let refused = rotate(app, &doomed_id, &json!({})).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    let unchanged = app
        .get(&format!("/v1/api-keys/{doomed_id}"), Role::Developer)
        .await
        .json();
    assert_eq!(unchanged["rotated_to"], Value::Null);

    // A deleted key has ended.
    let deleted = app.delete_key(&id, Role::Developer).await;
    assert_eq!(deleted.status, 204);
    let ended = rotate(app, &id, &json!({})).await;
    assert_eq!(ended.status, 409, "{}", ended.text);
    assert_eq!(ended.json()["code"], "api_key_status");
    let counts = app
        .get("/v1/api-keys?limit=1", Role::Developer)
        .await
        .json()["counts"]
        .clone();
    assert_eq!(
        counts["total"], before["total"],
        "no refused rotation made a key"
    );
}

/// The soak the issue asks for: a service verifies its key in a loop; the
/// key is rotated with a grace period; the service switches to the new key.
/// Not one verification is refused.
async fn a_client_that_switches_keys_during_a_rotation_is_never_refused(app: &TestApp) {
    let created = app.create_key(Role::Developer).await;
    let id = created["api_key"]["id"].as_str().expect("id").to_owned();
    let old_key = created["access_key"].as_str().expect("key").to_owned();
    let replacement: Mutex<Option<String>> = Mutex::new(None);
    // Before, during and after the rotation, until the service has used the
    // old key 20 times since the new one existed and then the new key 20
    // times (bounded, so a rotation that never comes fails instead of hanging).
    const AFTER: usize = 20;
    let service = async {
        let (mut answers, mut old_after, mut new_used) = (Vec::new(), 0, 0);
        while new_used < AFTER && answers.len() < 2_000 {
            let new_key = replacement.lock().expect("not poisoned").clone();
            let key = match new_key {
                Some(new_key) if old_after >= AFTER => {
                    new_used += 1;
                    new_key
                }
                Some(_) => {
                    old_after += 1;
                    old_key.clone()
                }
                None => old_key.clone(),
            };
            answers.push(verify(app, &key).await);
            tokio::task::yield_now().await;
        }
        (answers, old_after, new_used)
    };
    let operator = async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let rotated = rotate(app, &id, &json!({"grace_seconds": 120})).await;
        assert_eq!(rotated.status, 201, "{}", rotated.text);
        let new_key = rotated.json()["access_key"]
            .as_str()
            .expect("key")
            .to_owned();
        *replacement.lock().expect("not poisoned") = Some(new_key);
    };
    let ((answers, old_after, new_used), ()) = tokio::join!(service, operator);
    assert_eq!(
        (old_after, new_used),
        (AFTER, AFTER),
        "the old key was verified after the rotation, then the new one"
    );
    let refused: Vec<&String> = answers.iter().filter(|code| *code != "VALID").collect();
    assert!(
        refused.is_empty(),
        "refused during the rotation: {refused:?}"
    );
}

/// `GET /v1/audit-events`: who (user and role, or a job), what, which object,
/// when; newest first; one filter at a time; paged by the cursor.
async fn the_audit_log_says_who_did_what_to_which_object(app: &TestApp) {
    let created = app.create_key(Role::Developer).await;
    let id = created["api_key"]["id"].as_str().expect("id").to_owned();
    let disabled = app.key_action(&id, "disable", Role::PlatformAdmin).await;
    assert_eq!(disabled.status, 200);
    let rotated = rotate(app, &id, &json!({"grace_seconds": 60})).await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);

    let about = app
        .get(
            &format!("/v1/audit-events?object_id={id}"),
            Role::PlatformOwner,
        )
        .await;
    assert_eq!(about.status, 200, "{}", about.text);
    let events = about.json()["items"].clone();
    let actions: Vec<&str> = events
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        ["api_key_rotated", "api_key_disabled", "api_key_created"]
    );
    assert_eq!(events[1]["actor"]["kind"], "user");
    assert_eq!(events[1]["actor"]["role"], "platform_admin");
    assert_eq!(events[2]["actor"]["role"], "developer");
    assert_eq!(events[2]["object_id"], id.as_str());
    // The replacement's own history starts with the rotation that made it,
    // and each key's event names the other.
    let new_id = rotated.json()["api_key"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        events[0]["detail"],
        format!("replaced by {new_id}").as_str()
    );
    let replacement = app
        .get(
            &format!("/v1/audit-events?object_id={new_id}"),
            Role::PlatformOwner,
        )
        .await
        .json();
    assert_eq!(replacement["items"][0]["action"], "api_key_created");
    assert_eq!(
        replacement["items"][0]["detail"],
        format!("by rotation, replacing {id}").as_str()
    );

    let disables = app
        .get(
            "/v1/audit-events?action=api_key_disabled",
            Role::PlatformAdmin,
        )
        .await
        .json();
    assert!(
        disables["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["action"] == "api_key_disabled")
    );
    // The seed is a job: its events name it.
    let seeded = app
        .get(
            "/v1/audit-events?actor=system:seed&limit=1",
            Role::PlatformOwner,
        )
        .await
        .json();
    assert_eq!(
        seeded["items"][0]["actor"],
        json!({"kind": "system", "id": "seed", "role": null})
    );
    let cursor = seeded["next_cursor"]
        .as_str()
        .expect("more than one seeded event");
    let next = app
        .get(
            &format!("/v1/audit-events?actor=system:seed&limit=1&cursor={cursor}"),
            Role::PlatformOwner,
        )
        .await
        .json();
    assert_ne!(next["items"][0]["id"], seeded["items"][0]["id"]);

    // Filters combine, and a time range narrows them.
    let created_only = app
        .get(
            &format!("/v1/audit-events?object_id={id}&action=api_key_created&actor=user-of-demo"),
            Role::PlatformOwner,
        )
        .await
        .json();
    let items = created_only["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{created_only}");
    assert_eq!(items[0]["action"], "api_key_created");
    let none_yet = app
        .get(
            &format!("/v1/audit-events?object_id={id}&to=2020-01-01T00:00:00Z"),
            Role::PlatformOwner,
        )
        .await
        .json();
    assert_eq!(none_yet["items"], json!([]));
    let this_year = app
        .get(
            &format!(
                "/v1/audit-events?object_id={id}&from=2026-01-01T00:00:00Z&to=2099-01-01T00:00:00Z"
            ),
            Role::PlatformOwner,
        )
        .await
        .json();
    assert_eq!(this_year["items"].as_array().map(Vec::len), Some(3));

    for (query, field) in [
        (
            "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z".to_owned(),
            "to",
        ),
        ("from=yesterday".to_owned(), "from"),
        ("action=api_key_stolen".to_owned(), "action"),
        ("object_id=apikey--nope".to_owned(), "object_id"),
        ("actor=a%20b".to_owned(), "actor"),
    ] {
        let refused = app
            .get(&format!("/v1/audit-events?{query}"), Role::PlatformOwner)
            .await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.text);
        assert_eq!(refused.field().as_deref(), Some(field), "{query}");
    }
}
