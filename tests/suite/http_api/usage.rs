//! Usage analytics over real HTTP, on both stores: verifies of every
//! outcome give exactly those counts in the buckets of the time they were
//! made, per key and for the tenant by key, application, Arx and outcome;
//! the same as CSV; ranges past their bounds refused naming the field;
//! another tenant sees none of it.

use std::collections::BTreeMap;

use domain::Role;
use serde_json::{Value, json};

use super::helpers::{SECRET, TestApp, claims, on_both_stores, token_with};
use super::verify::code;

on_both_stores!(
    verifies_of_every_outcome_are_counted_exactly_where_they_happened,
    usage_ranges_and_formats_are_refused_past_their_bounds,
);

async fn create_with(app: &TestApp, more: Value) -> (String, String) {
    let mut body = json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id});
    if let (Some(body), Some(more)) = (body.as_object_mut(), more.as_object()) {
        body.extend(more.clone());
    }
    let created = app.post("/v1/api-keys", Role::Developer, &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    (
        created["api_key"]["id"].as_str().expect("an id").to_owned(),
        created["access_key"].as_str().expect("a key").to_owned(),
    )
}

async fn verify_n(app: &TestApp, key: &str, permissions: Option<&str>, n: usize, expected: &str) {
    let token = app.token(Role::Verifier);
    for _ in 0..n {
        let mut body = json!({"key": key});
        if let Some(query) = permissions {
            body["permissions"] = json!(query);
        }
        let answer = app
            .call("POST", "/v1/verify", Some(&token), Some(&body.to_string()))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(code(&answer.json()), expected, "{}", answer.text);
    }
}

/// The counts of a key's buckets, added up, and the starts of those that
/// hold any (a test that crosses an hour splits its counts between two).
fn summed(usage: &Value) -> (BTreeMap<String, u64>, Vec<String>) {
    let mut totals = BTreeMap::new();
    let mut busy = Vec::new();
    for bucket in usage["buckets"].as_array().expect("buckets") {
        if bucket["total"].as_u64().unwrap_or(0) > 0 {
            busy.push(bucket["start"].as_str().expect("a start").to_owned());
        }
        for (outcome, n) in bucket["counts"].as_object().expect("counts") {
            *totals.entry(outcome.clone()).or_default() += n.as_u64().expect("a count");
        }
    }
    (totals, busy)
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

async fn verifies_of_every_outcome_are_counted_exactly_where_they_happened(app: &TestApp) {
    let started = domain::Timestamp::now();
    // A: 2 refused for permissions (no charge), 3 valid, then its credits are spent.
    let (a, key_a) = create_with(
        app,
        json!({"permissions": ["read"], "limits": {"credits": {"remaining": 3}}}),
    )
    .await;
    verify_n(app, &key_a, Some("write"), 2, "INSUFFICIENT_PERMISSIONS").await;
    verify_n(app, &key_a, Some("read"), 3, "VALID").await;
    verify_n(app, &key_a, Some("read"), 2, "USAGE_EXCEEDED").await;
    // B: valid once, then disabled twice.
    let (b, key_b) = create_with(app, json!({})).await;
    verify_n(app, &key_b, None, 1, "VALID").await;
    assert_eq!(
        app.key_action(&b, "disable", Role::PlatformAdmin)
            .await
            .status,
        200
    );
    verify_n(app, &key_b, None, 2, "DISABLED").await;
    // C: one a minute: valid, then rate limited twice.
    let (c, key_c) = create_with(
        app,
        json!({"limits": {"rate": {"requests": 1, "per_seconds": 60}}}),
    )
    .await;
    verify_n(app, &key_c, None, 1, "VALID").await;
    verify_n(app, &key_c, None, 2, "RATE_LIMITED").await;
    // D: deleted, then presented once.
    let (d, key_d) = create_with(app, json!({})).await;
    assert_eq!(app.delete_key(&d, Role::Developer).await.status, 204);
    verify_n(app, &key_d, None, 1, "DELETED").await;
    // Neither names a key of the tenant: not counted anywhere.
    verify_n(app, "akm_not_a_key", None, 3, "MALFORMED").await;
    verify_n(
        app,
        &super::verify::with_other_secret(&key_b),
        None,
        2,
        "NOT_FOUND",
    )
    .await;

    for granularity in ["hour", "day"] {
        let usage = app
            .get(
                &format!("/v1/api-keys/{a}/usage?granularity={granularity}"),
                Role::Developer,
            )
            .await;
        assert_eq!(usage.status, 200, "{}", usage.text);
        let usage = usage.json();
        let (totals, busy) = summed(&usage);
        assert_eq!(
            totals,
            counts(&[
                ("INSUFFICIENT_PERMISSIONS", 2),
                ("VALID", 3),
                ("USAGE_EXCEEDED", 2)
            ]),
            "{granularity}: {usage}"
        );
        assert_eq!(usage["total"], 7);
        assert!(
            !busy.is_empty() && busy.len() <= 2,
            "{granularity}: {busy:?}"
        );
        let step = if granularity == "hour" { 3600 } else { 86_400 };
        let first = domain::Timestamp::from_unix_seconds(started.unix_seconds() / step * step);
        for start in &busy {
            let start = domain::Timestamp::parse(start).expect("a time");
            assert!(
                start >= first,
                "{granularity}: counted before the test began"
            );
        }
    }
    let hours = app
        .get(&format!("/v1/api-keys/{b}/usage"), Role::Developer)
        .await
        .json();
    assert_eq!(
        hours["buckets"].as_array().map(Vec::len),
        Some(24),
        "a day of hours, zeros too"
    );
    assert_eq!(summed(&hours).0, counts(&[("VALID", 1), ("DISABLED", 2)]));
    let by_key = app
        .get("/v1/usage?group_by=key", Role::Developer)
        .await
        .json();
    let groups: Vec<(String, u64)> = by_key["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["id"].as_str().expect("an id").to_owned(),
                g["total"].as_u64().expect("n"),
            )
        })
        .collect();
    let mut expected = vec![
        (a.clone(), 7),
        (b.clone(), 3),
        (c.clone(), 3),
        (d.clone(), 1),
    ];
    expected.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    assert_eq!(groups, expected, "the busiest first: {by_key}");
    assert_eq!(by_key["total"], 14);
    let by_outcome = app
        .get("/v1/usage?group_by=outcome", Role::PlatformOwner)
        .await
        .json();
    assert_eq!(
        by_outcome["totals"],
        json!({"VALID": 5, "INSUFFICIENT_PERMISSIONS": 2, "USAGE_EXCEEDED": 2, "DISABLED": 2,
               "RATE_LIMITED": 2, "DELETED": 1})
    );
    assert_eq!(by_outcome["groups"][0]["id"], "VALID");
    let by_application = app.get("/v1/usage", Role::Developer).await.json();
    assert_eq!(by_application["group_by"], "application");
    assert_eq!(
        by_application["groups"][0]["id"],
        app.demo.application_id.as_str()
    );
    assert_eq!(by_application["groups"][0]["total"], 14);
    let by_arx = app
        .get("/v1/usage?group_by=arx&limit=1", Role::Developer)
        .await
        .json();
    assert_eq!(by_arx["groups"][0]["id"], app.demo.arx_id.as_str());
    assert_eq!(by_arx["truncated"], false);

    // The same as CSV.
    let csv = app
        .get(
            &format!("/v1/api-keys/{a}/usage?format=csv"),
            Role::Developer,
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let mut lines = csv.text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "start,total,VALID,INSUFFICIENT_PERMISSIONS,RATE_LIMITED,USAGE_EXCEEDED,DISABLED,EXPIRED,DELETED,ADDRESS_NOT_ALLOWED,ADDRESS_REPORTED"
        )
    );
    let csv_total: u64 = lines
        .map(|line| {
            line.split(',')
                .nth(1)
                .and_then(|n| n.parse::<u64>().ok())
                .expect("a total")
        })
        .sum();
    assert_eq!(csv_total, 7);
    let groups_csv = app
        .get("/v1/usage?group_by=key&format=csv", Role::Developer)
        .await;
    assert!(
        groups_csv
            .text
            .lines()
            .nth(1)
            .is_some_and(|row| row.starts_with(&format!("{a},7,3,2,0,2,"))),
        "{}",
        groups_csv.text
    );

    // Another tenant: not its key (404), and none of its counts.
    let other = token_with(claims("another-tenant", "developer"), SECRET);
    let theirs = app
        .call(
            "GET",
            &format!("/v1/api-keys/{a}/usage"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.text);
    let theirs = app
        .call("GET", "/v1/usage?group_by=key", Some(&other), None)
        .await
        .json();
    assert_eq!(
        (theirs["total"].clone(), theirs["groups"].clone()),
        (json!(0), json!([]))
    );
}

async fn usage_ranges_and_formats_are_refused_past_their_bounds(app: &TestApp) {
    let (id, _) = create_with(app, json!({})).await;
    let now = domain::Timestamp::now();
    let ago = |days: i64| domain::Timestamp::from_unix_seconds(now.unix_seconds() - days * 86_400);
    let cases = [
        (
            format!("/v1/api-keys/{id}/usage?granularity=week"),
            "granularity",
        ),
        (format!("/v1/api-keys/{id}/usage?format=xml"), "format"),
        (
            format!("/v1/api-keys/{id}/usage?from={}&to={}", ago(1), ago(2)),
            "from",
        ),
        (format!("/v1/api-keys/{id}/usage?from={}", ago(8)), "from"),
        (
            format!("/v1/api-keys/{id}/usage?granularity=day&from={}", ago(401)),
            "from",
        ),
        (format!("/v1/api-keys/{id}/usage?from=yesterday"), "from"),
        ("/v1/usage?group_by=customer".to_owned(), "group_by"),
        ("/v1/usage?limit=0".to_owned(), "limit"),
        ("/v1/usage?limit=1001".to_owned(), "limit"),
        (format!("/v1/usage?from={}", ago(401)), "from"),
        // By key, a call reads at most a week: a day's per-key counts grow
        // with the tenant's keys.
        (format!("/v1/usage?group_by=key&from={}", ago(8)), "from"),
    ];
    for (path, field) in cases {
        let refused = app.get(&path.replace('+', "%2B"), Role::Developer).await;
        assert_eq!(refused.status, 400, "{path}: {}", refused.text);
        assert_eq!(
            refused.field().as_deref(),
            Some(field),
            "{path}: {}",
            refused.text
        );
    }
    // A minute short of a week: the server's clock reads later than `now`
    // (a second ticking over between them made exactly a week too long).
    let week_ago = domain::Timestamp::from_unix_seconds(ago(7).unix_seconds() + 60);
    let week = app
        .get(
            &format!("/v1/api-keys/{id}/usage?from={week_ago}"),
            Role::Developer,
        )
        .await;
    assert_eq!(
        week.status, 200,
        "a week of hours is the most: {}",
        week.text
    );
    // By application, Arx or outcome, 400 days: each day's summary is small.
    for group_by in ["application", "arx", "outcome"] {
        let year = app
            .get(
                &format!("/v1/usage?group_by={group_by}&from={}", ago(399)).replace('+', "%2B"),
                Role::Developer,
            )
            .await;
        assert_eq!(year.status, 200, "{group_by}: {}", year.text);
    }
    let key_week = app
        .get(
            &format!("/v1/usage?group_by=key&from={}", ago(6)).replace('+', "%2B"),
            Role::Developer,
        )
        .await;
    assert_eq!(key_week.status, 200, "{}", key_week.text);
    let unknown = app
        .get(
            "/v1/api-keys/apikey--0123456789abcdef0123456789abcdef/usage",
            Role::Developer,
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
}
