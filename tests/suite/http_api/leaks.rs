//! An access key exists in plaintext only in its create response: put freshly
//! created keys everywhere a careless client might, then find them in no log
//! line and no later response.

use base64::Engine;
use domain::Role;
use serde_json::json;

use super::helpers::{TestApp, captured_logs, on_both_stores};

on_both_stores!(
    only_the_hash_of_an_access_key_reaches_the_store,
    access_keys_reach_no_log_and_no_later_response,
    service_keys_reach_no_log_no_store_and_no_later_response,
    a_keys_meta_and_owner_reach_no_log_and_its_answers_no_secret,
);

/// `meta` and `external_id` are the customer's data: returned where the key
/// is (reads, `VALID` verdicts), never logged. And an access key pasted where
/// a permission query or a permission goes is refused without being repeated.
async fn a_keys_meta_and_owner_reach_no_log_and_its_answers_no_secret(app: &TestApp) {
    let marker = format!("meta-marker-{}", uuid::Uuid::now_v7().simple());
    let owner = format!("owner-marker-{}", uuid::Uuid::now_v7().simple());
    let body = json!({
        "application_id": app.demo.application_id, "arx_id": app.demo.arx_id,
        "permissions": ["documents.read"], "external_id": owner, "meta": {"customer": marker},
    });
    let created = app.post("/v1/api-keys", Role::Developer, &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    let id = created["api_key"]["id"].as_str().expect("an id").to_owned();
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let secret = &key[key.len() - 36..key.len() - 6];
    let verifier = app.token(Role::Verifier);
    let mut answers = Vec::new();
    for query in ["documents.read", key.as_str()] {
        let ask = json!({"key": key, "permissions": query}).to_string();
        answers.push(
            app.call("POST", "/v1/verify", Some(&verifier), Some(&ask))
                .await,
        );
    }
    let changed_marker = format!("{marker}-changed");
    let patch = json!({"meta": {"customer": changed_marker}, "permissions": [key.clone()]});
    let owner_token = app.token(Role::PlatformOwner);
    let path = format!("/v1/api-keys/{id}");
    answers.push(
        app.call("PATCH", &path, Some(&owner_token), Some(&patch.to_string()))
            .await,
    );
    let patch = json!({"meta": {"customer": changed_marker}});
    answers.push(
        app.call("PATCH", &path, Some(&owner_token), Some(&patch.to_string()))
            .await,
    );
    answers.push(app.get(&path, Role::Developer).await);
    answers.push(
        app.get(
            &format!("/v1/api-keys?external_id={owner}"),
            Role::Developer,
        )
        .await,
    );
    let valid = &answers[0];
    assert!(
        valid.text.contains(&marker),
        "a VALID verdict carries the meta: {}",
        valid.text
    );
    // A key as a query is a name no key holds; as a permission it is refused.
    assert_eq!(
        answers[1].json()["code"],
        "INSUFFICIENT_PERMISSIONS",
        "{}",
        answers[1].text
    );
    assert_eq!(answers[2].status, 400, "{}", answers[2].text);
    assert_eq!(answers[2].field().as_deref(), Some("permissions[0]"));
    assert!(
        answers[3].text.contains(&changed_marker),
        "{}",
        answers[3].text
    );
    for answer in &answers {
        assert!(
            !answer.text.contains(secret),
            "an answer holds the access key: {}",
            answer.text
        );
    }
    // Pasted into the owner or inside the meta, at create: refused too.
    for (more, field) in [
        (json!({"external_id": key}), "external_id"),
        (
            json!({"meta": {"note": format!("the key is {key}.")}}),
            "meta",
        ),
    ] {
        let mut body = body.clone();
        body.as_object_mut()
            .expect("an object")
            .extend(more.as_object().expect("an object").clone());
        let refused = app.post("/v1/api-keys", Role::Developer, &body).await;
        assert_eq!(refused.status, 400, "{}", refused.text);
        assert_eq!(refused.field().as_deref(), Some(field));
        assert!(!refused.text.contains(secret), "{}", refused.text);
    }
    let logs = captured_logs();
    assert!(logs.contains(&id), "the log names the key by its id");
    for private in [marker.as_str(), owner.as_str(), secret] {
        assert!(!logs.contains(private), "the log holds {private}");
    }
}

/// A service key is shown in its create answer alone: used well and badly
/// (as a bearer on routes it may and may not use, pasted as a key to verify,
/// into a path, mangled), revoked, and then looked for everywhere.
async fn service_keys_reach_no_log_no_store_and_no_later_response(app: &TestApp) {
    let owner = app.token(Role::PlatformOwner);
    let created = app
        .post(
            "/v1/service-keys",
            Role::PlatformOwner,
            &json!({"name": "billing job", "role": "platform_admin"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    let secret = created["secret"].as_str().expect("a secret").to_owned();
    let id = created["service_key"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let hidden = &secret[secret.len() - 36..secret.len() - 6];
    let mut answers = Vec::new();
    let body = json!({ "key": secret }).to_string();
    for (method, path, body) in [
        ("GET", "/v1/api-keys".to_owned(), None),
        ("POST", "/v1/verify".to_owned(), Some(body.as_str())),
        ("GET", "/v1/service-keys".to_owned(), None),
        ("GET", format!("/v1/api-keys/{secret}"), None),
        ("GET", format!("/v1/audit-events?actor={secret}"), None),
    ] {
        answers.push(app.call(method, &path, Some(&secret), body).await);
    }
    let mangled = format!("{}x", &secret[..secret.len() - 1]);
    answers.push(app.call("GET", "/v1/api-keys", Some(&mangled), None).await);
    let confirm = json!({ "confirm": id }).to_string();
    let path = format!("/v1/service-keys/{id}");
    answers.push(
        app.call("DELETE", &path, Some(&owner), Some(&confirm))
            .await,
    );
    answers.push(app.call("GET", "/v1/api-keys", Some(&secret), None).await);
    answers.push(app.get("/v1/service-keys", Role::PlatformOwner).await);
    answers.push(
        app.get(
            &format!("/v1/audit-events?object_id={id}"),
            Role::PlatformOwner,
        )
        .await,
    );
    for answer in &answers {
        assert!(
            !answer.text.contains(hidden),
            "a later answer holds the service key: {}",
            answer.text
        );
    }
    let logs = captured_logs();
    assert!(logs.contains(&id), "the log names the key by its id");
    assert!(!logs.contains(hidden), "the log holds a service key");
    let raw = app.raw_store().await;
    assert!(
        raw.contains(&id) && raw.contains("$argon2id$"),
        "the dump holds its records"
    );
    assert!(!raw.contains(hidden), "a service key is stored");
}

/// Create (and rotate) through the HTTP API, then read the store as raw as it
/// is kept: neither access key nor its secret is anywhere in it, while its
/// argon2id hash is (so the dump really holds the key records).
async fn only_the_hash_of_an_access_key_reaches_the_store(app: &TestApp) {
    let created = app.create_key(Role::Developer).await;
    let id = created["api_key"]["id"].as_str().expect("id").to_owned();
    let rotated = app
        .post(
            &format!("/v1/api-keys/{id}/rotate"),
            Role::Developer,
            &json!({"grace_seconds": 60}),
        )
        .await
        .json();
    let raw = app.raw_store().await;
    assert!(raw.contains(&id), "the dump holds the key's records");
    assert!(raw.contains("$argon2id$"), "and their hashes");
    for answer in [&created, &rotated] {
        let key = answer["access_key"].as_str().expect("an access key");
        let secret = &key[key.len() - 36..key.len() - 6];
        assert!(!raw.contains(key), "an access key is stored");
        assert!(!raw.contains(secret), "an access key's secret is stored");
    }
}

async fn access_keys_reach_no_log_and_no_later_response(app: &TestApp) {
    let owner = app.token(Role::PlatformOwner);
    let (application_id, arx_id) = (
        app.demo.application_id.to_string(),
        app.demo.arx_id.to_string(),
    );
    let mut keys = Vec::new();
    for role in Role::PEOPLE {
        let created = app.create_key(role).await;
        let id = created["api_key"]["id"].as_str().expect("an id").to_owned();
        let key = created["access_key"]
            .as_str()
            .expect("an access key")
            .to_owned();
        keys.push((id, key));
    }
    // A rotated key's new secret exists in its rotate response alone, and the
    // old one (still working for its grace period) never comes back either.
    let rotated = app
        .post(
            &format!("/v1/api-keys/{}/rotate", keys[0].0),
            Role::Developer,
            &json!({"grace_seconds": 600}),
        )
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let rotated = rotated.json();
    keys.push((
        rotated["api_key"]["id"].as_str().expect("an id").to_owned(),
        rotated["access_key"].as_str().expect("a key").to_owned(),
    ));

    let mut later = Vec::new();
    // Tokens that carry the key, newlines and terminal escapes in the parts a
    // sender writes: the refusal's log line is a fixed code whatever they hold.
    for (_, key) in &keys {
        for token in forged_tokens(key) {
            let response = app.call("GET", "/v1/api-keys", Some(&token), None).await;
            assert_eq!(response.status, 401, "{}", response.text);
            later.push(response.text);
        }
    }
    for (id, key) in &keys {
        let misuse: Vec<(&str, String, Option<&str>, String)> = vec![
            ("GET", "/v1/api-keys".into(), Some(key), String::new()),
            (
                "GET",
                format!("/v1/api-keys/{key}"),
                Some(&owner),
                String::new(),
            ),
            (
                "DELETE",
                format!("/v1/api-keys/{key}"),
                Some(&owner),
                json!({"confirm": key}).to_string(),
            ),
            (
                "DELETE",
                format!("/v1/api-keys/{id}"),
                Some(&owner),
                json!({"confirm": key}).to_string(),
            ),
            (
                "POST",
                format!("/v1/api-keys/{key}/rotate"),
                Some(&owner),
                String::new(),
            ),
            (
                "POST",
                format!("/v1/api-keys/{id}/rotate"),
                Some(&owner),
                json!({"grace_seconds": key}).to_string(),
            ),
            (
                "GET",
                format!("/v1/api-keys?cursor={key}"),
                Some(&owner),
                String::new(),
            ),
            (
                "GET",
                format!("/v1/api-keys?application_id={key}&status={key}"),
                Some(&owner),
                String::new(),
            ),
            (
                "GET",
                format!("/v1/api-keys?{key}=1"),
                Some(&owner),
                String::new(),
            ),
            (
                "POST",
                "/v1/api-keys".into(),
                Some(&owner),
                json!({"application_id": key, "arx_id": key}).to_string(),
            ),
            (
                "POST",
                "/v1/api-keys".into(),
                Some(&owner),
                json!({"application_id": application_id, "arx_id": arx_id, "expires_at": key})
                    .to_string(),
            ),
            (
                "POST",
                "/v1/api-keys".into(),
                Some(&owner),
                json!({"application_id": application_id, "arx_id": arx_id, "name": [key]})
                    .to_string(),
            ),
            (
                "POST",
                "/v1/feedback".into(),
                Some(&owner),
                json!({"message": "hi", "rating": key}).to_string(),
            ),
            (
                "POST",
                "/v1/feedback".into(),
                Some(&owner),
                json!({key: "hi"}).to_string(),
            ),
            (
                "POST",
                "/v1/applications".into(),
                Some(&owner),
                json!({"name": "n", "technology": key}).to_string(),
            ),
            (
                "POST",
                "/v1/applications".into(),
                Some(&owner),
                json!({"name": "n", "technology": "client", "cors_origins": [key]}).to_string(),
            ),
            (
                "PATCH",
                format!("/v1/applications/{application_id}"),
                Some(&owner),
                json!({"name": 1, key: 1}).to_string(),
            ),
            (
                "POST",
                "/v1/arx".into(),
                Some(&owner),
                json!({"name": "n", "purpose": key}).to_string(),
            ),
            (
                "POST",
                "/v1/api-keys".into(),
                Some(&owner),
                format!("{{\"name\": \"{key}"),
            ),
            (
                key.as_str(),
                "/v1/api-keys".into(),
                Some(&owner),
                String::new(),
            ),
        ];
        for (method, path, token, body) in misuse {
            let response = app.call(method, &path, token, Some(&body)).await;
            assert!(
                response.status >= 400,
                "{method} {path} was accepted: {}",
                response.text
            );
            later.push(response.text);
        }
    }
    // Verified, as a service would, and misused on the verify route: the key
    // is in the request every time and in no answer or log line.
    let verifier = app.token(Role::Verifier);
    for (_, key) in &keys {
        for (token, body) in [
            (&verifier, json!({ "key": key })),
            (&owner, json!({ "key": key })),
            (&app.token(Role::Developer), json!({ "key": key })),
            (&verifier, json!({ "key": [key] })),
            (&verifier, json!({ "key": "x", key: key })),
            (&verifier, json!({ "key": format!("{key}x") })),
        ] {
            let response = app
                .call("POST", "/v1/verify", Some(token), Some(&body.to_string()))
                .await;
            later.push(response.text);
        }
    }
    // And every readable route once more, as a normal client would.
    let reads = [
        "/v1/api-keys".to_owned(),
        format!("/v1/api-keys/{}", keys[0].0),
        format!("/v1/api-keys/{}", keys[3].0),
        "/v1/applications".to_owned(),
        format!("/v1/applications/{application_id}"),
        "/v1/arx".to_owned(),
        format!("/v1/arx/{arx_id}"),
    ];
    for path in reads {
        later.push(app.call("GET", &path, Some(&owner), None).await.text);
    }

    let logs = captured_logs();
    assert!(logs.contains("api key created"), "the log capture works");
    assert!(logs.contains("request denied"), "the refusals were logged");
    assert!(!logs.contains("FORGED"), "a token's text reached the log");
    assert!(
        !logs.contains('\u{1b}'),
        "a terminal escape reached the log"
    );
    for (_, key) in &keys {
        let secret = &key[key.len() - 36..key.len() - 6];
        assert!(!logs.contains(secret), "an access key reached the log");
        for text in &later {
            assert!(
                !text.contains(secret),
                "an access key came back in a response: {text}"
            );
        }
    }
}

/// Tokens whose header or claims hold `key`, a newline that would start a
/// forged log line, and an ANSI escape: a bad algorithm name, an unknown
/// `kid`, a duplicate claim, a signature made with another secret.
fn forged_tokens(key: &str) -> Vec<String> {
    let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    let forged = format!("\n2026-01-01T00:00:00Z  INFO FORGED admin signed in \u{1b}[31m{key}");
    let header = |header: serde_json::Value| b64(&header.to_string());
    let claims = b64(&super::helpers::claims("demo", "developer").to_string());
    let duplicate = b64(&format!(
        r#"{{"sub":"u","custom:role":"{}","custom:role":"platform_owner"}}"#,
        forged.escape_default()
    ));
    vec![
        format!(
            "{}.{claims}.sig",
            header(json!({"alg": forged, "typ": "JWT"}))
        ),
        format!(
            "{}.{claims}.sig",
            header(json!({"alg": "HS256", "kid": forged}))
        ),
        format!(
            "{}.{claims}.sig",
            header(json!({"alg": "HS256", "typ": forged}))
        ),
        format!("{}.{duplicate}.sig", header(json!({"alg": "HS256"}))),
        format!("{}.{}.{}", b64(&forged), b64(&forged), b64(&forged)),
        super::helpers::token_with(
            json!({"sub": forged, "custom:role": forged}),
            "another-secret-another-secret-another",
        ),
    ]
}
