//! The client and the layer against the real dev server tests/clients.sh
//! started (its address and tokens in the environment): verdicts, problem
//! codes, retries on 503 only, the cache and its TTL, the lifecycle, no key
//! in an error or a `Debug`, and the example service as it is.

use std::time::{Duration, Instant};

use api_keys_client::{Check, Client, Error};
use serde_json::{Value, json};

#[path = "../examples/protected_service.rs"]
mod example;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run `bash tests/clients.sh`, which starts a dev server and sets it"
        )
    })
}

/// A call with a role's token, for setting the scene.
async fn call(role: &str, method: &str, path: &str, body: Value) -> Value {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let request = http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", env("API_URL")))
        .header(
            "authorization",
            format!("Bearer {}", env(&format!("{role}_TOKEN"))),
        )
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_string(),
        )))
        .expect("a request");
    let response = client.request(request).await.expect("an answer");
    let status = response.status();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("a body")
        .to_bytes();
    assert!(
        status.as_u16() < 300,
        "{method} {path}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

async fn service_key(role: &str) -> String {
    let created = call(
        "OWNER",
        "POST",
        "/v1/service-keys",
        json!({"name": format!("rust {role}"), "role": role}),
    )
    .await;
    created["secret"].as_str().expect("a secret").to_owned()
}

async fn access_key(more: Value) -> (String, String) {
    let mut body = json!({"application_id": env("APP_ID"), "arx_id": env("ARX_ID")});
    if let (Some(body), Some(more)) = (body.as_object_mut(), more.as_object()) {
        body.extend(more.clone());
    }
    let created = call("DEVELOPER", "POST", "/v1/api-keys", body).await;
    (
        created["api_key"]["id"].as_str().expect("id").to_owned(),
        created["access_key"].as_str().expect("key").to_owned(),
    )
}

fn client(key: &str) -> Client {
    Client::builder(env("API_URL"), key)
        .build()
        .expect("a client")
}

#[tokio::test]
async fn a_verifier_service_key_verifies_keys_and_refusals_carry_their_code() {
    let (_, key) = access_key(json!({"name": "rust verify"})).await;
    let verifier = client(&service_key("verifier").await);
    let verdict = verifier.verify(&key).await.expect("a verdict");
    assert_eq!((verdict.valid, verdict.code.as_str()), (true, "VALID"));
    assert_eq!(
        verdict.application_id.as_deref(),
        Some(env("APP_ID").as_str())
    );
    assert_eq!(
        verifier
            .verify("akm_garbage")
            .await
            .expect("a verdict")
            .code,
        "MALFORMED"
    );

    let bad = format!("{}zz", &service_key("verifier").await[..75]);
    let refused = client(&bad).verify(&key).await.expect_err("refused");
    assert!(
        matches!(&refused, Error::Api { status: 401, code, .. } if code == "unauthenticated"),
        "{refused}"
    );
    let forbidden = client(&service_key("developer").await)
        .verify(&key)
        .await
        .expect_err("refused");
    assert!(
        matches!(&forbidden, Error::Api { status: 403, code, .. } if code == "forbidden"),
        "{forbidden}"
    );
    for shown in [
        refused.to_string(),
        format!("{refused:?}"),
        format!("{:?}", client(&bad)),
    ] {
        assert!(!shown.contains(&bad[38..]), "{shown}");
        assert!(!shown.contains(&key[37..]), "{shown}");
    }
}

/// A permission query is asked at verify: `VALID` carries the key's
/// permissions, owner and meta, a good key that lacks them is
/// `INSUFFICIENT_PERMISSIONS`, and a cached verdict for one query never
/// answers another.
#[tokio::test]
async fn a_permission_query_is_answered_and_cached_per_query() {
    let (_, key) = access_key(json!({
        "name": "rust permissions", "permissions": ["documents.read"],
        "external_id": "acme-rust", "meta": {"plan": "pro"},
    }))
    .await;
    let cached = Client::builder(env("API_URL"), service_key("verifier").await)
        .cache_for(Duration::from_secs(10))
        .build()
        .expect("a client");
    let valid = cached
        .check(
            &key,
            Check {
                permissions: Some("documents.read OR admin"),
                cost: None,
                ..Check::default()
            },
        )
        .await
        .expect("a verdict");
    assert_eq!(valid.code, "VALID");
    assert_eq!(valid.permissions, ["documents.read"]);
    assert_eq!(valid.external_id.as_deref(), Some("acme-rust"));
    assert_eq!(valid.meta, Some(json!({"plan": "pro"})));
    for _ in 0..2 {
        let refused = cached
            .check(
                &key,
                Check {
                    permissions: Some("documents.write"),
                    cost: None,
                    ..Check::default()
                },
            )
            .await
            .expect("a verdict");
        assert_eq!(refused.code, "INSUFFICIENT_PERMISSIONS");
        assert_eq!(
            api_keys_client::refused_with(&refused),
            http::StatusCode::FORBIDDEN
        );
    }
    assert_eq!(cached.verify(&key).await.expect("a verdict").code, "VALID");
    let bad = cached
        .check(
            &key,
            Check {
                permissions: Some("documents.read AND"),
                cost: None,
                ..Check::default()
            },
        )
        .await
        .expect_err("a bad query");
    assert!(
        matches!(&bad, Error::Api { status: 400, code, .. } if code == "invalid_field"),
        "{bad}"
    );
}

#[tokio::test]
async fn the_cache_keeps_a_verdict_for_its_ttl_and_never_a_limited_keys() {
    let (id, key) = access_key(json!({"name": "rust cached"})).await;
    let ttl = Duration::from_millis(1500);
    let cached = Client::builder(env("API_URL"), service_key("verifier").await)
        .cache_for(ttl)
        .build()
        .expect("a client");
    assert_eq!(cached.verify(&key).await.expect("verdict").code, "VALID");
    let cached_at = Instant::now();
    call(
        "DEVELOPER",
        "DELETE",
        &format!("/v1/api-keys/{id}"),
        json!({"confirm": id}),
    )
    .await;
    assert_eq!(
        cached.verify(&key).await.expect("verdict").code,
        "VALID",
        "within the TTL"
    );
    assert!(cached_at.elapsed() < ttl, "the delete outlasted the TTL");
    tokio::time::sleep(ttl.saturating_sub(cached_at.elapsed()) + Duration::from_millis(100)).await;
    assert_eq!(cached.verify(&key).await.expect("verdict").code, "DELETED");
    let (_, limited) =
        access_key(json!({"name": "rust limited", "limits": {"credits": {"remaining": 2}}})).await;
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(cached.verify(&limited).await.expect("verdict").code);
    }
    assert_eq!(codes, ["VALID", "VALID", "USAGE_EXCEEDED"]);
}

#[tokio::test]
async fn the_key_lifecycle_with_developer_and_admin_service_keys() {
    let developer = client(&service_key("developer").await);
    let admin = client(&service_key("platform_admin").await);
    let created = developer
        .create_key(
            &env("APP_ID"),
            &env("ARX_ID"),
            Some("made by a rust machine"),
        )
        .await
        .expect("created");
    assert!(created.access_key().starts_with("akm_"));
    assert!(!format!("{created:?}").contains(created.access_key()));
    let id = created.api_key.id.clone();
    assert!(
        developer
            .get_key(&id)
            .await
            .expect("read")
            .created_by
            .starts_with("service-key:")
    );
    let page = developer.list_keys("limit=100").await.expect("listed");
    assert!(page.items.iter().any(|key| key.id == id));
    assert_eq!(
        admin.disable_key(&id).await.expect("disabled").status,
        "disabled"
    );
    assert_eq!(
        admin.enable_key(&id).await.expect("enabled").status,
        "active"
    );
    let rotated = developer.rotate_key(&id, 0).await.expect("rotated");
    assert_eq!(rotated.api_key.rotated_from.as_deref(), Some(id.as_str()));
    developer
        .delete_key(&rotated.api_key.id)
        .await
        .expect("deleted");
    assert_eq!(
        developer
            .get_key(&rotated.api_key.id)
            .await
            .expect("read")
            .status,
        "deleted"
    );
    let refused = developer
        .disable_key(&id)
        .await
        .expect_err("a developer may not");
    assert!(matches!(refused, Error::Api { status: 403, .. }));
}

/// A 503 is retried (its `Retry-After` honoured) and a 4xx never: a local
/// front that answers 503 to the first requests and passes the rest on to
/// the real dev server.
#[tokio::test]
async fn a_503_is_retried_and_a_4xx_never() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let (_, key) = access_key(json!({"name": "rust retried"})).await;
    let seen = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&seen);
    let upstream = env("API_URL");
    let front = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (counted, upstream) = (Arc::clone(&counted), upstream.clone());
        async move {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            if n < 2 {
                return axum::response::Response::builder()
                    .status(503)
                    .header("retry-after", "0")
                    .body(axum::body::Body::from(r#"{"code":"busy","detail":"busy"}"#))
                    .expect("a response");
            }
            let (parts, body) = request.into_parts();
            let bytes = http_body_util::BodyExt::collect(body)
                .await
                .expect("a body")
                .to_bytes();
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<http_body_util::Full<bytes::Bytes>>();
            let mut forwarded = http::Request::builder()
                .method(parts.method)
                .uri(format!("{upstream}{}", parts.uri.path()));
            for (name, value) in &parts.headers {
                if name != "host" {
                    forwarded = forwarded.header(name, value);
                }
            }
            let answer = client
                .request(
                    forwarded
                        .body(http_body_util::Full::new(bytes))
                        .expect("a request"),
                )
                .await
                .expect("an answer");
            let (parts, body) = answer.into_parts();
            let bytes = http_body_util::BodyExt::collect(body)
                .await
                .expect("a body")
                .to_bytes();
            axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, front).await });
    let through_front = |key: &str, retries| {
        Client::builder(format!("http://{address}"), key)
            .retries(retries)
            .build()
            .expect("a client")
    };
    let verifier = through_front(&service_key("verifier").await, 2);
    assert_eq!(
        verifier.verify(&key).await.expect("a verdict").code,
        "VALID"
    );
    assert_eq!(
        seen.load(Ordering::SeqCst),
        3,
        "two 503s, then the real answer"
    );
    let before = seen.load(Ordering::SeqCst);
    let refused = through_front("akmsk_not_a_service_key", 3)
        .verify(&key)
        .await;
    assert!(matches!(refused, Err(Error::Api { status: 401, .. })));
    assert_eq!(
        seen.load(Ordering::SeqCst),
        before + 1,
        "a 4xx is not retried"
    );
}

#[tokio::test]
async fn the_example_service_lets_in_good_keys_only() {
    let keys = client(&service_key("verifier").await);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, example::app(keys)).await });
    let (id, key) = access_key(json!({"name": "rust example"})).await;
    let (_, limited) = access_key(
        json!({"name": "rust example limited", "limits": {"credits": {"remaining": 1}}}),
    )
    .await;
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let get_at = |path: &'static str, header: Option<(&'static str, String)>| {
        let mut request = http::Request::get(format!("http://{address}{path}"));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let request = request
            .body(http_body_util::Full::default())
            .expect("a request");
        let http = http.clone();
        async move {
            let response = http.request(request).await.expect("an answer");
            let status = response.status().as_u16();
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .expect("a body")
                .to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    let get = |header: Option<(&'static str, String)>| get_at("/documents", header);
    assert_eq!(get(None).await.0, 401);
    let (status, body) = get(Some(("x-api-key", key.clone()))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON"),
        json!({"application": env("APP_ID")})
    );
    assert_eq!(
        get(Some(("authorization", format!("Bearer {key}"))))
            .await
            .0,
        200
    );
    assert_eq!(
        get(Some(("x-api-key", "akm_not_a_key".into()))).await.0,
        401
    );
    assert_eq!(get(Some(("x-api-key", limited.clone()))).await.0, 200);
    assert_eq!(get(Some(("x-api-key", limited))).await.0, 429);
    call(
        "ADMIN",
        "POST",
        &format!("/v1/api-keys/{id}/disable"),
        Value::Null,
    )
    .await;
    let (status, body) = get(Some(("x-api-key", key.clone()))).await;
    assert_eq!(status, 403);
    assert!(!body.contains(&key));

    // /reports needs `reports.read`: a good key without it is 403, saying why.
    let (_, reader) = access_key(json!({
        "name": "rust example reader", "permissions": ["reports.read"], "external_id": "acme-rust",
    }))
    .await;
    let (_, plain) = access_key(json!({"name": "rust example plain"})).await;
    let (status, body) = get_at("/reports", Some(("x-api-key", plain.clone()))).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("INSUFFICIENT_PERMISSIONS"), "{body}");
    assert!(!body.contains(&plain));
    let (status, body) = get_at("/reports", Some(("x-api-key", reader))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON"),
        json!({"owner": "acme-rust", "permissions": ["reports.read"]})
    );
}

/// A key of an identity with roles: `VALID` names the identity and the
/// roles, and lists each limit charged; named rate limits are charged at
/// their own cost, and a refusal says which limit refused.
#[tokio::test]
async fn a_verdict_names_the_identity_and_roles_and_named_rate_limits_are_charged() {
    let owner = format!("rust-identity-{}", std::process::id());
    let role = format!("rust-reader-{}", std::process::id());
    call(
        "OWNER",
        "POST",
        "/v1/roles",
        json!({"name": role, "permissions": ["documents.read"]}),
    )
    .await;
    let identity = call(
        "OWNER",
        "POST",
        "/v1/identities",
        json!({"external_id": owner, "meta": {"tier": "gold"},
            "limits": {"rate_limits": [{"name": "tokens", "requests": 100, "per_seconds": 3600}]}}),
    )
    .await;
    let (_, key) =
        access_key(json!({"name": "rust identity", "external_id": owner, "roles": [role]})).await;
    let verifier = client(&service_key("verifier").await);
    let valid = verifier
        .check(
            &key,
            Check {
                permissions: Some("documents.read"),
                rate_limits: Some(&[("tokens", 60)]),
                ..Check::default()
            },
        )
        .await
        .expect("a verdict");
    assert_eq!(valid.code, "VALID");
    assert_eq!(valid.roles, [role.as_str()]);
    assert_eq!(valid.permissions, ["documents.read"]);
    let named = valid.identity.as_ref().expect("an identity");
    assert_eq!(Some(named.id.as_str()), identity["id"].as_str());
    assert_eq!(named.meta, Some(json!({"tier": "gold"})));
    assert_eq!(valid.limits.len(), 1);
    assert_eq!(valid.limits[0].name.as_deref(), Some("tokens"));
    assert_eq!(valid.limits[0].remaining, 40);
    let refused = verifier
        .check(
            &key,
            Check {
                rate_limits: Some(&[("tokens", 41)]),
                ..Check::default()
            },
        )
        .await
        .expect("a verdict");
    assert_eq!(refused.code, "RATE_LIMITED");
    let by = refused.limited_by.expect("the limit that refused");
    assert_eq!((by.owner.as_str(), by.kind.as_str()), ("identity", "rate"));
    assert_eq!(by.remaining, 40);
}

/// A key with an allowlist is judged by the address a check names, and a
/// cached verdict for one address never answers another.
#[tokio::test]
async fn a_checks_address_is_judged_by_the_keys_allowlist_and_cached_per_address() {
    let (_, key) = access_key(json!({"name": "rust allowlist",
        "allowlist": {"entries": ["203.0.113.0/24"]}}))
    .await;
    let cached = Client::builder(env("API_URL"), service_key("verifier").await)
        .cache_for(Duration::from_secs(10))
        .build()
        .expect("a client");
    let from = |ip: &str| Check {
        address: Some(ip.parse().expect("an address")),
        ..Check::default()
    };
    for _ in 0..2 {
        let inside = cached
            .check(&key, from("203.0.113.7"))
            .await
            .expect("a verdict");
        assert_eq!(inside.code, "VALID");
        let outside = cached
            .check(&key, from("192.0.2.1"))
            .await
            .expect("a verdict");
        assert_eq!(outside.code, "ADDRESS_NOT_ALLOWED");
        assert_eq!(
            api_keys_client::refused_with(&outside),
            http::StatusCode::FORBIDDEN
        );
    }
    let nowhere = cached.verify(&key).await.expect("a verdict");
    assert_eq!(
        nowhere.code, "ADDRESS_NOT_ALLOWED",
        "no address is on no list"
    );
}

/// The layer sends the connection's address (axum's `ConnectInfo`), or with
/// one trusted proxy the `X-Forwarded-For` entry it appended: a forged
/// header never gets a refused address in.
#[tokio::test]
async fn the_layer_sends_the_peer_address_and_trusts_only_the_proxies_it_is_told() {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;
    use axum::{Router, routing::get};

    let keys = client(&service_key("verifier").await);
    let (_, outside) = access_key(json!({"name": "rust layer allowlist",
        "allowlist": {"entries": ["203.0.113.0/24"]}}))
    .await;
    let (_, loopback) = access_key(json!({"name": "rust layer loopback",
        "allowlist": {"entries": ["127.0.0.0/8"]}}))
    .await;
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    for proxies in [0, 1] {
        let layer = api_keys_client::VerifyLayer::new(keys.clone())
            .client_address(|extensions| {
                extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|info| info.0.ip())
            })
            .trusting_proxies(proxies);
        let app = Router::new()
            .route("/documents", get(|| async { "ok" }))
            .layer(layer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let address = listener.local_addr().expect("an address");
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        let status = |key: String| {
            let request = http::Request::get(format!("http://{address}/documents"))
                .header("x-api-key", key)
                .header("x-forwarded-for", "203.0.113.7")
                .body(http_body_util::Full::default())
                .expect("a request");
            let http = http.clone();
            async move { http.request(request).await.expect("an answer").status() }
        };
        let (outside_status, loopback_status) = (
            status(outside.clone()).await,
            status(loopback.clone()).await,
        );
        if proxies == 0 {
            assert_eq!(outside_status, 403, "a forged header is not read");
            assert_eq!(loopback_status, 200, "the connection's address decides");
        } else {
            assert_eq!(outside_status, 200, "the trusted proxy's entry decides");
            assert_eq!(loopback_status, 403);
        }
    }
}

/// A namespace of its own for this run (the server may have served
/// others): its name.
async fn namespace(prefix: &str, limit: u64, fail_open: bool) -> String {
    let name = format!("{prefix}-{}", std::process::id());
    call(
        "ADMIN",
        "POST",
        "/v1/ratelimit-namespaces",
        json!({"name": name, "limit": limit, "duration": 60, "fail_open": fail_open}),
    )
    .await;
    name
}

/// `limit` counts exactly and `limit_many` is all or nothing; the layer
/// answers 429 with `Retry-After` and the draft's RateLimit headers, adds
/// them to the route's own answer, and fails as the namespace says.
#[tokio::test]
async fn rate_limits_count_exactly_and_the_layer_answers_429_with_the_headers() {
    use api_keys_client::{Limit, RateLimitLayer};
    let who = "someone.rust@example.org";
    let keys = client(&service_key("verifier").await);
    let exports = namespace("rust-exports", 3, false).await;
    let mut checks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (keys, exports) = (keys.clone(), exports.clone());
        checks.spawn(async move { keys.limit(&exports, who, Limit::default()).await });
    }
    let answers: Vec<_> = checks
        .join_all()
        .await
        .into_iter()
        .map(|answer| answer.expect("answered"))
        .collect();
    assert_eq!(answers.iter().filter(|answer| answer.success).count(), 3);
    let refused = answers
        .iter()
        .find(|answer| !answer.success)
        .expect("a refusal");
    assert_eq!(
        (refused.limit, refused.duration, refused.remaining),
        (3, 60, 0)
    );
    assert!(!format!("{refused:?}").contains(who));
    let peek = Limit {
        cost: Some(0),
        ..Limit::default()
    };
    assert_eq!(
        keys.limit(&exports, "another", peek)
            .await
            .expect("a peek")
            .remaining,
        3
    );
    let many = keys
        .limit_many(&[
            (&exports, "another", Limit::default()),
            (&exports, who, Limit::default()),
        ])
        .await
        .expect("answered");
    assert!(!many.success);
    assert_eq!(
        many.results[0].remaining, 3,
        "nothing counted when one refused"
    );
    let unknown = keys
        .limit("rust-nowhere", who, Limit::default())
        .await
        .expect_err("no such namespace");
    assert!(
        matches!(&unknown, Error::Api { status: 422, .. }),
        "{unknown}"
    );
    assert!(!format!("{unknown} {unknown:?}").contains(who));

    let search = namespace("rust-search", 2, false).await;
    let by_user = |headers: &http::HeaderMap, _: &http::Extensions| {
        headers.get("x-user")?.to_str().ok().map(str::to_owned)
    };
    let app = axum::Router::new()
        .route("/search", axum::routing::get(|| async { "found" }))
        .layer(RateLimitLayer::new(keys.clone(), search.clone(), by_user));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let get = |user: Option<&str>| {
        let mut request = http::Request::get(format!("http://{address}/search"));
        if let Some(user) = user {
            request = request.header("x-user", user);
        }
        let request = request
            .body(http_body_util::Full::default())
            .expect("a request");
        let http = http.clone();
        async move { http.request(request).await.expect("an answer") }
    };
    for left in [1, 0] {
        let answer = get(Some("u1")).await;
        assert_eq!(answer.status(), 200);
        let headers = answer.headers();
        assert_eq!(
            headers["ratelimit-policy"],
            format!("\"{search}\";q=2;w=60").as_str()
        );
        let state = headers["ratelimit"].to_str().expect("text");
        assert!(
            state.starts_with(&format!("\"{search}\";r={left};t=")),
            "{state}"
        );
    }
    let refused = get(Some("u1")).await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(get(Some("u2")).await.status(), 200, "its own count");
    assert_eq!(get(None).await.status(), 200, "no identifier: not checked");

    // The API out of reach: closed, unless the namespace is known to fail open.
    let open = namespace("rust-open", 100, true).await;
    let gone = Client::builder("http://127.0.0.1:9", service_key("verifier").await)
        .retries(0)
        .build()
        .expect("a client");
    assert!(!gone.fails_open(&open, false), "not known yet");
    for (fail_open, expected) in [(false, 503), (true, 200)] {
        let layer =
            RateLimitLayer::new(gone.clone(), open.clone(), by_user).failing_open(fail_open);
        let app = axum::Router::new()
            .route("/search", axum::routing::get(|| async { "found" }))
            .layer(layer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let at = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let request = http::Request::get(format!("http://{at}/search"))
            .header("x-user", "u1")
            .body(http_body_util::Full::default())
            .expect("a request");
        let answer = http.request(request).await.expect("an answer");
        assert_eq!(answer.status(), expected, "failing open: {fail_open}");
    }
    assert!(
        keys.limit(&open, "u1", Limit::default())
            .await
            .expect("answered")
            .success
    );
    assert!(keys.fails_open(&open, false), "as its answer said");
}

/// A create sent again under its `Idempotency-Key` makes no second key and
/// is `Error::Replayed`, which never holds the secret; each plain
/// `create_key` is a request of its own.
#[tokio::test]
async fn a_create_sent_again_under_its_key_is_replayed_without_its_secret() {
    let developer = client(&service_key("developer").await);
    let key = format!("rust-retried-{}", std::process::id());
    let (app, arx) = (env("APP_ID"), env("ARX_ID"));
    let created = developer
        .create_key_once(&app, &arx, Some("rust retried"), Some(&key))
        .await
        .expect("created");
    let again = developer
        .create_key_once(&app, &arx, Some("rust retried"), Some(&key))
        .await
        .expect_err("a repeat");
    match &again {
        Error::Replayed { key_id } => assert_eq!(key_id, &created.api_key.id),
        other => panic!("not a replay: {other}"),
    }
    let secret = created.access_key().split('_').nth(2).expect("a secret");
    assert!(!format!("{again} {again:?}").contains(secret));
    let reused = developer
        .create_key_once(&app, &arx, Some("another"), Some(&key))
        .await
        .expect_err("another body");
    assert!(
        matches!(&reused, Error::Api { status: 422, code, .. } if code == "idempotency_key_reused"),
        "{reused}"
    );
    let one = developer.create_key(&app, &arx, None).await.expect("one");
    let two = developer.create_key(&app, &arx, None).await.expect("two");
    assert_ne!(one.api_key.id, two.api_key.id);
}
