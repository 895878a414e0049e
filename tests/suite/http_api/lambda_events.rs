//! The Lambda glue with synthetic API Gateway HTTP API (payload 2.0) events:
//! the handlers behind it are the dev server's, so this proves the wiring.

use std::sync::Arc;

use api::Route;
use api::handlers::{applications, issue_keys, read_keys};
use api::lambda::{Callers, SimpleResponse, authorize};
use auth::Authenticator;
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use serde_json::{Value, json};

use api::AppState;
use api::handlers::ApiStore;
use dev_server::DemoCatalog;
use verify::Verifier;

use super::helpers::{SECRET, auth_config, claims, token_with};

/// Declares each named `async fn(state, demo)` as a test on the embedded
/// store and one on the DynamoDB test server (the store Lambda functions use).
macro_rules! on_both_stores {
    ($($test:ident),* $(,)?) => {
        mod embedded_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let (state, demo, _dir) = crate::http_api::helpers::embedded_state().await;
                    super::$test(state, demo).await;
                }
            )*
        }
        mod dynamodb_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let store = crate::store_contract::backends::dynamodb().await;
                    let (state, demo) = crate::http_api::helpers::state_on(store).await;
                    super::$test(state, demo).await;
                }
            )*
        }
    };
}

on_both_stores!(
    api_gateway_events_reach_the_handlers,
    the_authorizer_decides_per_route_for_tokens_and_service_keys,
    the_key_authorizer_decides_on_both_payload_shapes,
    the_key_authorizer_charges_a_limited_key_and_denies_it_when_spent,
    the_key_authorizer_enforces_its_route_map_on_both_payload_shapes,
    a_cached_rest_policy_answers_the_next_request_as_api_gateway_would,
    the_key_authorizers_context_stays_within_api_gateways_limits,
    the_key_authorizer_counts_in_memory_and_writes_on_its_timer,
    the_key_authorizer_judges_an_allowlist_by_api_gateways_source_ip,
    the_key_authorizer_limits_requests_by_source_address_in_a_namespace,
);

/// With `KEY_AUTHORIZER_RATE_LIMIT_NAMESPACE`, a good key's requests are
/// limited per API Gateway source address in the key's tenant's namespace:
/// the third request of an address on a limit of 2 is denied, another
/// address has its own count, and a bad key is denied without counting.
async fn the_key_authorizer_limits_requests_by_source_address_in_a_namespace<
    S: ApiStore + 'static,
>(
    state: Arc<AppState<S>>,
    demo: DemoCatalog,
) {
    use verify::key_authorizer::{KeyAuthorizerConfig, authorize};

    let created = super::helpers::create_key_in_with(&state, &demo, json!({})).await;
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let namespace = api::dispatch(
        Arc::clone(&state),
        Route::CreateRateLimitNamespace,
        api::ApiRequest {
            identity: api::Identity {
                tenant: demo.tenant.clone(),
                user: domain::UserId::parse("owner-1").expect("valid"),
                role: domain::Role::PlatformOwner,
            },
            id: None,
            query: vec![],
            body: json!({"name": "gateway", "limit": 2, "duration": 3600})
                .to_string()
                .into(),
            idempotency_key: None,
            media: Default::default(),
        },
    )
    .await;
    assert_eq!(namespace.status, 201);
    let config = KeyAuthorizerConfig {
        address_limit: Some(domain::NamespaceName::parse("gateway").expect("a name")),
        ..KeyAuthorizerConfig::default()
    };
    let from = |address: &str, key: &str| {
        json!({"version": "2.0", "type": "REQUEST", "routeKey": "GET /documents",
            "headers": {"x-api-key": key},
            "requestContext": {"http": {"method": "GET", "sourceIp": address}}})
    };
    let mut decided = Vec::new();
    for (address, key) in [
        ("198.51.100.1", key.as_str()),
        ("198.51.100.1", "akm_not_a_key"),
        ("198.51.100.1", key.as_str()),
        ("198.51.100.1", key.as_str()),
        ("198.51.100.2", key.as_str()),
    ] {
        let answer = authorize(&state.store, &state.verifier, &config, &from(address, key)).await;
        decided.push(answer["isAuthorized"] == true);
    }
    assert_eq!(decided, [true, false, true, false, true]);
}

/// A key with an allowlist, behind the key-authorizer: the address judged
/// is API Gateway's own `sourceIp` on both payload shapes (the upstream
/// fixtures' `requestContext.http` and `requestContext.identity`), never a
/// header: a forged `X-Forwarded-For` naming an allowed address gets a
/// refused one nowhere.
async fn the_key_authorizer_judges_an_allowlist_by_api_gateways_source_ip<S: ApiStore + 'static>(
    state: Arc<AppState<S>>,
    demo: DemoCatalog,
) {
    use verify::key_authorizer::{KeyAuthorizerConfig, authorize, source_ip};

    let created = super::helpers::create_key_in_with(
        &state,
        &demo,
        json!({"allowlist": {"entries": ["203.0.113.0/24"]}}),
    )
    .await;
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let sample = |name: &str| -> Value {
        let text = std::fs::read_to_string(workspace.join("infra/events").join(name))
            .expect("a sample event");
        let fake = "akm_01a21762051c77b49ff756e5dfbff46f_ExampleNotARealKeyExampleNotARea000000";
        serde_json::from_str(&text.replace(fake, &key)).expect("JSON")
    };
    let allowed = |answer: &Value| {
        answer["isAuthorized"] == true
            || answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    };
    for (name, at) in [
        ("key-authorizer-http.json", "/requestContext/http/sourceIp"),
        (
            "key-authorizer-rest.json",
            "/requestContext/identity/sourceIp",
        ),
    ] {
        let mut event = sample(name);
        assert_eq!(source_ip(&event), "203.0.113.7".parse().ok(), "{name}");
        let answer = authorize(
            &state.store,
            &state.verifier,
            &KeyAuthorizerConfig::default(),
            &event,
        )
        .await;
        assert!(allowed(&answer), "{name} from inside: {answer}");
        // From outside, whatever the headers say.
        *event.pointer_mut(at).expect("a source ip") = json!("192.0.2.50");
        event["headers"]["x-forwarded-for"] = json!("203.0.113.7");
        event["headers"]["X-Forwarded-For"] = json!("203.0.113.7");
        let answer = authorize(
            &state.store,
            &state.verifier,
            &KeyAuthorizerConfig::default(),
            &event,
        )
        .await;
        assert!(!allowed(&answer), "{name} from outside: {answer}");
    }
}

/// An HTTP API payload 2.0 event as API Gateway sends it behind our authorizer.
fn event(
    route: Route,
    path: &str,
    id: Option<&str>,
    body: Option<Value>,
    identity: Option<Value>,
) -> String {
    let mut request_context = json!({
        "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
        "domainPrefix": "api", "requestId": "req-1", "routeKey": route.route_key(),
        "stage": "$default", "time": "26/Nov/2026:10:00:00 +0000", "timeEpoch": 1_795_000_000_000u64,
        "http": {"method": route.method(), "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "test"},
    });
    if let Some(identity) = identity {
        request_context["authorizer"] = json!({ "lambda": identity });
    }
    let mut event = json!({
        "version": "2.0", "routeKey": route.route_key(), "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json"}, "requestContext": request_context,
        "isBase64Encoded": false,
    });
    if let Some(id) = id {
        event["pathParameters"] = json!({ "id": id });
    }
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
    }
    event.to_string()
}

fn developer() -> Option<Value> {
    Some(json!({"tenant_id": "demo", "user_id": "dev-1", "role": "developer"}))
}

async fn invoke<F, Fut>(function: &str, event: &str, handler: F) -> (u16, Value)
where
    F: FnOnce(Route, api::ApiRequest) -> Fut,
    Fut: Future<Output = Result<api::ApiResponse, api::ApiError>>,
{
    let request = lambda_http::request::from_str(event).expect("a payload 2.0 event");
    let response = api::lambda::handle(request, &Route::of_function(function), handler).await;
    let status = response.status().as_u16();
    // No body (a 204) is `null`; any other body must be JSON, or the test fails.
    let bytes: &[u8] = match response.body() {
        lambda_http::Body::Text(text) => text.as_bytes(),
        lambda_http::Body::Binary(bytes) => bytes,
        _ => &[],
    };
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes).unwrap_or_else(|e| {
            panic!(
                "{function} answered {status} with a body that is not JSON ({e}): {}",
                String::from_utf8_lossy(bytes)
            )
        })
    };
    (status, body)
}

async fn api_gateway_events_reach_the_handlers<S: ApiStore + 'static>(
    state: Arc<AppState<S>>,
    demo: DemoCatalog,
) {
    let body = json!({"application_id": demo.application_id, "arx_id": demo.arx_id});
    let create = event(
        Route::CreateApiKey,
        "/v1/api-keys",
        None,
        Some(body.clone()),
        developer(),
    );
    let s = Arc::clone(&state);
    let (status, created) = invoke("create-api-key", &create, move |route, request| {
        issue_keys::handle(s, route, request)
    })
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["api_key"]["id"].as_str().expect("an id").to_owned();

    let get = event(
        Route::GetApiKey,
        &format!("/v1/api-keys/{id}"),
        Some(&id),
        None,
        developer(),
    );
    let s = Arc::clone(&state);
    let (status, read) = invoke("list-api-keys", &get, move |route, request| {
        read_keys::handle(s, route, request)
    })
    .await;
    assert_eq!((status, read["id"].as_str()), (200, Some(id.as_str())));

    // No authorizer context: the function refuses to guess who is asking.
    let anonymous = event(
        Route::CreateApiKey,
        "/v1/api-keys",
        None,
        Some(body.clone()),
        None,
    );
    let s = Arc::clone(&state);
    let (status, _) = invoke("create-api-key", &anonymous, move |route, request| {
        issue_keys::handle(s, route, request)
    })
    .await;
    assert_eq!(status, 401);

    // A route wired to the wrong function is not served.
    let s = Arc::clone(&state);
    let (status, _) = invoke("list-api-keys", &create, move |route, request| {
        read_keys::handle(s, route, request)
    })
    .await;
    assert_eq!(status, 404);

    // A developer reaching a management route (a mis-wired authorizer) is refused by the function.
    let manage = event(
        Route::CreateApplication,
        "/v1/applications",
        None,
        Some(json!({"name": "X", "technology": "server"})),
        developer(),
    );
    let s = Arc::clone(&state);
    let (status, problem) = invoke("applications", &manage, move |route, request| {
        applications::handle(s, route, request)
    })
    .await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")));
}

fn authorizer_event(
    route_key: &str,
    authorization: Option<&str>,
) -> ApiGatewayV2CustomAuthorizerV2Request {
    let mut headers = json!({});
    if let Some(value) = authorization {
        headers["authorization"] = json!(value);
    }
    serde_json::from_value(json!({
        "version": "2.0", "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/v1/api-keys",
        "identitySource": [authorization.unwrap_or_default(), route_key],
        "routeKey": route_key, "rawPath": "/v1/api-keys", "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "domainPrefix": "api", "requestId": "req-1", "routeKey": route_key,
            "stage": "$default", "time": "26/Nov/2026:10:00:00 +0000", "timeEpoch": 1_795_000_000_000u64,
            "http": {"method": "GET", "path": "/v1/api-keys", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "test"}
        }
    }))
    .expect("an authorizer event")
}

/// The authorizer function's decisions, on the store its Lambda reads:
/// JWTs per route, and service keys with the role they were made with. The
/// authorizer is another process than the function that revokes: it lets a
/// revoked service key in for at most its cache TTL, then never again.
async fn the_authorizer_decides_per_route_for_tokens_and_service_keys<S>(
    state: Arc<AppState<S>>,
    demo: DemoCatalog,
) where
    S: ApiStore + Clone + 'static,
{
    use domain::KeyPrefix;

    const TTL: std::time::Duration = std::time::Duration::from_secs(3);
    let callers = Callers {
        tokens: Authenticator::new(auth_config()).expect("an authenticator"),
        store: state.store.clone(),
        verifier: Verifier::new(KeyPrefix::default(), TTL),
    };
    let decide = |route_key: &'static str, authorization: Option<String>| {
        let callers = &callers;
        async move {
            authorize(
                callers,
                &authorizer_event(route_key, authorization.as_deref()),
            )
            .await
            .expect("a decision")
        }
    };
    let developer = format!("Bearer {}", token_with(claims("demo", "developer"), SECRET));
    let allowed = decide("GET /v1/api-keys", Some(developer.clone())).await;
    assert_eq!(
        allowed,
        SimpleResponse {
            is_authorized: true,
            context: [
                ("tenant_id", "demo"),
                ("user_id", "user-of-demo"),
                ("role", "developer")
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        }
    );
    let wire = serde_json::to_value(&allowed).expect("JSON");
    assert_eq!(wire["isAuthorized"], true, "API Gateway reads camelCase");

    for (route_key, authorization) in [
        ("POST /v1/applications", Some(developer.clone())),
        ("GET /v1/unknown", Some(developer.clone())),
        ("GET /v1/api-keys", None),
        ("GET /v1/api-keys", Some("Bearer not-a-token".to_owned())),
        (
            "GET /v1/api-keys",
            Some("Bearer akmsk_not-a-key".to_owned()),
        ),
    ] {
        let denied = decide(route_key, authorization).await;
        assert!(
            !denied.is_authorized && denied.context.is_empty(),
            "{route_key}"
        );
    }

    // Service keys, made by the owner through the management function.
    let owner = api::Identity {
        tenant: demo.tenant.clone(),
        user: domain::UserId::parse("owner-1").expect("valid"),
        role: domain::Role::PlatformOwner,
    };
    let manage = |route: Route, id: Option<&str>, body: Value| {
        let request = api::ApiRequest {
            identity: owner.clone(),
            id: id.map(str::to_owned),
            query: vec![],
            body: body.to_string().into(),
            idempotency_key: None,
            media: Default::default(),
        };
        api::dispatch(Arc::clone(&state), route, request)
    };
    let mint = |role: &'static str| async move {
        let created = manage(
            Route::CreateServiceKey,
            None,
            json!({"name": "machine", "role": role}),
        )
        .await;
        assert_eq!(created.status, 201);
        let created: Value = serde_json::from_slice(&created.body).expect("JSON");
        (
            format!("Bearer {}", created["secret"].as_str().expect("a secret")),
            created["service_key"]["id"]
                .as_str()
                .expect("an id")
                .to_owned(),
        )
    };
    let (verifier_key, verifier_id) = mint("verifier").await;
    let allowed = decide("POST /v1/verify", Some(verifier_key.clone())).await;
    assert!(allowed.is_authorized, "{allowed:?}");
    assert_eq!(
        allowed.context.get("user_id").map(String::as_str),
        Some(format!("service-key:{verifier_id}").as_str())
    );
    assert_eq!(
        allowed.context.get("role").map(String::as_str),
        Some("verifier")
    );
    assert_eq!(
        allowed.context.get("tenant_id").map(String::as_str),
        Some("demo")
    );
    // What the authorizer let through, the verify-key function serves: its
    // context is the whole identity the function sees.
    let created = super::helpers::create_key_in(&state, &demo).await;
    let access_key = created["access_key"].as_str().expect("an access key");
    let verify = event(
        Route::VerifyKey,
        "/v1/verify",
        None,
        Some(json!({ "key": access_key })),
        Some(serde_json::to_value(&allowed.context).expect("JSON")),
    );
    let s = Arc::clone(&state);
    let (status, verdict) = invoke("verify-key", &verify, move |route, request| {
        api::handlers::verification::handle(s, route, request)
    })
    .await;
    assert_eq!(
        (status, verdict["code"].as_str()),
        (200, Some("VALID")),
        "{verdict}"
    );
    let cached_at = std::time::Instant::now();
    assert!(
        !decide("GET /v1/api-keys", Some(verifier_key.clone()))
            .await
            .is_authorized
    );
    let (admin_key, _) = mint("platform_admin").await;
    assert!(
        decide("GET /v1/audit-events", Some(admin_key.clone()))
            .await
            .is_authorized
    );
    for route_key in [
        "POST /v1/service-keys",
        "GET /v1/service-keys",
        "DELETE /v1/service-keys/{id}",
    ] {
        assert!(
            !decide(route_key, Some(admin_key.clone()))
                .await
                .is_authorized,
            "no service key manages service keys: {route_key}"
        );
    }

    let revoked = manage(
        Route::RevokeServiceKey,
        Some(&verifier_id),
        json!({ "confirm": verifier_id }),
    )
    .await;
    assert_eq!(revoked.status, 200);
    // The test DynamoDB server is slow under a parallel suite: the TTL is
    // long enough that the cached answer is still in force here, and says so if not.
    assert!(
        cached_at.elapsed() < TTL,
        "the revocation outlasted the TTL: {:?}",
        cached_at.elapsed()
    );
    assert!(
        decide("POST /v1/verify", Some(verifier_key.clone()))
            .await
            .is_authorized,
        "another process: its cached answer, within the TTL"
    );
    tokio::time::sleep(
        TTL.saturating_sub(cached_at.elapsed()) + std::time::Duration::from_millis(100),
    )
    .await;
    assert!(
        !decide("POST /v1/verify", Some(verifier_key))
            .await
            .is_authorized,
        "another process: refused once the TTL is over"
    );
}

/// The key-authorizer on both sample events (`infra/events/key-authorizer-*`)
/// with their fake key swapped for a real one: allowed with the key's context;
/// denied for a forged key, no key, a deleted key, and another tenant when
/// the authorizer is pinned to one.
async fn the_key_authorizer_decides_on_both_payload_shapes<S: ApiStore + 'static>(
    state: Arc<AppState<S>>,
    demo: DemoCatalog,
) {
    use domain::TenantId;
    use verify::key_authorizer::{KeyAuthorizerConfig, authorize};

    let created = super::helpers::create_key_in(&state, &demo).await;
    let key = created["access_key"].as_str().expect("a key").to_owned();
    let key_id = created["api_key"]["id"].as_str().expect("an id").to_owned();
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let sample = |name: &str, key: &str| -> Value {
        let text = std::fs::read_to_string(workspace.join("infra/events").join(name))
            .expect("a sample event");
        let fake = "akm_01a21762051c77b49ff756e5dfbff46f_ExampleNotARealKeyExampleNotARea000000";
        serde_json::from_str(&text.replace(fake, key)).expect("JSON")
    };
    let any_tenant = KeyAuthorizerConfig::default();
    let expected_context = json!({
        "tenant_id": "demo", "application_id": demo.application_id,
        "arx_id": demo.arx_id, "key_id": key_id, "permissions": "[]",
    });

    let http = authorize(
        &state.store,
        &state.verifier,
        &any_tenant,
        &sample("key-authorizer-http.json", &key),
    )
    .await;
    assert_eq!(
        http,
        json!({"isAuthorized": true, "context": expected_context})
    );
    let rest = authorize(
        &state.store,
        &state.verifier,
        &any_tenant,
        &sample("key-authorizer-rest.json", &key),
    )
    .await;
    assert_eq!(rest["principalId"], key_id.as_str());
    assert_eq!(rest["context"], expected_context);
    let statement = &rest["policyDocument"]["Statement"][0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Action"], "execute-api:Invoke");
    assert_eq!(
        statement["Resource"],
        "arn:aws:execute-api:us-east-1:123456789012:a0b1c2d3e4/prod/*"
    );

    let denied_http = json!({"isAuthorized": false, "context": {}});
    let forged = sample("key-authorizer-http.json", "akm_not_a_key");
    assert_eq!(
        authorize(&state.store, &state.verifier, &any_tenant, &forged).await,
        denied_http
    );
    let mut no_key = sample("key-authorizer-http.json", &key);
    no_key["headers"] = json!({"host": "example"});
    assert_eq!(
        authorize(&state.store, &state.verifier, &any_tenant, &no_key).await,
        denied_http
    );
    let elsewhere = KeyAuthorizerConfig {
        tenant: Some(TenantId::parse("another-tenant").expect("valid")),
        ..Default::default()
    };
    let pinned = authorize(
        &state.store,
        &state.verifier,
        &elsewhere,
        &sample("key-authorizer-rest.json", &key),
    )
    .await;
    assert_eq!(pinned["policyDocument"]["Statement"][0]["Effect"], "Deny");
    assert_eq!(pinned["context"], json!({}));

    // Deleted in this process: denied on the next request.
    let deleted = api::dispatch(
        Arc::clone(&state),
        Route::DeleteApiKey,
        api::ApiRequest {
            identity: api::Identity {
                tenant: demo.tenant.clone(),
                user: domain::UserId::parse("dev-1").expect("valid"),
                role: domain::Role::Developer,
            },
            id: Some(key_id.clone()),
            query: vec![],
            body: json!({ "confirm": key_id }).to_string().into(),
            idempotency_key: None,
            media: Default::default(),
        },
    )
    .await;
    assert_eq!(deleted.status, 204);
    let after = authorize(
        &state.store,
        &state.verifier,
        &any_tenant,
        &sample("key-authorizer-http.json", &key),
    )
    .await;
    assert_eq!(after, denied_http);
}

/// Behind the key-authorizer a limited key is charged per request, like a
/// verify: allowed with what is left in the context, then denied (the caller
/// sees API Gateway's 403; an authorizer cannot answer 429).
async fn the_key_authorizer_charges_a_limited_key_and_denies_it_when_spent<
    S: ApiStore + 'static,
>(
    state: Arc<AppState<S>>,
    demo: DemoCatalog,
) {
    use verify::key_authorizer::{KeyAuthorizerConfig, authorize};
    // Logging is captured from the first call on (no HTTP server started it here).
    let _ = super::helpers::captured_logs();
    let limits = json!({"limits": {"credits": {"remaining": 2}}});
    let created = super::helpers::create_key_in_with(&state, &demo, limits).await;
    let key = created["access_key"].as_str().expect("a key");
    let event = json!({
        "version": "2.0", "type": "REQUEST", "routeKey": "GET /orders",
        "headers": {"x-api-key": key},
    });
    let config = KeyAuthorizerConfig::default();
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(authorize(&state.store, &state.verifier, &config, &event).await);
    }
    assert_eq!(answers[0]["isAuthorized"], true);
    assert_eq!(answers[0]["context"]["remaining"], "1");
    assert_eq!(answers[1]["context"]["remaining"], "0");
    assert_eq!(answers[2], json!({"isAuthorized": false, "context": {}}));
    assert!(
        super::helpers::captured_logs().contains("code=\"USAGE_EXCEEDED\""),
        "the decision's code is logged"
    );
}

/// A route map (`KEY_AUTHORIZER_ROUTE_PERMISSIONS`): each route asks its
/// query of the key's permissions, on an HTTP API event and a REST one; a
/// key that lacks them is denied, one that has them passes with its
/// permissions, owner and meta in the context, and a REST policy then names
/// only the method asked (a stage-wide one, cached per key, would open
/// routes that need more).
async fn the_key_authorizer_enforces_its_route_map_on_both_payload_shapes<S: ApiStore + 'static>(
    state: Arc<AppState<S>>,
    demo: DemoCatalog,
) {
    use verify::key_authorizer::{KeyAuthorizerConfig, RoutePermissions, authorize};
    let _ = super::helpers::captured_logs();
    let reader = super::helpers::create_key_in_with(
        &state,
        &demo,
        json!({"permissions": ["orders.read"], "external_id": "org_7", "meta": {"plan": "pro"}}),
    )
    .await;
    let writer = super::helpers::create_key_in_with(
        &state,
        &demo,
        json!({"permissions": ["orders.read", "orders.write"]}),
    )
    .await;
    let plain = super::helpers::create_key_in(&state, &demo).await;
    let config = KeyAuthorizerConfig {
        routes: RoutePermissions::parse(
            r#"{"GET /orders/{id}": "orders.read", "post /orders": "orders.write AND orders.read",
                "ANY /admin/{proxy+}": "admin", "*": "orders.read OR orders.write"}"#,
        )
        .expect("a map"),
        ..Default::default()
    };
    let http = |key: &Value, route: &str, method: &str| {
        json!({
            "version": "2.0", "type": "REQUEST", "routeKey": route,
            "requestContext": {"http": {"method": method}},
            "headers": {"x-api-key": key["access_key"]},
        })
    };
    let rest = |key: &Value, method: &str, resource: &str| {
        json!({
            "type": "REQUEST", "httpMethod": method, "resource": resource,
            "methodArn": format!("arn:aws:execute-api:us-east-1:123456789012:a0b1c2d3e4/prod/{method}/x"),
            "headers": {"X-Api-Key": key["access_key"]},
        })
    };
    let allowed_http = |answer: &Value| answer["isAuthorized"] == true;
    let allowed_rest =
        |answer: &Value| answer["policyDocument"]["Statement"][0]["Effect"] == "Allow";
    let cases = [
        (&reader, "GET /orders/{id}", "GET", "/orders/{id}", true),
        (&reader, "POST /orders", "POST", "/orders", false),
        (&writer, "POST /orders", "POST", "/orders", true),
        (
            &writer,
            "ANY /admin/{proxy+}",
            "DELETE",
            "/admin/{proxy+}",
            false,
        ),
        (&reader, "GET /health", "GET", "/health", true),
        (&plain, "GET /health", "GET", "/health", false),
        (&plain, "GET /orders/{id}", "GET", "/orders/{id}", false),
    ];
    for (key, route, method, resource, expected) in cases {
        let answer = authorize(
            &state.store,
            &state.verifier,
            &config,
            &http(key, route, method),
        )
        .await;
        assert_eq!(
            allowed_http(&answer),
            expected,
            "HTTP API {route}: {answer}"
        );
        let answer = authorize(
            &state.store,
            &state.verifier,
            &config,
            &rest(key, method, resource),
        )
        .await;
        assert_eq!(
            allowed_rest(&answer),
            expected,
            "REST API {method} {resource}: {answer}"
        );
        // The method and the route, its path parameters as `*`: what API
        // Gateway's cache entry for this decision covers.
        let route = resource.replace("{id}", "*").replace("{proxy+}", "*");
        assert_eq!(
            answer["policyDocument"]["Statement"][0]["Resource"],
            format!("arn:aws:execute-api:us-east-1:123456789012:a0b1c2d3e4/prod/{method}{route}"),
            "a policy for this method and route only: {answer}"
        );
    }
    let passed = authorize(
        &state.store,
        &state.verifier,
        &config,
        &http(&reader, "GET /orders/{id}", "GET"),
    )
    .await;
    assert_eq!(passed["context"]["permissions"], r#"["orders.read"]"#);
    assert_eq!(passed["context"]["external_id"], "org_7");
    assert_eq!(passed["context"]["meta"], r#"{"plan":"pro"}"#);
    assert!(
        super::helpers::captured_logs().contains("code=\"INSUFFICIENT_PERMISSIONS\""),
        "the refusal's code is logged"
    );
    for bad in [
        r#"["orders.read"]"#,
        r#"{"/orders": "orders.read"}"#,
        r#"{"GET /orders": "orders.read AND"}"#,
        r#"{"GET orders": "orders.read"}"#,
    ] {
        assert!(RoutePermissions::parse(bad).is_err(), "{bad}");
    }
}

/// A key may carry 100 permissions of 100 characters and 4 KB of meta: the
/// authorizer's context stays under its bound, leaving out the meta first,
/// then the permissions, and saying so, on both payload shapes.
async fn the_key_authorizers_context_stays_within_api_gateways_limits<S: ApiStore + 'static>(
    state: Arc<AppState<S>>,
    demo: DemoCatalog,
) {
    use verify::key_authorizer::{KeyAuthorizerConfig, MAX_CONTEXT_BYTES, authorize};
    let permissions: Vec<String> = (0..100)
        .map(|n| format!("p{n:02}{}", "x".repeat(97)))
        .collect();
    let meta = json!({"pad": "m".repeat(4000)});
    let size = |context: &Value| -> usize {
        context
            .as_object()
            .expect("a context")
            .iter()
            .map(|(name, value)| name.len() + value.as_str().map_or(0, str::len))
            .sum()
    };
    let cases = [
        (
            json!({"permissions": permissions, "meta": meta}),
            true,
            true,
        ),
        (
            json!({"permissions": permissions[..50], "meta": meta}),
            true,
            false,
        ),
        (
            json!({"meta": meta, "permissions": ["orders.read"]}),
            false,
            false,
        ),
        (
            json!({"meta": {"plan": "pro"}, "permissions": ["orders.read"]}),
            false,
            false,
        ),
    ];
    for (fields, meta_omitted, permissions_omitted) in cases {
        let key = super::helpers::create_key_in_with(&state, &demo, fields.clone()).await;
        let events = [
            json!({"version": "2.0", "type": "REQUEST", "routeKey": "GET /orders",
                "requestContext": {"http": {"method": "GET"}}, "headers": {"x-api-key": key["access_key"]}}),
            json!({"type": "REQUEST", "httpMethod": "GET", "resource": "/orders",
                "methodArn": "arn:aws:execute-api:us-east-1:123456789012:a0b1c2d3e4/prod/GET/orders",
                "headers": {"x-api-key": key["access_key"]}}),
        ];
        for event in events {
            let answer = authorize(
                &state.store,
                &state.verifier,
                &KeyAuthorizerConfig::default(),
                &event,
            )
            .await;
            let context = &answer["context"];
            // What the context holds, by name: its values are kilobytes.
            let names: Vec<&String> = context.as_object().expect("a context").keys().collect();
            assert!(
                size(context) <= MAX_CONTEXT_BYTES,
                "{} bytes: {names:?}",
                size(context)
            );
            assert_eq!(context["meta_omitted"] == "true", meta_omitted, "{names:?}");
            assert_eq!(context["meta"].is_string(), !meta_omitted, "{names:?}");
            assert_eq!(
                context["permissions_omitted"] == "true",
                permissions_omitted,
                "{names:?}"
            );
            assert_eq!(
                context["permissions"].is_string(),
                !permissions_omitted,
                "{names:?}"
            );
            assert!(
                context["key_id"].is_string(),
                "the ids always stay: {names:?}"
            );
        }
    }

    // A key of an identity: its id is in the context, and its meta is the
    // first to go when both metas would pass the bound.
    let owner = domain::ExternalId::parse("context-owner").expect("an owner");
    let by = domain::Author::person(
        domain::UserId::parse("owner-1").expect("a user"),
        domain::Role::PlatformOwner,
        domain::Timestamp::now(),
    );
    let identity_meta =
        domain::KeyMeta::parse(&json!({"pad": "i".repeat(4000)}).to_string()).expect("a meta");
    let (identity, audit) = domain::Identity::create(
        demo.tenant.clone(),
        owner.clone(),
        Some(identity_meta),
        domain::IdentityLimits::default(),
        &by,
    );
    state
        .store
        .create_identity(&identity, &audit)
        .await
        .expect("an identity");
    for (key_meta, identity_meta_omitted) in [(json!({"plan": "pro"}), false), (meta, true)] {
        let fields = json!({"external_id": owner.as_str(), "meta": key_meta});
        let key = super::helpers::create_key_in_with(&state, &demo, fields).await;
        let event = json!({"version": "2.0", "type": "REQUEST", "routeKey": "GET /orders",
            "requestContext": {"http": {"method": "GET"}}, "headers": {"x-api-key": key["access_key"]}});
        let answer = authorize(
            &state.store,
            &state.verifier,
            &KeyAuthorizerConfig::default(),
            &event,
        )
        .await;
        let context = &answer["context"];
        assert_eq!(context["identity_id"], identity.id.as_str());
        assert_eq!(
            context["identity_meta_omitted"] == "true",
            identity_meta_omitted
        );
        assert_eq!(context["identity_meta"].is_string(), !identity_meta_omitted);
        assert!(context["meta"].is_string(), "the key's own meta stays");
        assert!(size(context) <= MAX_CONTEXT_BYTES);
    }
}

/// IAM's wildcards in a policy's resource: `*` any run of characters (`/`
/// too), `?` one.
fn arn_matches(pattern: &str, arn: &str) -> bool {
    let (pattern, arn): (Vec<char>, Vec<char>) = (pattern.chars().collect(), arn.chars().collect());
    fn at(pattern: &[char], arn: &[char]) -> bool {
        match pattern.split_first() {
            None => arn.is_empty(),
            Some(('*', rest)) => (0..=arn.len()).any(|skip| at(rest, &arn[skip..])),
            Some(('?', rest)) => !arn.is_empty() && at(rest, &arn[1..]),
            Some((c, rest)) => arn.first() == Some(c) && at(rest, &arn[1..]),
        }
    }
    at(&pattern, &arn)
}

/// How API Gateway judges a request by a cached policy: an explicit Deny
/// that matches wins, then an Allow that matches; nothing matching denies.
fn policy_allows(answer: &Value, method_arn: &str) -> bool {
    let statements = answer["policyDocument"]["Statement"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let matching = |effect: &str| {
        statements.iter().any(|statement| {
            statement["Effect"] == effect
                && statement["Resource"]
                    .as_str()
                    .is_some_and(|pattern| arn_matches(pattern, method_arn))
        })
    };
    !matching("Deny") && matching("Allow")
}

/// API Gateway's authorizer cache for a REST API, replayed: a decision is
/// kept per identity source for the TTL (here the key, the method and the
/// resource path, as protect-your-api.md says to set them with a route map;
/// the key alone without one), and a later request with the same sources is
/// not sent to the authorizer: the cached policy judges its own method ARN.
async fn a_cached_rest_policy_answers_the_next_request_as_api_gateway_would<
    S: ApiStore + 'static,
>(
    state: Arc<AppState<S>>,
    demo: DemoCatalog,
) {
    use std::collections::HashMap;
    use verify::key_authorizer::{KeyAuthorizerConfig, RoutePermissions, authorize};
    let reader =
        super::helpers::create_key_in_with(&state, &demo, json!({"permissions": ["orders.read"]}))
            .await;
    let key = reader["access_key"].as_str().expect("a key").to_owned();
    let with_map = KeyAuthorizerConfig {
        routes: RoutePermissions::parse(
            r#"{"GET /orders/{id}": "orders.read", "ANY /admin/{proxy+}": "admin"}"#,
        )
        .expect("a map"),
        ..Default::default()
    };
    let without_map = KeyAuthorizerConfig::default();
    // (method, resource, path): one request of the caller's.
    let requests = [
        ("GET", "/orders/{id}", "/orders/42"),
        ("GET", "/orders/{id}", "/orders/43"),
        ("DELETE", "/admin/{proxy+}", "/admin/users/7"),
        ("DELETE", "/admin/{proxy+}", "/admin/keys"),
        ("GET", "/health", "/health"),
        ("GET", "/orders/{id}", "/orders/44"),
    ];
    for (config, by_route) in [(&with_map, true), (&without_map, false)] {
        let mut cache: HashMap<(String, String, String), Value> = HashMap::new();
        let mut asked = 0;
        for (method, resource, path) in requests {
            let method_arn = format!(
                "arn:aws:execute-api:us-east-1:123456789012:a0b1c2d3e4/prod/{method}{path}"
            );
            let identity = if by_route {
                (key.clone(), method.to_owned(), resource.to_owned())
            } else {
                (key.clone(), String::new(), String::new())
            };
            let policy = match cache.get(&identity) {
                Some(cached) => cached.clone(),
                None => {
                    asked += 1;
                    let event = json!({
                        "type": "REQUEST", "httpMethod": method, "resource": resource, "path": path,
                        "methodArn": method_arn, "headers": {"x-api-key": key},
                    });
                    let answer = authorize(&state.store, &state.verifier, config, &event).await;
                    cache.insert(identity, answer.clone());
                    answer
                }
            };
            // What the authorizer itself would say of this request.
            let expected = !(by_route && resource.starts_with("/admin"));
            assert_eq!(
                policy_allows(&policy, &method_arn),
                expected,
                "{method} {path} judged by the cached policy {policy} (route map: {by_route})"
            );
        }
        assert_eq!(
            asked,
            if by_route { 3 } else { 1 },
            "the cache answered the rest"
        );
    }
    assert!(arn_matches("a/prod/GET/orders/*", "a/prod/GET/orders/4/2"));
    assert!(!arn_matches("a/prod/GET/orders/42", "a/prod/GET/orders/43"));
}

/// The Lambda path of usage analytics: the key-authorizer counts each
/// decision in memory (no write per request) and its instance's timer
/// writes them; one flush of any number of verifies of one key is three
/// writes (its hour, its day, its tenant's day), and the counts are exact.
async fn the_key_authorizer_counts_in_memory_and_writes_on_its_timer<S: ApiStore + 'static>(
    state: Arc<AppState<S>>,
    demo: DemoCatalog,
) {
    use domain::{ApiKeyId, Granularity, PrefixedId, Timestamp};
    use verify::key_authorizer::{KeyAuthorizerConfig, authorize};
    let created = super::helpers::create_key_in(&state, &demo).await;
    let key = created["access_key"].as_str().expect("a key");
    let id = ApiKeyId::parse(created["api_key"]["id"].as_str().expect("an id")).expect("an id");
    let verifier = Arc::new(
        verify::Verifier::new(
            domain::KeyPrefix::default(),
            std::time::Duration::from_secs(30),
        )
        .counting_every(Some(std::time::Duration::from_millis(300))),
    );
    let event = json!({
        "version": "2.0", "type": "REQUEST", "routeKey": "GET /orders",
        "headers": {"x-api-key": key},
    });
    let config = KeyAuthorizerConfig::default();
    let counted = |state: Arc<AppState<S>>, id: ApiKeyId| async move {
        let hour = Granularity::Hour.start_of(Timestamp::now().unix_seconds());
        let buckets = state
            .store
            .key_usage(&demo_tenant(), &id, Granularity::Hour, hour - 3600, hour)
            .await
            .expect("read");
        buckets
            .iter()
            .map(|(_, counts)| counts.get("VALID"))
            .sum::<u64>()
    };
    for _ in 0..25 {
        let answer = authorize(&state.store, &verifier, &config, &event).await;
        assert_eq!(answer["isAuthorized"], true);
    }
    assert_eq!(
        counted(Arc::clone(&state), id.clone()).await,
        0,
        "counted in memory, not written"
    );
    let (timer_state, timer_verifier) = (Arc::clone(&state), Arc::clone(&verifier));
    let timer = tokio::spawn(async move { timer_verifier.usage.run(&timer_state.store).await });
    let mut written = 0;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        written = counted(Arc::clone(&state), id.clone()).await;
        if written == 25 {
            break;
        }
    }
    timer.abort();
    assert_eq!(written, 25, "the timer wrote every count");
    for _ in 0..40 {
        authorize(&state.store, &verifier, &config, &event).await;
    }
    assert_eq!(
        verifier.usage.flush(&state.store).await,
        3,
        "40 verifies, three writes"
    );
    assert_eq!(counted(Arc::clone(&state), id.clone()).await, 65);
    assert_eq!(
        verifier.usage.flush(&state.store).await,
        0,
        "nothing left to write"
    );
}

fn demo_tenant() -> domain::TenantId {
    domain::TenantId::parse("demo").expect("valid")
}

/// The console function with API Gateway's `$default` event (the sample in
/// `infra/events/console.json`): the app's page for any route, its files with
/// their cache policy, the security headers, and nothing but GET and HEAD.
#[test]
fn the_console_function_serves_its_embedded_files() {
    use runtime::console::{ConsoleAssets, ConsoleConfig};
    let files = [
        (
            "/index.html".to_owned(),
            b"<!doctype html><p>console".to_vec(),
        ),
        ("/assets/app-1a2b.js".to_owned(), b"export {}".to_vec()),
    ];
    let config = ConsoleConfig {
        sign_in: None,
        api_url: Some("https://api.example.com".into()),
    };
    let assets = ConsoleAssets::new(files, &config).expect("assets");
    let sample = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/events/console.json"),
    )
    .expect("the sample event");
    let page = runtime::console_response(
        &assets,
        &lambda_http::request::from_str(&sample).expect("an event"),
    );
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .expect("text");
    assert!(
        policy.contains("connect-src 'self' https://api.example.com;"),
        "{policy}"
    );
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(
        matches!(page.body(), lambda_http::Body::Binary(b) if b.starts_with(b"<!doctype html>"))
    );

    let script_event = sample.replace("/api-keys/new", "/assets/app-1a2b.js");
    let script = runtime::console_response(
        &assets,
        &lambda_http::request::from_str(&script_event).expect("an event"),
    );
    assert_eq!(
        script.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let post_event = sample.replace("\"GET\"", "\"POST\"");
    let post = runtime::console_response(
        &assets,
        &lambda_http::request::from_str(&post_event).expect("an event"),
    );
    assert_eq!(post.status(), 405);
}
