//! `POST /v1/verify` over real HTTP, on both stores: every verdict code, who
//! may ask, tenant scoping, `last_used_at`, and revocation reaching the next
//! verify in the same process.

use domain::{Role, Timestamp};
use serde_json::{Value, json};

use super::helpers::{SECRET, TestApp, claims, on_both_stores, token_with};

on_both_stores!(
    every_verdict_code_is_answered,
    a_suspended_key_verifies_disabled_at_once_until_resumed,
    verification_is_for_verifiers_owners_and_admins_of_the_tenant,
);

pub(super) async fn verify(app: &TestApp, token: &str, key: &str) -> Value {
    let body = json!({ "key": key }).to_string();
    let response = app
        .call("POST", "/v1/verify", Some(token), Some(&body))
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.json()
}

pub(super) fn code(verdict: &Value) -> &str {
    verdict["code"].as_str().unwrap_or_default()
}

/// The same key id with another secret and a correct checksum: it passes the
/// shape check, so only argon2 can refuse it. The checksum is computed here
/// from the documented format (CRC32 of the rest, 6 base62 digits), not by
/// the code under test.
pub(super) fn with_other_secret(key: &str) -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let head = &key[..key.len() - 36];
    let payload = format!("{head}{}", "Z".repeat(30));
    let mut crc = crc32fast::hash(payload.as_bytes());
    let mut digits = [b'0'; 6];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(crc % 62) as usize];
        crc /= 62;
    }
    format!("{payload}{}", String::from_utf8_lossy(&digits))
}

async fn every_verdict_code_is_answered(app: &TestApp) {
    let verifier = app.token(Role::Verifier);
    let owner = app.token(Role::PlatformOwner);
    let created = app.create_key(Role::Developer).await;
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let id = created["api_key"]["id"].as_str().expect("an id").to_owned();

    let valid = verify(app, &verifier, &key).await;
    assert_eq!(
        valid,
        json!({
            "valid": true, "code": "VALID", "key_id": id,
            "application_id": app.demo.application_id, "arx_id": app.demo.arx_id,
            "arx_url": created["arx_url"], "name": created["api_key"]["name"], "expires_at": null,
            "permissions": [], "roles": [], "external_id": null, "meta": null, "identity": null,
        })
    );
    // Used: recorded once, and not rewritten by the next verify (5 minutes).
    let used = app
        .get(&format!("/v1/api-keys/{id}"), Role::Developer)
        .await
        .json();
    let last_used = used["last_used_at"].as_str().expect("recorded").to_owned();
    assert_eq!(code(&verify(app, &verifier, &key).await), "VALID");
    let again = app
        .get(&format!("/v1/api-keys/{id}"), Role::Developer)
        .await
        .json();
    assert_eq!(again["last_used_at"], last_used.as_str());

    // Malformed: decided by shape and checksum.
    let mut typo = key.clone();
    let last = typo.pop().expect("a character");
    typo.push(if last == 'a' { 'b' } else { 'a' });
    for malformed in ["", "garbage", typo.as_str(), &key[..key.len() - 1]] {
        assert_eq!(
            verify(app, &verifier, malformed).await,
            json!({"valid": false, "code": "MALFORMED"}),
            "{malformed:?}"
        );
    }
    // A wrong secret for a real key id: not found, like no key at all.
    let forged = with_other_secret(&key);
    assert_eq!(
        verify(app, &verifier, &forged).await,
        json!({"valid": false, "code": "NOT_FOUND"})
    );
    let other = app.create_key(Role::Developer).await;
    let other_key = other["access_key"].as_str().expect("a key").to_owned();

    // Disabled while its Arx is, at once; working again once it is enabled.
    let arx = app.demo.arx_id.to_string();
    let disabled = app
        .post(
            &format!("/v1/arx/{arx}/disable"),
            Role::PlatformOwner,
            &json!({}),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(
        verify(app, &verifier, &key).await,
        json!({"valid": false, "code": "DISABLED"})
    );
    let enabled = app
        .post(
            &format!("/v1/arx/{arx}/enable"),
            Role::PlatformOwner,
            &json!({}),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    assert_eq!(code(&verify(app, &verifier, &key).await), "VALID");

    // Deleted: refused on the next verify.
    let body = json!({ "confirm": id }).to_string();
    let deleted = app
        .call(
            "DELETE",
            &format!("/v1/api-keys/{id}"),
            Some(&owner),
            Some(&body),
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(
        verify(app, &verifier, &key).await,
        json!({"valid": false, "code": "DELETED"})
    );
    assert_eq!(code(&verify(app, &verifier, &other_key).await), "VALID");

    // Expired: a cached VALID does not outlive the expiry.
    let expires_at = Timestamp::now()
        .plus(time::Duration::milliseconds(1200))
        .to_string();
    let body = json!({"application_id": app.demo.application_id, "arx_id": app.demo.arx_id,
                      "expires_at": expires_at});
    let expiring = app
        .post("/v1/api-keys", Role::Developer, &body)
        .await
        .json();
    let expiring_key = expiring["access_key"].as_str().expect("a key").to_owned();
    let before = verify(app, &verifier, &expiring_key).await;
    assert_eq!(code(&before), "VALID");
    assert_eq!(before["expires_at"], expiring["api_key"]["expires_at"]);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        verify(app, &verifier, &expiring_key).await,
        json!({"valid": false, "code": "EXPIRED"})
    );

    // An archived application: its keys stop working at once (the cascade
    // then records them deleted).
    let application = app.demo.application_id.to_string();
    let archived = app
        .post(
            &format!("/v1/applications/{application}/archive"),
            Role::PlatformOwner,
            &json!({}),
        )
        .await;
    assert_eq!(archived.status, 200, "{}", archived.text);
    let after = verify(app, &verifier, &other_key).await;
    assert!(["DISABLED", "DELETED"].contains(&code(&after)), "{after}");
    assert_eq!(after["valid"], false);
}

async fn verification_is_for_verifiers_owners_and_admins_of_the_tenant(app: &TestApp) {
    let created = app.create_key(Role::Developer).await;
    let key = created["access_key"].as_str().expect("a key").to_owned();
    for role in [Role::Verifier, Role::PlatformOwner, Role::PlatformAdmin] {
        assert_eq!(
            code(&verify(app, &app.token(role), &key).await),
            "VALID",
            "{role}"
        );
    }
    let body = json!({ "key": key }).to_string();
    let developer = app
        .call(
            "POST",
            "/v1/verify",
            Some(&app.token(Role::Developer)),
            Some(&body),
        )
        .await;
    assert_eq!(developer.status, 403, "{}", developer.text);
    // A verifier does nothing else.
    let listing = app.get("/v1/api-keys", Role::Verifier).await;
    assert_eq!(listing.status, 403);
    // Another tenant's verifier learns nothing: not found, as for no key.
    let stranger = token_with(claims("other-tenant", "verifier"), SECRET);
    assert_eq!(
        verify(app, &stranger, &key).await,
        json!({"valid": false, "code": "NOT_FOUND"})
    );
    // A request that is not a verify request is a 400, naming the field.
    for (body, field) in [
        (json!({}), "key"),
        (json!({"key": 7}), "key"),
        (json!({"key": "k", "x": 1}), "x"),
    ] {
        let refused = app
            .call(
                "POST",
                "/v1/verify",
                Some(&app.token(Role::Verifier)),
                Some(&body.to_string()),
            )
            .await;
        assert_eq!(refused.status, 400, "{}", refused.text);
        assert_eq!(refused.field().as_deref(), Some(field));
    }
}

/// Two Lambda instances over one table (the local DynamoDB server): a key
/// deleted through one is refused by that one at once, and by the other,
/// which cached a VALID verdict, within its cache TTL (eight seconds here) and
/// not before: the staleness `docs/security.md` states, in both directions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_refuses_a_deleted_key_within_the_cache_ttl() {
    use std::sync::Arc;

    use api::{ApiRequest, AppState, Identity, Route, ServiceConfig};
    use domain::{KeyPrefix, TenantId, UserId};
    use store::DynamoStore;

    const TTL: std::time::Duration = std::time::Duration::from_secs(8);

    let endpoint = std::env::var("DYNAMODB_ENDPOINT")
        .expect("DYNAMODB_ENDPOINT is not set: run `bash tests/run.sh`, which starts one");
    let table = format!("verify-{}", uuid::Uuid::now_v7().simple());
    let store = DynamoStore::local(&endpoint, &table);
    store.create_table_if_missing().await.expect("a table");
    let demo = dev_server::seed::demo_tenant(&store, "https://arx.test")
        .await
        .expect("seeded");
    let config = ServiceConfig {
        table_name: table,
        dynamodb_endpoint: Some(endpoint),
        access_key_prefix: KeyPrefix::default(),
        feedback_topic_arn: None,
        arx_base_url: "https://arx.test".into(),
        verify_cache: TTL,
        expiry_notice: domain::NoticePeriod::default(),
        usage_flush: Some(verify::UsageCounter::DEFAULT_INTERVAL),
        leases: store::LeaseSettings::DEFAULT,
    };
    let deleting = Arc::new(AppState::new(store.clone(), &config));
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
    let call = |state: &Arc<AppState<DynamoStore>>, route, request| {
        api::dispatch(Arc::clone(state), route, request)
    };
    let created = call(
        &deleting,
        Route::CreateApiKey,
        request(
            Role::Developer,
            None,
            json!({"application_id": demo.application_id, "arx_id": demo.arx_id}),
        ),
    )
    .await;
    assert_eq!(created.status, 201);
    let created: Value = serde_json::from_slice(&created.body).expect("JSON");
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let id = created["api_key"]["id"].as_str().expect("an id").to_owned();
    let verdict = |state| {
        let request = request(Role::Verifier, None, json!({ "key": key }));
        async move {
            let answer = call(state, Route::VerifyKey, request).await;
            assert_eq!(answer.status, 200);
            let verdict: Value = serde_json::from_slice(&answer.body).expect("JSON");
            verdict["code"].as_str().unwrap_or_default().to_owned()
        }
    };
    assert_eq!(verdict(&other).await, "VALID");
    let cached_at = std::time::Instant::now();
    assert_eq!(verdict(&deleting).await, "VALID");

    let deleted = call(
        &deleting,
        Route::DeleteApiKey,
        request(Role::Developer, Some(&id), json!({ "confirm": id })),
    )
    .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        verdict(&deleting).await,
        "DELETED",
        "the same instance: at once"
    );
    // The local DynamoDB server is slow under a parallel suite: the TTL is long
    // enough that the cached verdict is still in force here, and says so if not.
    assert!(
        cached_at.elapsed() < TTL,
        "the delete outlasted the TTL: {:?}",
        cached_at.elapsed()
    );
    assert_eq!(
        verdict(&other).await,
        "VALID",
        "another instance: its cached verdict"
    );
    tokio::time::sleep(
        TTL.saturating_sub(cached_at.elapsed()) + std::time::Duration::from_millis(100),
    )
    .await;
    assert_eq!(
        verdict(&other).await,
        "DELETED",
        "another instance: within the TTL"
    );
}

/// Twenty verifies of one uncached key at once run argon2id once: the others
/// wait for the first's answer (and get the same verdict).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_verifies_of_one_uncached_key_share_one_argon2_run() {
    use std::sync::Arc;

    let (state, demo, _dir) = super::helpers::embedded_state().await;
    let created = super::helpers::create_key_in(&state, &demo).await;
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let before = state.verifier.hashing.runs();
    let checks: Vec<_> = (0..20)
        .map(|_| {
            let (state, tenant, key) = (Arc::clone(&state), demo.tenant.clone(), key.clone());
            tokio::spawn(async move {
                let verifier = &state.verifier;
                verifier
                    .verify(&state.store, Some(&tenant), &key, &verify::Ask::ONE)
                    .await
                    .expect("answered")
                    .valid
            })
        })
        .collect();
    for check in checks {
        assert!(check.await.expect("joined"));
    }
    assert_eq!(
        state.verifier.hashing.runs() - before,
        1,
        "one argon2id run for twenty verifies"
    );
}

/// `POST /v1/api-keys/{id}/disable` and `/enable`: verify answers `DISABLED`
/// at once in this process and `VALID` again after; the counts and the
/// dashboard follow; an ended key cannot be suspended or resumed (409), nor a
/// key twice in the same direction; developers may not (403).
async fn a_suspended_key_verifies_disabled_at_once_until_resumed(app: &TestApp) {
    let verifier = app.token(Role::Verifier);
    let created = app.create_key(Role::Developer).await;
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let id = created["api_key"]["id"].as_str().expect("an id").to_owned();
    assert_eq!(code(&verify(app, &verifier, &key).await), "VALID");
    let before = app
        .get("/v1/api-keys?limit=1", Role::Developer)
        .await
        .json()["counts"]
        .clone();

    let refused = app.key_action(&id, "disable", Role::Developer).await;
    assert_eq!(refused.status, 403);
    let disabled = app.key_action(&id, "disable", Role::PlatformAdmin).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(disabled.json()["status"], "disabled");
    assert_eq!(
        verify(app, &verifier, &key).await,
        json!({"valid": false, "code": "DISABLED"}),
        "at once, past the VALID verdict cached a moment ago"
    );
    let counts = app
        .get("/v1/api-keys?limit=1", Role::Developer)
        .await
        .json()["counts"]
        .clone();
    assert_eq!(counts["active"], before["active"].as_u64().expect("n") - 1);
    assert_eq!(
        counts["disabled"],
        before["disabled"].as_u64().expect("n") + 1
    );
    assert_eq!(counts["total"], before["total"]);
    let twice = app.key_action(&id, "disable", Role::PlatformOwner).await;
    assert_eq!(twice.status, 409, "{}", twice.text);

    let enabled = app.key_action(&id, "enable", Role::PlatformOwner).await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    assert_eq!(code(&verify(app, &verifier, &key).await), "VALID");
    let after = app
        .get("/v1/api-keys?limit=1", Role::Developer)
        .await
        .json()["counts"]
        .clone();
    assert_eq!(after, before);

    // A deleted key has ended: it stays so.
    let deleted = app.delete_key(&id, Role::Developer).await;
    assert_eq!(deleted.status, 204);
    for action in ["disable", "enable"] {
        let ended = app
            .post(
                &format!("/v1/api-keys/{id}/{action}"),
                Role::PlatformOwner,
                &Value::Null,
            )
            .await;
        assert_eq!(ended.status, 409, "{action}: {}", ended.text);
        assert_eq!(ended.json()["code"], "api_key_status");
    }
    assert_eq!(code(&verify(app, &verifier, &key).await), "DELETED");
}
