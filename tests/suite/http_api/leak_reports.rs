//! `POST /v1/leaks/github` over real HTTP, on both stores, with reports signed
//! by a locally generated P-256 key that a local keys document publishes, as
//! GitHub's secret scanning does.

use domain::Role;
use serde_json::{Value, json};

use super::helpers::{
    GITHUB_KEY_ID, SECRET, TestApp, captured_logs, claims, github_signature, on_both_stores,
    token_with,
};
use super::verify::{code, verify, with_other_secret};

on_both_stores!(
    a_signed_report_disables_a_live_key_at_once_and_records_where,
    a_signed_report_revokes_a_leaked_service_key,
    unsigned_tampered_or_unknown_signatures_are_401_and_change_nothing,
    a_replayed_report_does_nothing,
    garbage_is_a_false_positive_and_bad_reports_are_400,
    a_signed_report_of_an_imported_key_disables_it,
);

const LEAK_PATH: &str = "/v1/leaks/github";
const FOUND_AT: &str = "https://github.com/octo/demo/blob/0a1b2c/config/.env";

pub(super) fn report(tokens: &[&str]) -> String {
    let found: Vec<Value> = tokens
        .iter()
        .map(|token| {
            json!({"token": token, "type": "api_keys_manager_access_key", "url": FOUND_AT, "source": "content"})
        })
        .collect();
    Value::Array(found).to_string()
}

/// Posts `body` with the given signature headers (`None`: left out).
async fn post_report(
    app: &TestApp,
    body: &str,
    key_identifier: Option<&str>,
    signature: Option<&str>,
) -> super::helpers::TestResponse {
    let mut request = hyper::Request::post(format!("{}{LEAK_PATH}", app.base))
        .header("content-type", "application/json");
    if let Some(identifier) = key_identifier {
        request = request.header("Github-Public-Key-Identifier", identifier);
    }
    if let Some(signature) = signature {
        request = request.header("Github-Public-Key-Signature", signature);
    }
    let request = request
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_owned(),
        )))
        .expect("a request");
    app.send(request).await
}

pub(super) async fn signed(app: &TestApp, body: &str) -> super::helpers::TestResponse {
    post_report(
        app,
        body,
        Some(GITHUB_KEY_ID),
        Some(&github_signature(body.as_bytes())),
    )
    .await
}

fn sha256_hex(text: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The event of `action` in the audit log of the object `id`.
async fn audit_event(app: &TestApp, id: &str, action: &str) -> Value {
    let audit = app
        .get(
            &format!("/v1/audit-events?object_id={id}"),
            Role::PlatformOwner,
        )
        .await
        .json();
    audit["items"]
        .as_array()
        .expect("events")
        .iter()
        .find(|event| event["action"] == action)
        .unwrap_or_else(|| panic!("no {action} event: {audit}"))
        .clone()
}

async fn a_key(app: &TestApp) -> (String, String) {
    let created = app.create_key(Role::Developer).await;
    (
        created["api_key"]["id"].as_str().expect("an id").to_owned(),
        created["access_key"].as_str().expect("a key").to_owned(),
    )
}

async fn a_signed_report_revokes_a_leaked_service_key(app: &TestApp) {
    let created = app
        .post(
            "/v1/service-keys",
            Role::PlatformOwner,
            &json!({"name": "ci", "role": "verifier"}),
        )
        .await
        .json();
    let secret = created["secret"].as_str().expect("a secret").to_owned();
    let id = created["service_key"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let (_, key) = a_key(app).await;
    let body = json!({ "key": key }).to_string();
    let verified = app
        .call("POST", "/v1/verify", Some(&secret), Some(&body))
        .await;
    assert_eq!(verified.status, 200, "it works before: {}", verified.text);
    let forged = with_other_secret(&secret);
    let report_body = report(&[&secret, &forged]);
    let answered = signed(app, &report_body).await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    let labels: Vec<Value> = answered.json().as_array().expect("labels").clone();
    assert_eq!(labels[0]["label"], "true_positive");
    assert_eq!(
        labels[1]["label"], "false_positive",
        "a forged secret is not ours"
    );
    assert!(!answered.text.contains(&secret));
    // Revoked at once on this server; the next request with it is refused.
    let refused = app
        .call("POST", "/v1/verify", Some(&secret), Some(&body))
        .await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    let listed = app
        .get("/v1/service-keys", Role::PlatformOwner)
        .await
        .json();
    let item = &listed["items"][0];
    assert_eq!(item["status"], "revoked");
    assert_eq!(item["revoked_by"], "system:github-secret-scanning");
    let leaked = audit_event(app, &id, "service_key_leaked").await;
    assert_eq!(
        leaked["detail"],
        format!("found in public code at {FOUND_AT} (content)")
    );
    let logs = captured_logs();
    assert!(logs.contains("service key leaked: revoked") && logs.contains(&id));
    assert!(!logs.contains(&secret));
    // The same key reported again (a new report): ours no more, nothing changes.
    let again = signed(app, &report(&[&secret])).await;
    assert_eq!(again.json()[0]["label"], "false_positive", "{}", again.text);
}

async fn a_signed_report_disables_a_live_key_at_once_and_records_where(app: &TestApp) {
    let verifier = app.token(Role::Verifier);
    let (id, key) = a_key(app).await;
    let (_, bystander) = a_key(app).await;
    let forged = with_other_secret(&key);
    let body = report(&[&key, "akm_not_even_close", &forged]);
    let answered = signed(app, &body).await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    assert_eq!(
        answered.json(),
        json!([
            {"token_hash": sha256_hex(&key), "token_type": "api_keys_manager_access_key", "label": "true_positive"},
            {"token_hash": sha256_hex("akm_not_even_close"), "token_type": "api_keys_manager_access_key", "label": "false_positive"},
            {"token_hash": sha256_hex(&forged), "token_type": "api_keys_manager_access_key", "label": "false_positive"},
        ])
    );
    assert!(
        !answered.text.contains(&key),
        "the answer never repeats a token"
    );
    // At once on this server; within the verdict cache's TTL on AWS.
    assert_eq!(code(&verify(app, &verifier, &key).await), "DISABLED");
    assert_eq!(code(&verify(app, &verifier, &bystander).await), "VALID");
    let read = app
        .get(&format!("/v1/api-keys/{id}"), Role::Developer)
        .await
        .json();
    assert_eq!(
        (read["status"].as_str(), read["disabled_reason"].as_str()),
        (Some("disabled"), Some("leaked"))
    );
    let leaked = audit_event(app, &id, "api_key_leaked").await;
    assert_eq!(
        leaked["actor"],
        json!({"kind": "system", "id": "github-secret-scanning", "role": null})
    );
    assert_eq!(
        leaked["detail"],
        format!("found in public code at {FOUND_AT} (content)")
    );
    // The notice (the log, on the dev server) names the key, never the token.
    let logs = captured_logs();
    assert!(logs.contains("API key leaked: disabled") && logs.contains(&id));
    assert!(!logs.contains(&key) && !logs.contains(FOUND_AT));
    // Enabled again by an owner, it works, and forgets why it was disabled.
    let enabled = app.key_action(&id, "enable", Role::PlatformOwner).await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    assert_eq!(enabled.json()["disabled_reason"], Value::Null);
    assert_eq!(code(&verify(app, &verifier, &key).await), "VALID");
}

async fn unsigned_tampered_or_unknown_signatures_are_401_and_change_nothing(app: &TestApp) {
    let verifier = app.token(Role::Verifier);
    let (_, key) = a_key(app).await;
    let body = report(&[&key]);
    let good = github_signature(body.as_bytes());
    let other = github_signature(report(&["akm_something_else"]).as_bytes());
    let tampered = body.replace(FOUND_AT, "https://github.com/elsewhere");
    let owner = token_with(claims(app.demo.tenant.as_str(), "platform_owner"), SECRET);
    let cases: [(&str, &str, Option<&str>, Option<&str>); 6] = [
        ("no headers", &body, None, None),
        ("no signature", &body, Some(GITHUB_KEY_ID), None),
        (
            "another body's signature",
            &body,
            Some(GITHUB_KEY_ID),
            Some(&other),
        ),
        (
            "a tampered body",
            &tampered,
            Some(GITHUB_KEY_ID),
            Some(&good),
        ),
        (
            "an unknown key",
            &body,
            Some("not-a-github-key"),
            Some(&good),
        ),
        (
            "a signature that is not base64",
            &body,
            Some(GITHUB_KEY_ID),
            Some("%%%"),
        ),
    ];
    for (case, body, identifier, signature) in cases {
        let refused = post_report(app, body, identifier, signature).await;
        assert_eq!(refused.status, 401, "{case}: {}", refused.text);
        assert_eq!(refused.json()["code"], "invalid_signature", "{case}");
    }
    // A bearer token is no substitute for GitHub's signature.
    let bearer = app.call("POST", LEAK_PATH, Some(&owner), Some(&body)).await;
    assert_eq!(bearer.status, 401, "{}", bearer.text);
    assert_eq!(code(&verify(app, &verifier, &key).await), "VALID");
    let wrong_method = app.call("GET", LEAK_PATH, None, None).await;
    assert_eq!(wrong_method.status, 405);
}

async fn a_replayed_report_does_nothing(app: &TestApp) {
    let verifier = app.token(Role::Verifier);
    let (id, key) = a_key(app).await;
    let body = report(&[&key]);
    let signature = github_signature(body.as_bytes());
    let first = post_report(app, &body, Some(GITHUB_KEY_ID), Some(&signature)).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(code(&verify(app, &verifier, &key).await), "DISABLED");
    // An owner reviews the leak and enables the key; then the same signed
    // report arrives again, as is or signed afresh: it changes nothing.
    let enabled = app.key_action(&id, "enable", Role::PlatformOwner).await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    let replayed = post_report(app, &body, Some(GITHUB_KEY_ID), Some(&signature)).await;
    assert_eq!(replayed.status, 200, "{}", replayed.text);
    assert_eq!(replayed.json()[0]["label"], "true_positive");
    let resigned = signed(app, &body).await;
    assert_eq!(resigned.status, 200, "{}", resigned.text);
    assert_eq!(code(&verify(app, &verifier, &key).await), "VALID");
    let leaked_events = app
        .get(
            "/v1/audit-events?action=api_key_leaked",
            Role::PlatformOwner,
        )
        .await
        .json()["items"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|event| event["object_id"] == id.as_str())
        .count();
    assert_eq!(
        leaked_events, 1,
        "one leak event, however often the report came"
    );
}

async fn garbage_is_a_false_positive_and_bad_reports_are_400(app: &TestApp) {
    let garbage = [
        "",
        "akm_",
        "x".repeat(5000).as_str(),
        "akm_0123_ü_🔑",
        "\u{202e}akm",
    ]
    .map(str::to_owned);
    let tokens: Vec<&str> = garbage.iter().map(String::as_str).collect();
    let answered = signed(app, &report(&tokens)).await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    let labels = answered.json();
    assert!(
        labels
            .as_array()
            .expect("labels")
            .iter()
            .all(|label| label["label"] == "false_positive"),
        "{labels}"
    );
    for (case, body) in [
        ("not JSON", "{".to_owned()),
        ("not an array", json!({"token": "x"}).to_string()),
        ("too many tokens", report(&vec!["akm_x"; 101])),
    ] {
        let refused = signed(app, &body).await;
        assert_eq!(refused.status, 400, "{case}: {}", refused.text);
    }
}

/// A replayed report is recognised before any token is checked: it gets the
/// answer the report had, with no lookup and no argon2 (a replay of a large
/// report costs what a read of its record costs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_is_answered_from_its_record_without_checking_a_token() {
    use verify::leaks::{GithubKeys, SignedReport, handle};

    let (state, demo, _dir) = super::helpers::embedded_state().await;
    let mut keys = Vec::new();
    for _ in 0..20 {
        let created = super::helpers::create_key_in(&state, &demo).await;
        keys.push(created["access_key"].as_str().expect("a key").to_owned());
    }
    let tokens: Vec<&str> = keys.iter().map(String::as_str).collect();
    let body = report(&tokens);
    let (url, _, _) = super::helpers::document_server(super::helpers::github_keys_document()).await;
    let github = GithubKeys::new(url).expect("a client");
    let signature = github_signature(body.as_bytes());
    let signed = SignedReport {
        key_identifier: Some(GITHUB_KEY_ID),
        signature: Some(&signature),
        body: body.as_bytes(),
    };
    let notifier = notify::LogNotifier;
    let answer = || async {
        let labels = handle(&state.store, &state.verifier, &github, &notifier, signed)
            .await
            .expect("handled");
        serde_json::to_value(labels).expect("JSON")
    };
    let first = answer().await;
    assert_eq!(first.as_array().map(Vec::len), Some(20));
    assert!(
        first
            .as_array()
            .expect("labels")
            .iter()
            .all(|l| l["label"] == "true_positive")
    );
    let runs = state.verifier.hashing.runs();
    let replayed = answer().await;
    assert_eq!(replayed, first, "the same answer");
    assert_eq!(
        state.verifier.hashing.runs(),
        runs,
        "no token was checked again"
    );
}

/// A key the team imported (its old format registered with GitHub for our
/// endpoint) is found by its digest, checked and disabled like ours.
async fn a_signed_report_of_an_imported_key_disables_it(app: &TestApp) {
    let verifier = app.token(Role::Verifier);
    let old = format!("sk_live_leaky_{}", domain::ApiKeyId::new().hex());
    let body = json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id,
        "scheme": "sha256", "keys": [{"hash": sha256_hex(&old)}]});
    let imported = app
        .post("/v1/api-keys/import", Role::PlatformOwner, &body)
        .await;
    assert_eq!(imported.status, 200, "{}", imported.text);
    let id = imported.json()["items"][0]["api_key"]["id"]
        .as_str()
        .expect("imported")
        .to_owned();
    let unknown = format!("sk_live_other_{}", domain::ApiKeyId::new().hex());
    let answered = signed(app, &report(&[&old, &unknown])).await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    let labels: Vec<Value> = answered.json().as_array().expect("labels").clone();
    assert_eq!(labels[0]["label"], "true_positive", "{labels:?}");
    assert_eq!(labels[1]["label"], "false_positive", "{labels:?}");
    assert!(!answered.text.contains(&old));
    assert_eq!(code(&verify(app, &verifier, &old).await), "DISABLED");
    audit_event(app, &id, "api_key_leaked").await;
}
