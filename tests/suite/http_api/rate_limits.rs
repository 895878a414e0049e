//! Rate limits for anything over real HTTP, on both stores: namespaces and
//! their overrides (who may do what, audited), checks exact under
//! concurrency, overrides exact and wildcard, `/many` all or nothing, and
//! an identifier never repeated in an answer, an error or a log line.

use domain::Role;
use serde_json::{Value, json};

use super::helpers::{TestApp, TestResponse, captured_logs, on_both_stores};

on_both_stores!(
    namespaces_and_overrides_are_managed_by_owners_and_admins_and_audited,
    concurrent_checks_of_one_identifier_admit_exactly_the_limit,
    many_checks_are_all_or_nothing,
    an_identifier_is_never_repeated_and_bad_checks_are_refused,
    a_namespaces_usage_counts_passed_and_limited_and_who_was_limited,
);

async fn send(app: &TestApp, method: &str, path: &str, role: Role, body: &Value) -> TestResponse {
    let body = (!body.is_null()).then(|| body.to_string());
    app.call(method, path, Some(&app.token(role)), body.as_deref())
        .await
}

/// A namespace `name` of `limit` per `duration` seconds: its id.
pub(crate) async fn create_namespace(
    app: &TestApp,
    name: &str,
    limit: u64,
    duration: u64,
) -> String {
    let body = json!({"name": name, "limit": limit, "duration": duration});
    let created = app
        .post("/v1/ratelimit-namespaces", Role::PlatformAdmin, &body)
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    assert_eq!(created["limit"], limit);
    assert_eq!(created["fail_open"], false);
    created["id"].as_str().expect("an id").to_owned()
}

async fn set_override(app: &TestApp, namespace: &str, identifier: &str, limit: u64) -> Value {
    let body = json!({"identifier": identifier, "limit": limit, "duration": 3600});
    let path = format!("/v1/ratelimit-namespaces/{namespace}/overrides");
    let set = send(app, "PUT", &path, Role::PlatformOwner, &body).await;
    assert_eq!(set.status, 200, "{}", set.text);
    set.json()
}

async fn check(app: &TestApp, body: &Value) -> Value {
    let answer = app.post("/v1/ratelimit", Role::Verifier, body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

/// `n` concurrent checks of `identifier` in `namespace`: how many passed,
/// and the windows (their ends) they fell in.
async fn burst(app: &TestApp, namespace: &str, identifier: &str, n: usize) -> (usize, Vec<String>) {
    let body = json!({"namespace": namespace, "identifier": identifier});
    let checks = (0..n).map(|_| check(app, &body));
    let mut passed = 0;
    let mut windows = Vec::new();
    for answer in futures_util::future::join_all(checks).await {
        passed += usize::from(answer["success"] == true);
        let window = answer["reset_at"].as_str().expect("reset_at").to_owned();
        if !windows.contains(&window) {
            windows.push(window);
        }
    }
    (passed, windows)
}

/// What a burst admits within one window: run again if it straddled two
/// (a minute's end fell inside it), which can happen once in a while.
async fn admitted_in_one_window(
    app: &TestApp,
    namespace: &str,
    identifier: &str,
    n: usize,
) -> usize {
    for attempt in 0..3 {
        let identifier = format!("{identifier}-{attempt}");
        let (passed, windows) = burst(app, namespace, &identifier, n).await;
        if windows.len() == 1 {
            return passed;
        }
    }
    panic!("three bursts each straddled two windows");
}

async fn namespaces_and_overrides_are_managed_by_owners_and_admins_and_audited(app: &TestApp) {
    let body = json!({"name": "login", "limit": 5, "duration": 60});
    let refused = app
        .post("/v1/ratelimit-namespaces", Role::Developer, &body)
        .await;
    assert_eq!(
        refused.status, 403,
        "developers read namespaces, never make them"
    );
    let refused = app
        .post("/v1/ratelimit-namespaces", Role::Verifier, &body)
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    let id = create_namespace(app, "login", 5, 60).await;
    let again = app
        .post("/v1/ratelimit-namespaces", Role::PlatformOwner, &body)
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.json()["code"], "namespace_exists");
    for (bad, field) in [
        (json!({"name": "a b", "limit": 5, "duration": 60}), "name"),
        (json!({"name": "x", "limit": 0, "duration": 60}), "limit"),
        (
            json!({"name": "x", "limit": 5, "duration": 86_401}),
            "duration",
        ),
    ] {
        let answer = app
            .post("/v1/ratelimit-namespaces", Role::PlatformOwner, &bad)
            .await;
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text);
        assert_eq!(answer.field().as_deref(), Some(field), "{bad}");
    }

    let listed = app.get("/v1/ratelimit-namespaces", Role::Developer).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json()["items"][0]["name"], "login");
    let path = format!("/v1/ratelimit-namespaces/{id}");
    let changed = send(
        app,
        "PATCH",
        &path,
        Role::PlatformAdmin,
        &json!({"fail_open": true}),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json()["fail_open"], true);
    assert_eq!(
        changed.json()["limit"],
        5,
        "what the change did not name stays"
    );

    let overrides = format!("{path}/overrides");
    let set = set_override(app, &id, "*@example.com", 50).await;
    assert_eq!(set["items"][0]["identifier"], "*@example.com");
    set_override(app, &id, "*@example.com", 60).await;
    let listed = app.get(&overrides, Role::Developer).await;
    assert_eq!(
        listed.json()["items"],
        json!([{"identifier": "*@example.com", "limit": 60,
        "duration": 3600, "updated_at": listed.json()["items"][0]["updated_at"]}])
    );
    let by_developer = send(
        app,
        "PUT",
        &overrides,
        Role::Developer,
        &json!({"identifier": "x", "limit": 1, "duration": 1}),
    )
    .await;
    assert_eq!(by_developer.status, 403, "{}", by_developer.text);
    let gone = send(
        app,
        "DELETE",
        &overrides,
        Role::PlatformAdmin,
        &json!({"identifier": "nobody"}),
    )
    .await;
    assert_eq!(gone.status, 404, "{}", gone.text);
    let removed = send(
        app,
        "DELETE",
        &overrides,
        Role::PlatformAdmin,
        &json!({"identifier": "*@example.com"}),
    )
    .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.json()["items"], json!([]));

    let events = app
        .get(
            &format!("/v1/audit-events?object_id={id}"),
            Role::PlatformOwner,
        )
        .await;
    assert_eq!(events.status, 200, "{}", events.text);
    let actions: Vec<String> = events.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|event| event["action"].as_str().expect("an action").to_owned())
        .collect();
    assert_eq!(
        actions,
        [
            "rate_limit_override_removed",
            "rate_limit_override_set",
            "rate_limit_override_set",
            "rate_limit_namespace_updated",
            "rate_limit_namespace_created",
        ]
    );

    let deleted = send(app, "DELETE", &path, Role::PlatformAdmin, &Value::Null).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let after = app
        .post(
            "/v1/ratelimit",
            Role::Verifier,
            &json!({"namespace": "login", "identifier": "a"}),
        )
        .await;
    assert_eq!(
        after.status, 422,
        "a deleted namespace checks nothing: {}",
        after.text
    );
    assert_eq!(after.field().as_deref(), Some("namespace"));
}

async fn concurrent_checks_of_one_identifier_admit_exactly_the_limit(app: &TestApp) {
    let id = create_namespace(app, "api", 100, 60).await;
    assert_eq!(
        admitted_in_one_window(app, "api", "203.0.113.7", 300).await,
        100
    );

    // An exact override, and a pattern that applies only to what it fits.
    set_override(app, &id, "vip", 5).await;
    set_override(app, &id, "10.0.*", 7).await;
    assert_eq!(
        burst(app, "api", "vip", 300).await.0,
        5,
        "the override's own number"
    );
    assert_eq!(
        burst(app, "api", "10.0.3.4", 300).await.0,
        7,
        "the pattern's"
    );
    assert_eq!(
        admitted_in_one_window(app, "api", "10.1.3.4", 300).await,
        100,
        "a pattern applies to what it fits only"
    );

    // An answer says what is left and when it starts afresh.
    let answer = check(
        app,
        &json!({"namespace": "api", "identifier": "fresh", "cost": 3}),
    )
    .await;
    assert_eq!(answer["success"], true);
    assert_eq!(answer["limit"], 100);
    assert_eq!(answer["remaining"], 97);
    let reset_after = answer["reset_after"].as_u64().expect("reset_after");
    assert!((1..=60).contains(&reset_after), "{answer}");
    let peek = check(
        app,
        &json!({"namespace": "api", "identifier": "fresh", "cost": 0}),
    )
    .await;
    assert_eq!(peek["remaining"], 97, "a cost of 0 spends nothing");
    let own = check(
        app,
        &json!({"namespace": "api", "identifier": "own", "limit": 2, "duration": 10}),
    )
    .await;
    assert_eq!(
        (own["limit"].as_u64(), own["remaining"].as_u64()),
        (Some(2), Some(1))
    );
    let too_dear = check(
        app,
        &json!({"namespace": "api", "identifier": "own", "limit": 2, "duration": 10, "cost": 2}),
    )
    .await;
    assert_eq!(too_dear["success"], false);
}

async fn many_checks_are_all_or_nothing(app: &TestApp) {
    create_namespace(app, "sms", 1, 3600).await;
    create_namespace(app, "sms.day", 3, 86_400).await;
    let both = json!({"checks": [
        {"namespace": "sms.day", "identifier": "+15550100"},
        {"namespace": "sms", "identifier": "+15550100"},
    ]});
    let first = app.post("/v1/ratelimit/many", Role::Verifier, &both).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let first = first.json();
    assert_eq!(first["success"], true, "{first}");
    assert_eq!(first["results"][0]["remaining"], 2);
    let second = app
        .post("/v1/ratelimit/many", Role::Verifier, &both)
        .await
        .json();
    assert_eq!(second["success"], false, "{second}");
    assert_eq!(second["results"][1]["remaining"], 0, "the one that refused");
    assert_eq!(
        second["results"][0]["remaining"], 2,
        "the day's limit was not spent by a refused check"
    );
    let day = check(
        app,
        &json!({"namespace": "sms.day", "identifier": "+15550100", "cost": 0}),
    )
    .await;
    assert_eq!(day["remaining"], 2);
    for bad in [
        json!({"checks": []}),
        json!({"checks": vec![json!({"namespace": "sms", "identifier": "x"}); 11]}),
    ] {
        let answer = app.post("/v1/ratelimit/many", Role::Verifier, &bad).await;
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert_eq!(answer.field().as_deref(), Some("checks"));
    }
}

async fn an_identifier_is_never_repeated_and_bad_checks_are_refused(app: &TestApp) {
    create_namespace(app, "reset", 2, 60).await;
    let secret = "someone.private@example.org";
    let answer = app
        .post(
            "/v1/ratelimit",
            Role::Verifier,
            &json!({"namespace": "reset", "identifier": secret}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(!answer.text.contains(secret), "{}", answer.text);
    let by_person = app
        .post(
            "/v1/ratelimit",
            Role::Developer,
            &json!({"namespace": "reset", "identifier": secret}),
        )
        .await;
    assert_eq!(by_person.status, 403, "a developer's token checks nothing");
    let long = format!("{secret}{}", "x".repeat(300));
    for (body, field) in [
        (
            json!({"namespace": "reset", "identifier": long}),
            "identifier",
        ),
        (
            json!({"namespace": "reset", "identifier": format!("{secret}\n")}),
            "identifier",
        ),
        (
            json!({"namespace": "reset", "identifier": ""}),
            "identifier",
        ),
        (
            json!({"namespace": "reset", "identifier": secret, "cost": 1001}),
            "cost",
        ),
        (
            json!({"namespace": "reset", "identifier": secret, "limit": 0}),
            "limit",
        ),
        (
            json!({"namespace": "nowhere", "identifier": secret}),
            "namespace",
        ),
        (
            json!({"namespace": "reset", "identifier": secret, "extra": 1}),
            "extra",
        ),
    ] {
        let answer = app.post("/v1/ratelimit", Role::Verifier, &body).await;
        assert!(
            matches!(answer.status, 400 | 422),
            "{body}: {}",
            answer.text
        );
        assert_eq!(answer.field().as_deref(), Some(field), "{}", answer.text);
        assert!(!answer.text.contains(secret), "{}", answer.text);
    }
    assert!(
        !captured_logs().contains(secret),
        "an identifier in the logs"
    );
}

async fn a_namespaces_usage_counts_passed_and_limited_and_who_was_limited(app: &TestApp) {
    let id = create_namespace(app, "exports", 2, 3600).await;
    for (who, times) in [
        ("heavy@example.org", 6),
        ("light@example.org", 3),
        ("once@example.org", 1),
    ] {
        for _ in 0..times {
            check(app, &json!({"namespace": "exports", "identifier": who})).await;
        }
    }
    let usage = app
        .get(
            &format!("/v1/ratelimit-namespaces/{id}/usage"),
            Role::Developer,
        )
        .await;
    assert_eq!(usage.status, 200, "{}", usage.text);
    let usage = usage.json();
    assert_eq!(usage["namespace_id"], id.as_str());
    assert_eq!(usage["totals"], json!({"PASSED": 5, "LIMITED": 5}));
    assert_eq!(usage["buckets"].as_array().map(Vec::len), Some(24));
    assert_eq!(
        usage["top_limited"],
        json!([{"identifier": "heavy@example.org", "limited": 4},
            {"identifier": "light@example.org", "limited": 1}])
    );
    let csv = app
        .get(
            &format!("/v1/ratelimit-namespaces/{id}/usage?granularity=day&format=csv"),
            Role::Developer,
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(
        csv.text.starts_with("start,total,PASSED,LIMITED\n"),
        "{}",
        csv.text
    );
    assert!(csv.text.trim_end().ends_with(",10,5,5"), "{}", csv.text);
    let unknown = app
        .get(
            &format!(
                "/v1/ratelimit-namespaces/{}/usage",
                domain::NamespaceId::new()
            ),
            Role::Developer,
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
}
