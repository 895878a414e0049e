//! The product page's flows over real HTTP, on both stores.

use domain::Role;
use serde_json::{Value, json};

use super::helpers::{TestApp, on_both_stores};

on_both_stores!(
    create_review_list_get_delete,
    feedback_is_accepted,
    archived_applications_and_disabled_arx_get_no_new_keys,
    archiving_or_deleting_arx_deletes_their_keys_within_seconds,
    cursors_survive_deletes_between_pages_and_refuse_other_lists,
    the_list_leaves_deleted_keys_out_and_searches_names_when_asked,
);

/// `include_deleted=false` (the console's default list) and `name` (any
/// case, a part of the name), alone and with the other filters; each page
/// still full, newest first; bad values are 400 naming the parameter.
async fn the_list_leaves_deleted_keys_out_and_searches_names_when_asked(app: &TestApp) {
    let mut ids = Vec::new();
    for name in ["Billing Worker", "billing cron", "Reporting", "old billing"] {
        let body = json!({ "application_id": app.demo.application_id, "arx_id": app.demo.arx_id, "name": name });
        let created = app.post("/v1/api-keys", Role::Developer, &body).await;
        assert_eq!(created.status, 201, "{}", created.text);
        ids.push(
            created.json()["api_key"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    assert_eq!(app.delete_key(&ids[3], Role::Developer).await.status, 204);
    let names = |query: &'static str| async move {
        let listed = app
            .get(&format!("/v1/api-keys?{query}"), Role::Developer)
            .await;
        assert_eq!(listed.status, 200, "{query}: {}", listed.text);
        listed.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|key| key["name"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names("name=BILLING").await,
        ["old billing", "billing cron", "Billing Worker"]
    );
    assert_eq!(
        names("name=billing&include_deleted=false").await,
        ["billing cron", "Billing Worker"]
    );
    assert_eq!(
        names("name=billing&include_deleted=false&limit=1").await,
        ["billing cron"]
    );
    assert_eq!(names("name=billing&status=deleted").await, ["old billing"]);
    // Oldest first, paged by its cursor the same way.
    assert_eq!(
        names("name=billing&order=oldest").await,
        ["Billing Worker", "billing cron", "old billing"]
    );
    let first = app
        .get(
            "/v1/api-keys?name=billing&order=oldest&limit=2",
            Role::Developer,
        )
        .await
        .json();
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let rest = app
        .get(
            &format!("/v1/api-keys?name=billing&order=oldest&limit=2&cursor={cursor}"),
            Role::Developer,
        )
        .await
        .json();
    assert_eq!(rest["items"][0]["name"], "old billing");
    assert_eq!(rest["next_cursor"], Value::Null);
    // The same through an index (the application's), both ways.
    let by_application = |order: &'static str| {
        let path = format!(
            "/v1/api-keys?application_id={}&name=billing&order={order}",
            app.demo.application_id
        );
        async move {
            let listed = app.get(&path, Role::Developer).await.json();
            listed["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|key| key["name"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        by_application("oldest").await,
        ["Billing Worker", "billing cron", "old billing"]
    );
    assert_eq!(
        by_application("newest").await,
        ["old billing", "billing cron", "Billing Worker"]
    );
    let without_deleted = names("include_deleted=false&limit=100").await;
    assert!(without_deleted.contains(&"Reporting".to_owned()));
    assert!(!without_deleted.contains(&"old billing".to_owned()));
    for (query, field) in [
        ("include_deleted=maybe", "include_deleted"),
        ("name=", "name"),
    ] {
        let refused = app
            .get(&format!("/v1/api-keys?{query}"), Role::Developer)
            .await;
        assert_eq!(
            (refused.status, refused.field().as_deref()),
            (400, Some(field)),
            "{query}"
        );
    }
}

/// A burst of creates the machine can serve in a moment (a hash is ~40 µs)
/// is served whole: no 503 from the hashing gate, every key counted once.
/// On the embedded store only: the gate is the same on both, and 500
/// transactions at once hold the one-threaded DynamoDB test server for a
/// minute, slowing every other test that shares it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_creates_are_all_created() {
    let app = TestApp::embedded().await;
    let token = app.token(Role::Developer);
    let body =
        json!({ "application_id": app.demo.application_id, "arx_id": app.demo.arx_id }).to_string();
    let calls = (0..500).map(|_| app.call("POST", "/v1/api-keys", Some(&token), Some(&body)));
    let answers = futures_util::future::join_all(calls).await;
    let mut ids = std::collections::HashSet::new();
    for answer in &answers {
        assert_eq!(answer.status, 201, "{}", answer.text);
        ids.insert(answer.json()["api_key"]["id"].as_str().map(str::to_owned));
    }
    assert_eq!(ids.len(), 500, "500 different keys");
    let counts = app
        .get("/v1/api-keys?limit=1", Role::Developer)
        .await
        .json();
    assert_eq!(counts["counts"]["total"], 500);
    assert_eq!(counts["counts"]["active"], 500);
    app.stop().await;
}

/// Pick an application and an Arx, review, create, see it listed, read it,
/// refuse a wrong confirmation, delete it, see it listed as deleted.
async fn create_review_list_get_delete(app: &TestApp) {
    let dev = Role::Developer;
    let applications = app.get("/v1/applications", dev).await.json();
    let arx = app.get("/v1/arx", dev).await.json();
    assert_eq!(applications["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(arx["items"].as_array().map(Vec::len), Some(2));
    let (application_id, arx_id) = (
        app.demo.application_id.to_string(),
        app.demo.arx_id.to_string(),
    );

    let choice =
        json!({ "application_id": application_id, "arx_id": arx_id, "name": "billing worker" });
    let review = app.post("/v1/api-keys?dry_run=true", dev, &choice).await;
    assert_eq!(review.status, 200, "{}", review.text);
    let summary = review.json();
    assert_eq!(summary["application"]["name"], "Payments API");
    assert_eq!(summary["arx"]["purpose"], "production");
    assert_eq!(summary["arx"]["region"], "ap-southeast-2");
    assert!(summary.get("access_key").is_none());
    let listed = app.get("/v1/api-keys", dev).await.json();
    assert_eq!(
        listed["counts"],
        json!({"total": 0, "active": 0, "deleted": 0, "expired": 0, "disabled": 0}),
        "a dry run creates nothing"
    );

    let created = app.post("/v1/api-keys", dev, &choice).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let created = created.json();
    let key_id = created["api_key"]["id"].as_str().expect("an id").to_owned();
    let access_key = created["access_key"]
        .as_str()
        .expect("the access key")
        .to_owned();
    assert!(access_key.starts_with(&format!("akm_{}_", &key_id["apikey--".len()..])));
    assert!(
        created["arx_url"]
            .as_str()
            .is_some_and(|url| url.ends_with(&arx_id))
    );
    assert_eq!(created["api_key"]["name"], "billing worker");
    assert_eq!(created["api_key"]["created_by"], "user-of-demo");

    let listed = app.get("/v1/api-keys", dev).await;
    let page = listed.json();
    assert_eq!(page["items"][0]["id"], key_id.as_str(), "listed at once");
    assert_eq!(
        page["counts"],
        json!({"total": 1, "active": 1, "deleted": 0, "expired": 0, "disabled": 0})
    );
    let read = app.get(&format!("/v1/api-keys/{key_id}"), dev).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["status"], "active");
    for response in [&listed, &read] {
        assert!(
            !response.text.contains(&access_key),
            "the access key is shown once only"
        );
        assert!(
            !response.text.contains("argon2"),
            "no hash is ever returned"
        );
        assert!(!response.text.contains("secret_hash"));
    }

    let token = app.token(dev);
    let path = format!("/v1/api-keys/{key_id}");
    for wrong in [
        json!({"confirm": "nope"}),
        json!({}),
        json!({"confirm": key_id.to_uppercase()}),
        json!({"confirm": format!(" {key_id}")}),
    ] {
        let refused = app
            .call("DELETE", &path, Some(&token), Some(&wrong.to_string()))
            .await;
        assert_eq!(refused.status, 422, "{wrong}: {}", refused.text);
        assert_eq!(refused.json()["code"], "confirmation_mismatch");
        assert_eq!(refused.field().as_deref(), Some("confirm"));
    }
    let refused = app.call("DELETE", &path, Some(&token), None).await;
    assert_eq!(refused.status, 422, "no body is no confirmation");
    assert_eq!(
        app.get(&path, dev).await.json()["status"],
        "active",
        "nothing changed"
    );

    let confirm = json!({ "confirm": key_id }).to_string();
    let deleted = app
        .call("DELETE", &path, Some(&token), Some(&confirm))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let after = app.get("/v1/api-keys", dev).await.json();
    assert_eq!(after["items"][0]["status"], "deleted");
    assert_eq!(after["items"][0]["deleted_by"], "user-of-demo");
    assert_eq!(
        after["counts"],
        json!({"total": 1, "active": 0, "deleted": 1, "expired": 0, "disabled": 0})
    );
    let again = app
        .call("DELETE", &path, Some(&token), Some(&confirm))
        .await;
    assert_eq!(again.status, 409);
    let only_deleted = app.get("/v1/api-keys?status=deleted", dev).await.json();
    assert_eq!(only_deleted["items"].as_array().map(Vec::len), Some(1));
    // The refused second delete counted nothing.
    assert_eq!(only_deleted["counts"], after["counts"]);
}

async fn feedback_is_accepted(app: &TestApp) {
    let sent = app
        .post(
            "/v1/feedback",
            Role::Developer,
            &json!({"message": "Love the one-time key screen", "rating": 5, "page": "/api-keys"}),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    assert!(
        sent.json()["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("feedback--"))
    );
    let minimal = app
        .post(
            "/v1/feedback",
            Role::PlatformOwner,
            &json!({"message": "ok"}),
        )
        .await;
    assert_eq!(minimal.status, 201);
}

async fn archived_applications_and_disabled_arx_get_no_new_keys(app: &TestApp) {
    let owner = Role::PlatformOwner;
    let new_application = app
        .post(
            "/v1/applications",
            owner,
            &json!({"name": "Legacy", "technology": "server"}),
        )
        .await;
    assert_eq!(new_application.status, 201, "{}", new_application.text);
    let application_id = new_application.json()["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let arx_id = app.demo.arx_id.to_string();
    let choice = json!({"application_id": application_id, "arx_id": arx_id});
    assert_eq!(
        app.post("/v1/api-keys", Role::Developer, &choice)
            .await
            .status,
        201
    );
    let total_before =
        app.get("/v1/api-keys", Role::Developer).await.json()["counts"]["total"].clone();

    let archived = app
        .post(
            &format!("/v1/applications/{application_id}/archive"),
            owner,
            &Value::Null,
        )
        .await;
    assert_eq!(archived.status, 200, "{}", archived.text);
    assert_eq!(archived.json()["status"], "archived");
    for path in ["/v1/api-keys", "/v1/api-keys?dry_run=true"] {
        let refused = app.post(path, Role::Developer, &choice).await;
        assert_eq!(refused.status, 409, "{}", refused.text);
        assert_eq!(refused.json()["code"], "application_not_active");
    }

    let usable = json!({"application_id": app.demo.application_id, "arx_id": arx_id});
    let disabled = app
        .post(
            &format!("/v1/arx/{arx_id}/disable"),
            Role::PlatformAdmin,
            &Value::Null,
        )
        .await;
    assert_eq!(disabled.json()["status"], "disabled");
    let refused = app.post("/v1/api-keys", Role::Developer, &usable).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json()["code"], "arx_not_active");
    // Three refused creates (409) counted nothing (the cascade of the archive
    // moves the one key from active to deleted, which leaves the total).
    let total_after =
        app.get("/v1/api-keys", Role::Developer).await.json()["counts"]["total"].clone();
    assert_eq!(total_after, total_before);
    let enabled = app
        .post(
            &format!("/v1/arx/{arx_id}/enable"),
            Role::PlatformAdmin,
            &Value::Null,
        )
        .await;
    assert_eq!(enabled.json()["status"], "active");
    assert_eq!(
        app.post("/v1/api-keys", Role::Developer, &usable)
            .await
            .status,
        201
    );

    // Two keys were made; the refused creates wrote nothing (the cascade may
    // meanwhile have deleted the archived application's key: that is its job).
    let counts = app.get("/v1/api-keys", Role::Developer).await.json()["counts"].clone();
    assert_eq!(
        counts["total"], 2,
        "refused creates wrote nothing: {counts}"
    );
}

/// Polls the dashboard until `done` holds, for at most ten seconds.
async fn eventually(app: &TestApp, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let page = app.get(path, Role::Developer).await.json();
        if done(&page) {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "{path} never got there: {}",
        app.get(path, Role::Developer).await.text
    );
}

async fn archiving_or_deleting_arx_deletes_their_keys_within_seconds(app: &TestApp) {
    let owner = Role::PlatformOwner;
    let application = app
        .post(
            "/v1/applications",
            owner,
            &json!({"name": "Doomed app", "technology": "server"}),
        )
        .await
        .json();
    let arx_body = json!({"name": "Doomed Arx", "purpose": "testing", "provider": "aws", "region": "us-west-2",
        "encryption_method": "AES-GCM-256", "rotation_cycle": "30 days", "plan": "standard"});
    let arx = app.post("/v1/arx", owner, &arx_body).await.json();
    let (application_id, arx_id) = (
        application["id"].as_str().expect("id"),
        arx["id"].as_str().expect("id"),
    );
    for (application, arx) in [
        (application_id, app.demo.arx_id.as_str()),
        (app.demo.application_id.as_str(), arx_id),
    ] {
        for _ in 0..2 {
            let created = app
                .post(
                    "/v1/api-keys",
                    Role::Developer,
                    &json!({"application_id": application, "arx_id": arx}),
                )
                .await;
            assert_eq!(created.status, 201, "{}", created.text);
        }
    }

    let archived = app
        .post(
            &format!("/v1/applications/{application_id}/archive"),
            owner,
            &Value::Null,
        )
        .await;
    assert_eq!(archived.status, 200);
    let path = format!("/v1/api-keys?application_id={application_id}");
    let page = eventually(app, &path, |page| {
        page["items"]
            .as_array()
            .is_some_and(|keys| keys.iter().all(|k| k["status"] == "deleted"))
    })
    .await;
    assert_eq!(page["items"][0]["deleted_by"], "system:cascade");

    let deleted = app
        .call(
            "DELETE",
            &format!("/v1/arx/{arx_id}"),
            Some(&app.token(owner)),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    let path = format!("/v1/api-keys?arx_id={arx_id}&status=active");
    eventually(app, &path, |page| page["items"] == json!([])).await;
    let counts =
        eventually(app, "/v1/api-keys", |page| page["counts"]["deleted"] == 4).await["counts"]
            .clone();
    assert_eq!(
        counts,
        json!({"total": 4, "active": 0, "deleted": 4, "expired": 0, "disabled": 0}),
        "the dashboard's counts follow"
    );
}

/// Paging while the list changes: the item a cursor points after leaves the
/// index between pages (a key deleted while paging `status=active`), and
/// nothing is skipped or repeated; a cursor reused with another filter is
/// still a position in time order; a cursor of another list is refused.
async fn cursors_survive_deletes_between_pages_and_refuse_other_lists(app: &TestApp) {
    let dev = Role::Developer;
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(
            app.create_key(dev).await["api_key"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    // Newest first: made[4], made[3] | made[2], made[1] | made[0].
    let first = app
        .get("/v1/api-keys?status=active&limit=2", dev)
        .await
        .json();
    let page_ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|k| k["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(page_ids(&first), [made[4].clone(), made[3].clone()]);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();

    // The key the cursor points after leaves `status=active` meanwhile.
    let deleted = app.delete_key(&made[3], dev).await;
    assert_eq!(deleted.status, 204);
    let second = app
        .get(
            &format!("/v1/api-keys?status=active&limit=2&cursor={cursor}"),
            dev,
        )
        .await
        .json();
    assert_eq!(
        page_ids(&second),
        [made[2].clone(), made[1].clone()],
        "nothing skipped or repeated"
    );
    let rest = second["next_cursor"].as_str().expect("a last page");
    let third = app
        .get(
            &format!("/v1/api-keys?status=active&limit=2&cursor={rest}"),
            dev,
        )
        .await
        .json();
    assert_eq!(page_ids(&third), [made[0].clone()]);
    assert_eq!(third["next_cursor"], Value::Null);

    // The same cursor with another filter: a position in time, still older keys only.
    let other_filter = app
        .get(&format!("/v1/api-keys?status=deleted&cursor={cursor}"), dev)
        .await;
    assert_eq!(other_filter.status, 200, "{}", other_filter.text);
    assert!(
        page_ids(&other_filter.json())
            .iter()
            .all(|id| id < &made[3])
    );
    // A cursor of another list names another kind of object: refused, not misread.
    let applications = app.get("/v1/applications?limit=1", dev).await.json();
    let application_cursor = applications["next_cursor"]
        .as_str()
        .expect("two applications");
    let mixed = app
        .get(&format!("/v1/api-keys?cursor={application_cursor}"), dev)
        .await;
    assert_eq!(mixed.status, 400, "{}", mixed.text);
    assert_eq!(mixed.field().as_deref(), Some("cursor"));
}
