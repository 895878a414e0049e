//! Bringing keys in, over real HTTP on both stores: keys imported as
//! plaintext and as SHA-256/512 digests verify as they are (wrong ones do
//! not), are rehashed with argon2id at their first match, keep the
//! lifecycle of our own keys, and are imported once; a batch imports its
//! good items and names its bad ones; 100 keys go in one call; a dry run
//! and a CSV file answer as the JSON import does; an `Idempotency-Key`
//! answers a retry with the first answer. No key is ever repeated.

use bytes::Bytes;
use domain::Role;
use http_body_util::Full;
use serde_json::{Value, json};

use super::helpers::{TestApp, TestResponse, captured_logs, on_both_stores};

on_both_stores!(
    imported_keys_verify_as_they_are_and_are_rehashed_at_first_use,
    a_batch_imports_its_good_items_and_names_its_bad_ones,
    a_hundred_keys_import_in_one_call_after_a_dry_run_that_imports_nothing,
    a_csv_file_imports_as_json_does_and_a_retry_is_answered_once,
);

fn sha256(text: &str) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
        .as_ref()
        .to_vec()
}

fn sha512_hex(text: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A key of the team's old format, unique to this run.
fn legacy_key(label: &str) -> String {
    format!("sk_live_{label}_{}", domain::ApiKeyId::new().hex())
}

async fn import(app: &TestApp, query: &str, body: &Value) -> Value {
    let answer = app
        .post(
            &format!("/v1/api-keys/import{query}"),
            Role::PlatformAdmin,
            body,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

fn batch(app: &TestApp, scheme: &str, keys: Value) -> Value {
    json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id,
           "scheme": scheme, "keys": keys})
}

async fn verify(app: &TestApp, key: &str) -> Value {
    let answer = app
        .post("/v1/verify", Role::Verifier, &json!({ "key": key }))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

async fn audited(app: &TestApp, key_id: &str, action: &str) -> usize {
    let path = format!("/v1/audit-events?object_id={key_id}&action={action}");
    let events = app.get(&path, Role::PlatformOwner).await;
    assert_eq!(events.status, 200, "{}", events.text);
    events.json()["items"].as_array().map_or(0, Vec::len)
}

async fn imported_keys_verify_as_they_are_and_are_rehashed_at_first_use(app: &TestApp) {
    // Before anything is imported, a string of another format is refused
    // unread, as malformed, as it always was.
    let plaintext = legacy_key("plain");
    assert_eq!(verify(app, &plaintext).await["code"], "MALFORMED");

    let (sha256_key, sha512_key) = (legacy_key("sha256"), legacy_key("sha512"));
    let answer = import(
        app,
        "",
        &json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id, "keys": [
            {"scheme": "plaintext", "key": plaintext, "name": "plain one", "external_id": "org_1"},
            {"scheme": "sha256", "hash": base64(&sha256(&sha256_key)), "permissions": ["docs.read"]},
            {"scheme": "sha512", "hash": sha512_hex(&sha512_key).to_uppercase(), "meta": {"plan": "pro"}},
        ]}),
    )
    .await;
    assert_eq!(
        (answer["accepted"].as_u64(), answer["refused"].as_u64()),
        (Some(3), Some(0)),
        "{answer}"
    );
    let ids: Vec<String> = answer["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            assert_eq!(item["outcome"], "imported", "{item}");
            assert_eq!(item["api_key"]["imported"], true, "{item}");
            item["api_key"]["id"].as_str().expect("an id").to_owned()
        })
        .collect();

    for (key, id) in [&plaintext, &sha256_key, &sha512_key].into_iter().zip(&ids) {
        let verdict = verify(app, key).await;
        assert_eq!(verdict["code"], "VALID", "{verdict}");
        assert_eq!(verdict["key_id"], id.as_str(), "{verdict}");
        // One character off: not ours, whatever the scheme.
        let mut wrong = key.clone();
        wrong.pop();
        wrong.push('x');
        assert_eq!(verify(app, &wrong).await["code"], "NOT_FOUND");
    }
    let verdict = verify(app, &sha256_key).await;
    assert_eq!(verdict["permissions"], json!(["docs.read"]), "{verdict}");
    let verdict = verify(app, &plaintext).await;
    assert_eq!(verdict["external_id"], "org_1", "{verdict}");

    // The digests were replaced by ours at their first match (and once
    // only); the plaintext was hashed by ours at once.
    assert_eq!(audited(app, &ids[0], "api_key_rehashed").await, 0);
    assert_eq!(audited(app, &ids[1], "api_key_rehashed").await, 1);
    assert_eq!(audited(app, &ids[2], "api_key_rehashed").await, 1);
    assert_eq!(audited(app, &ids[1], "api_key_imported").await, 1);
    assert_eq!(verify(app, &sha512_key).await["code"], "VALID");

    // The same key again is refused, and says why.
    let again = import(
        app,
        "",
        &batch(
            app,
            "sha256",
            json!([{"hash": base64(&sha256(&sha256_key))}]),
        ),
    )
    .await;
    assert_eq!(again["items"][0]["code"], "already_imported", "{again}");

    // The lifecycle of our own keys: disabled, then deleted.
    let disabled = app
        .key_action(&ids[1], "disable", Role::PlatformOwner)
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(verify(app, &sha256_key).await["code"], "DISABLED");
    let deleted = app.delete_key(&ids[0], Role::PlatformOwner).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(verify(app, &plaintext).await["code"], "DELETED");

    // A key of ours is not imported: it is ours already.
    let ours = app.create_key(Role::Developer).await;
    let ours = ours["access_key"].as_str().expect("a key").to_owned();
    let refused = import(app, "", &batch(app, "plaintext", json!([{"key": ours}]))).await;
    assert_eq!(refused["items"][0]["field"], "key", "{refused}");

    let logs = captured_logs();
    for key in [&plaintext, &sha256_key, &sha512_key, &ours] {
        assert!(!logs.contains(key.as_str()), "a key reached the log");
    }
}

async fn a_batch_imports_its_good_items_and_names_its_bad_ones(app: &TestApp) {
    let (good, other) = (legacy_key("good"), legacy_key("other"));
    let answer = import(
        app,
        "",
        &batch(
            app,
            "sha256",
            json!([
                {"hash": base64(&sha256(&good)), "name": "good"},
                {"hash": "not a digest"},
                {"key": other},
                {"hash": base64(&sha256(&good))},
                {"hash": base64(&sha256(&other)), "limits": []},
                {"hash": base64(&sha256(&other)), "expires_at": "2001-01-01T00:00:00Z"},
                {"hash": base64(&sha256(&other)), "status": "disabled", "roles": ["no-such-role"]},
                {"scheme": "django", "hash": "md5$salt$abc", "prefix": "abc"},
                {"scheme": "django", "hash": "pbkdf2_sha256$1000$salt$YWJj"},
            ]),
        ),
    )
    .await;
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert_eq!(answer["refused"], 8, "{answer}");
    let items = answer["items"].as_array().expect("items");
    let refusal = |index: usize| {
        let item = &items[index];
        assert_eq!(item["index"], index, "{item}");
        (
            item["outcome"].as_str().unwrap_or_default().to_owned(),
            item["code"].as_str().unwrap_or_default().to_owned(),
            item["field"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let refused =
        |code: &str, field: &str| ("refused".to_owned(), code.to_owned(), field.to_owned());
    assert_eq!(refusal(0).0, "imported");
    assert_eq!(refusal(1), refused("invalid_field", "hash"));
    assert_eq!(refusal(2), refused("invalid_field", "hash"));
    assert_eq!(refusal(3), refused("duplicate_in_batch", ""));
    assert_eq!(refusal(4), refused("invalid_field", "limits"));
    assert_eq!(refusal(5), refused("invalid_field", "expires_at"));
    assert_eq!(refusal(6), refused("invalid_field", "roles"));
    assert_eq!(refusal(7), refused("invalid_field", "hash"));
    assert_eq!(refusal(8), refused("invalid_field", "prefix"));
    assert!(!answer.to_string().contains(&other), "a key was repeated");
    assert_eq!(verify(app, &good).await["code"], "VALID");
    // Whole-call refusals: none of it is read as keys.
    for (body, status) in [
        (batch(app, "sha256", json!([])), 400),
        (
            json!({"application_id": app.demo.application_id, "arx_id": domain::ArxId::new(), "keys": [{}]}),
            422,
        ),
    ] {
        let refused = app
            .post("/v1/api-keys/import", Role::PlatformOwner, &body)
            .await;
        assert_eq!(refused.status, status, "{}", refused.text);
    }
    let developer = app
        .post(
            "/v1/api-keys/import",
            Role::Developer,
            &batch(app, "sha256", json!([{"hash": "x"}])),
        )
        .await;
    assert_eq!(developer.status, 403, "{}", developer.text);
}

async fn counted(app: &TestApp) -> u64 {
    let list = app.get("/v1/api-keys?limit=1", Role::PlatformOwner).await;
    list.json()["counts"]["total"].as_u64().expect("a count")
}

async fn a_hundred_keys_import_in_one_call_after_a_dry_run_that_imports_nothing(app: &TestApp) {
    let keys: Vec<String> = (0..100).map(|n| legacy_key(&format!("bulk{n}"))).collect();
    let items: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(n, key)| json!({"key": key, "name": format!("bulk {n}")}))
        .collect();
    let body = batch(app, "plaintext", Value::Array(items));
    let before = counted(app).await;
    let dry = import(app, "?dry_run=true", &body).await;
    assert_eq!(
        (dry["dry_run"].as_bool(), dry["accepted"].as_u64()),
        (Some(true), Some(100)),
        "{dry}"
    );
    assert!(
        dry["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["outcome"] == "ready" && i.get("api_key").is_none())
    );
    assert_eq!(counted(app).await, before, "a dry run imports nothing");
    assert_eq!(
        verify(app, &keys[0]).await["code"],
        "MALFORMED",
        "nothing was imported yet"
    );

    let imported = import(app, "", &body).await;
    assert_eq!(imported["accepted"], 100, "{imported}");
    assert_eq!(counted(app).await, before + 100);
    for key in [&keys[0], &keys[57], &keys[99]] {
        assert_eq!(verify(app, key).await["code"], "VALID");
    }
    let mut too_many = body.clone();
    too_many["keys"]
        .as_array_mut()
        .expect("keys")
        .push(json!({"key": legacy_key("one-more")}));
    let refused = app
        .post("/v1/api-keys/import", Role::PlatformOwner, &too_many)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.field().as_deref(), Some("keys"));
}

async fn send_csv(
    app: &TestApp,
    query: &str,
    csv: &str,
    idempotency_key: Option<&str>,
) -> TestResponse {
    let mut request = hyper::Request::post(format!("/v1/api-keys/import?{query}"))
        .header(
            "authorization",
            format!("Bearer {}", app.token(Role::PlatformOwner)),
        )
        .header("content-type", "text/csv; charset=utf-8");
    if let Some(key) = idempotency_key {
        request = request.header("idempotency-key", key);
    }
    app.send(
        request
            .body(Full::new(Bytes::from(csv.to_owned())))
            .expect("a request"),
    )
    .await
}

async fn a_csv_file_imports_as_json_does_and_a_retry_is_answered_once(app: &TestApp) {
    let (a, b) = (legacy_key("csv-a"), legacy_key("csv-b"));
    let csv = format!(
        "hash,name,permissions,meta,status\n\
         {},\"Acme, Inc.\",docs.read docs.write,\"{{\"\"plan\"\": \"\"pro\"\"}}\",active\n\
         {},second,,,disabled\n\
         too-short,bad,,,\n",
        sha512_hex(&a),
        base64(&sha256(&b)).replace('=', "")
    );
    let query = format!(
        "application_id={}&arx_id={}&scheme=sha512",
        app.demo.application_id, app.demo.arx_id
    );
    let dry = send_csv(app, &format!("{query}&dry_run=true"), &csv, None).await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    let dry = dry.json();
    // The second row is a SHA-256 in a SHA-512 file: refused by its length.
    assert_eq!(
        (dry["accepted"].as_u64(), dry["refused"].as_u64()),
        (Some(1), Some(2)),
        "{dry}"
    );

    let first = send_csv(app, &query, &csv, Some("import-1")).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let first = first.json();
    assert_eq!(first["accepted"], 1, "{first}");
    let imported = &first["items"][0]["api_key"];
    assert_eq!(imported["name"], "Acme, Inc.");
    assert_eq!(imported["permissions"], json!(["docs.read", "docs.write"]));
    assert_eq!(imported["meta"], json!({"plan": "pro"}));
    assert_eq!(verify(app, &a).await["code"], "VALID");

    let again = send_csv(app, &query, &csv, Some("import-1")).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let again = again.json();
    assert_eq!(again["replayed"], true);
    assert_eq!(again["items"], first["items"], "the first answer, again");
    let other = send_csv(app, &query, "hash\nabc\n", Some("import-1")).await;
    assert_eq!(other.status, 422, "{}", other.text);

    // Not CSV for any other route; a CSV with a column it does not take is
    // refused whole, without repeating it.
    let request = hyper::Request::post("/v1/api-keys")
        .header(
            "authorization",
            format!("Bearer {}", app.token(Role::PlatformOwner)),
        )
        .header("content-type", "text/csv")
        .body(Full::new(Bytes::from("name\nx\n")))
        .expect("a request");
    assert_eq!(app.send(request).await.status, 415);
    let pasted = legacy_key("pasted");
    let refused = send_csv(app, &query, &format!("hash,{pasted}\nx,y\n"), None).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(!refused.text.contains(&pasted));
    let no_query = send_csv(app, "dry_run=true", &csv, None).await;
    assert_eq!(no_query.status, 400, "{}", no_query.text);
}
