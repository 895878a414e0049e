//! IP allowlists over real HTTP, on both stores: v4 and v6 addresses inside
//! and outside ranges, the edges, mapped addresses, report mode, a key
//! without one unaffected; set at create, changed by owners and admins,
//! carried by rotation; a refusal never charged; a leaked key with a list
//! still disabled.

use domain::Role;
use serde_json::{Value, json};

use super::helpers::{TestApp, on_both_stores};
use super::verify::code;

on_both_stores!(
    an_enforced_list_admits_its_addresses_and_refuses_the_rest,
    a_report_only_list_lets_through_and_says_so,
    allowlists_are_set_changed_carried_and_refused_when_bad,
    a_leaked_key_with_an_allowlist_is_still_disabled,
);

async fn create_with(app: &TestApp, more: Value) -> (String, String) {
    let mut body = json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id});
    if let (Some(body), Some(more)) = (body.as_object_mut(), more.as_object()) {
        body.extend(more.clone());
    }
    let created = app.post("/v1/api-keys", Role::PlatformAdmin, &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    (
        created["api_key"]["id"].as_str().expect("an id").to_owned(),
        created["access_key"].as_str().expect("a key").to_owned(),
    )
}

async fn verify_from(app: &TestApp, key: &str, ip: Option<&str>) -> Value {
    let mut body = json!({"key": key});
    if let Some(ip) = ip {
        body["ip"] = json!(ip);
    }
    let answer = app.post("/v1/verify", Role::Verifier, &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

async fn an_enforced_list_admits_its_addresses_and_refuses_the_rest(app: &TestApp) {
    let (id, key) = create_with(
        app,
        json!({"allowlist": {"entries": ["203.0.113.0/24", "2001:db8::1/128", "198.51.100.7"]},
            "limits": {"credits": {"remaining": 5}}}),
    )
    .await;
    for (ip, expected) in [
        (Some("203.0.113.0"), "VALID"),
        (Some("203.0.113.255"), "VALID"),
        (Some("203.0.114.0"), "ADDRESS_NOT_ALLOWED"),
        (Some("198.51.100.7"), "VALID"),
        (Some("198.51.100.8"), "ADDRESS_NOT_ALLOWED"),
        (Some("2001:db8::1"), "VALID"),
        (Some("2001:db8::2"), "ADDRESS_NOT_ALLOWED"),
        (Some("::ffff:203.0.113.9"), "VALID"),
        (None, "ADDRESS_NOT_ALLOWED"),
    ] {
        let verdict = verify_from(app, &key, ip).await;
        assert_eq!(code(&verdict), expected, "{ip:?}: {verdict}");
    }
    // Five VALID spent the five credits; the refusals spent none.
    let read = app
        .get(&format!("/v1/api-keys/{id}"), Role::Developer)
        .await
        .json();
    assert_eq!(read["usage"]["credits_remaining"], 0, "{read}");
    assert_eq!(
        read["allowlist"],
        json!({"entries": ["198.51.100.7/32", "203.0.113.0/24", "2001:db8::1/128"], "mode": "enforce"})
    );
    // A key without a list is judged by no address.
    let (_, open) = create_with(app, json!({})).await;
    for ip in [Some("203.0.113.1"), Some("2001:db8::9"), None] {
        assert_eq!(code(&verify_from(app, &open, ip).await), "VALID");
    }
    let bad = app
        .post(
            "/v1/verify",
            Role::Verifier,
            &json!({"key": key, "ip": "not-an-address"}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.field().as_deref(), Some("ip"));
    // /0 admits every address of its family, and none of the other.
    let (_, everyone) = create_with(app, json!({"allowlist": {"entries": ["0.0.0.0/0"]}})).await;
    assert_eq!(
        code(&verify_from(app, &everyone, Some("8.8.8.8")).await),
        "VALID"
    );
    assert_eq!(
        code(&verify_from(app, &everyone, Some("2001:db8::1")).await),
        "ADDRESS_NOT_ALLOWED"
    );
}

async fn a_report_only_list_lets_through_and_says_so(app: &TestApp) {
    let (id, key) = create_with(
        app,
        json!({"allowlist": {"entries": ["10.0.0.0/8"], "mode": "report"}}),
    )
    .await;
    let inside = verify_from(app, &key, Some("10.1.2.3")).await;
    assert_eq!(code(&inside), "VALID");
    assert!(inside.get("would_refuse").is_none(), "{inside}");
    for _ in 0..2 {
        let outside = verify_from(app, &key, Some("192.0.2.1")).await;
        assert_eq!(code(&outside), "VALID", "{outside}");
        assert_eq!(outside["would_refuse"], "ADDRESS_NOT_ALLOWED");
    }
    let usage = app
        .get(
            &format!("/v1/api-keys/{id}/usage?granularity=day"),
            Role::Developer,
        )
        .await
        .json();
    assert_eq!(
        usage["totals"],
        json!({"VALID": 1, "ADDRESS_REPORTED": 2}),
        "{usage}"
    );
}

async fn allowlists_are_set_changed_carried_and_refused_when_bad(app: &TestApp) {
    let (id, key) = create_with(app, json!({"allowlist": {"entries": ["203.0.113.0/24"]}})).await;
    let patch = |role: Role, body: Value| {
        let path = format!("/v1/api-keys/{id}");
        async move {
            app.call(
                "PATCH",
                &path,
                Some(&app.token(role)),
                Some(&body.to_string()),
            )
            .await
        }
    };
    let refused = patch(
        Role::Developer,
        json!({"allowlist": {"entries": ["192.0.2.0/24"]}}),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    let bad = patch(
        Role::PlatformAdmin,
        json!({"allowlist": {"entries": ["192.0.2.0/24", "192.0.2.0/33"]}}),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(
        bad.field()
            .is_some_and(|field| field.starts_with("allowlist.entries")),
        "the entry is named: {}",
        bad.text
    );
    let changed = patch(
        Role::PlatformOwner,
        json!({"allowlist": {"entries": ["192.0.2.0/24"], "mode": "report"}}),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(
        code(&verify_from(app, &key, Some("203.0.113.1")).await),
        "VALID",
        "report only now"
    );
    let audit = app
        .get(
            &format!("/v1/audit-events?object_id={id}"),
            Role::PlatformOwner,
        )
        .await
        .json();
    let detail = audit["items"][0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("allowlist set to 1 entry (192.0.2.0/24), report only")
            && detail.contains("was 1 entry (203.0.113.0/24), enforced"),
        "{detail}"
    );
    // Rotation carries it over, or replaces it when asked.
    let rotated = app
        .post(
            &format!("/v1/api-keys/{id}/rotate"),
            Role::Developer,
            &json!({}),
        )
        .await
        .json();
    assert_eq!(
        rotated["api_key"]["allowlist"]["entries"],
        json!(["192.0.2.0/24"])
    );
    let next = rotated["api_key"]["id"].as_str().expect("an id").to_owned();
    let again = app
        .post(
            &format!("/v1/api-keys/{next}/rotate"),
            Role::Developer,
            &json!({"allowlist": null}),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.json()["api_key"]["allowlist"], Value::Null);
    let removed = patch(Role::PlatformAdmin, json!({"allowlist": null})).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.json()["allowlist"], Value::Null);
    let empty = app
        .post(
            "/v1/api-keys",
            Role::Developer,
            &json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id,
                "allowlist": {"entries": []}}),
        )
        .await;
    assert_eq!(
        empty.status, 400,
        "an empty list is no list: {}",
        empty.text
    );
}

async fn a_leaked_key_with_an_allowlist_is_still_disabled(app: &TestApp) {
    let (id, key) = create_with(app, json!({"allowlist": {"entries": ["203.0.113.0/24"]}})).await;
    let body = super::leak_reports::report(&[&key]);
    let answer = super::leak_reports::signed(app, &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let read = app
        .get(&format!("/v1/api-keys/{id}"), Role::Developer)
        .await
        .json();
    assert_eq!(read["status"], "disabled");
    assert_eq!(read["disabled_reason"], "leaked");
    assert_eq!(
        code(&verify_from(app, &key, Some("203.0.113.1")).await),
        "DISABLED",
        "from inside its list too"
    );
}
