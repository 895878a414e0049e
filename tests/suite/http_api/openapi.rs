//! `docs/openapi.yaml` stays true: it lists exactly the routes the server
//! serves, and every status the server answers on them (driven here with good
//! requests, bad ones, no token, the wrong role and unknown ids) is documented.

use std::collections::BTreeSet;

use api::Route;
use domain::{ApiKeyId, ApplicationId, ArxId, Role, ServiceKeyId};
use serde_json::{Value, json};
use serde_norway::Value as Yaml;

use super::helpers::{TestApp, on_both_stores};

on_both_stores!(every_status_the_server_answers_is_documented,);

fn spec() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).expect("docs/openapi.yaml"))
        .expect("YAML")
}

fn documented(spec: &Yaml, route: Route) -> BTreeSet<u16> {
    let operation = &spec["paths"][route.template()][route.method().to_lowercase().as_str()];
    let responses = operation["responses"]
        .as_mapping()
        .unwrap_or_else(|| panic!("{} is not in the spec", route.route_key()));
    responses
        .keys()
        .map(|code| {
            code.as_str()
                .and_then(|c| c.parse().ok())
                .expect("a numeric status")
        })
        .collect()
}

#[test]
fn the_spec_lists_exactly_the_served_routes() {
    let spec = spec();
    let mut listed = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().expect("paths") {
        for (method, _) in item.as_mapping().expect("a path item") {
            let method = method.as_str().expect("a key");
            if method != "parameters" {
                listed.insert(format!(
                    "{} {}",
                    method.to_uppercase(),
                    path.as_str().expect("a path")
                ));
            }
        }
    }
    let served: BTreeSet<String> = Route::ALL
        .into_iter()
        .map(Route::route_key)
        .chain([format!("POST {}", api::leak_reports::PATH)])
        .collect();
    assert_eq!(listed, served);
    // Every route takes a bearer token but GitHub's signed reports.
    let leaks = &spec["paths"][api::leak_reports::PATH]["post"];
    assert_eq!(leaks["security"].as_sequence().map(Vec::len), Some(0));
}

/// A request that should succeed on a fresh object, and the path it goes to.
async fn good_request(app: &TestApp, route: Route) -> (String, Option<Value>) {
    let owner = Role::PlatformOwner;
    let application = app
        .post(
            "/v1/applications",
            owner,
            &json!({"name": "Spec app", "technology": "server"}),
        )
        .await
        .json();
    let arx_body = json!({"name": "Spec Arx", "purpose": "testing", "provider": "aws", "region": "r",
        "encryption_method": "AES-GCM-256", "rotation_cycle": "30 days", "plan": "standard"});
    let arx = app.post("/v1/arx", owner, &arx_body).await.json();
    let (application_id, arx_id) = (
        application["id"].as_str().expect("id"),
        arx["id"].as_str().expect("id"),
    );
    let choice = json!({"application_id": application_id, "arx_id": arx_id});
    let key = app.post("/v1/api-keys", owner, &choice).await.json();
    let key_id = key["api_key"]["id"].as_str().expect("id").to_owned();
    let service_key = app
        .post(
            "/v1/service-keys",
            owner,
            &json!({"name": "Spec job", "role": "verifier"}),
        )
        .await
        .json();
    let service_key_id = service_key["service_key"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // A fresh external id per request: one identity per customer.
    let external_id = format!("spec-{}", ApiKeyId::new().hex());
    let identity = app
        .post(
            "/v1/identities",
            owner,
            &json!({"external_id": external_id}),
        )
        .await
        .json();
    let identity_id = identity["id"].as_str().expect("id").to_owned();
    let role = app
        .post("/v1/roles", owner, &json!({"name": external_id}))
        .await
        .json();
    let role_id = role["id"].as_str().expect("id").to_owned();
    let namespace = app
        .post(
            "/v1/ratelimit-namespaces",
            owner,
            &json!({"name": external_id, "limit": 100, "duration": 60}),
        )
        .await
        .json();
    let namespace_id = namespace["id"].as_str().expect("id").to_owned();
    if route == Route::RemoveRateLimitOverride {
        let set = app
            .call(
                "PUT",
                &format!("/v1/ratelimit-namespaces/{namespace_id}/overrides"),
                Some(&app.token(owner)),
                Some(&json!({"identifier": "vip", "limit": 9, "duration": 60}).to_string()),
            )
            .await;
        assert_eq!(set.status, 200, "{}", set.text);
    }
    let id = match route.template() {
        t if t.starts_with("/v1/ratelimit-namespaces") => namespace_id,
        t if t.starts_with("/v1/api-keys") => key_id.clone(),
        t if t.starts_with("/v1/identities") => identity_id,
        t if t.starts_with("/v1/roles") => role_id,
        t if t.starts_with("/v1/applications") => application_id.to_owned(),
        t if t.starts_with("/v1/service-keys") => service_key_id.clone(),
        _ => arx_id.to_owned(),
    };
    if route == Route::EnableArx {
        app.post(&format!("/v1/arx/{arx_id}/disable"), owner, &Value::Null)
            .await;
    }
    if route == Route::EnableApiKey {
        let disabled = app.key_action(&key_id, "disable", owner).await;
        assert_eq!(disabled.status, 200, "{}", disabled.text);
    }
    let body = match route {
        Route::CreateApiKey => Some(choice),
        Route::DeleteApiKey => Some(json!({"confirm": key_id})),
        Route::RotateApiKey => Some(json!({"grace_seconds": 60})),
        Route::ImportApiKeys => Some(json!({
            "application_id": application_id, "arx_id": arx_id, "scheme": "plaintext",
            "keys": [{"key": format!("legacy_{external_id}")}, {"key": "short"}],
        })),
        Route::SubmitFeedback => Some(json!({"message": "fine"})),
        Route::CreateApplication => Some(
            json!({"name": "Another", "technology": "client", "cors_origins": ["https://a.example"]}),
        ),
        Route::UpdateApplication | Route::UpdateArx => Some(json!({"name": "Renamed"})),
        Route::CreateArx => Some(arx_body),
        Route::UpdateApiKey => Some(json!({"limits": {"credits": {"remaining": 10}}})),
        Route::VerifyKey => Some(json!({"key": "akm_not_a_key"})),
        Route::CreateServiceKey => Some(json!({"name": "Another job", "role": "developer"})),
        Route::RevokeServiceKey => Some(json!({"confirm": service_key_id})),
        Route::CreateIdentity => Some(json!({"external_id": format!("{external_id}-2"),
            "limits": {"credits": {"remaining": 5}}})),
        Route::UpdateIdentity => Some(json!({"meta": {"plan": "pro"}})),
        Route::CreateRole => Some(json!({"name": format!("{external_id}-2"),
            "permissions": ["documents.read"]})),
        Route::UpdateRole => Some(json!({"permissions": ["documents.*"]})),
        Route::CreateRateLimitNamespace => Some(json!({"name": format!("{external_id}-2"),
            "limit": 5, "duration": 60, "fail_open": true})),
        Route::UpdateRateLimitNamespace => Some(json!({"fail_open": true})),
        Route::SetRateLimitOverride => {
            Some(json!({"identifier": "*@example.com", "limit": 9, "duration": 60}))
        }
        Route::RemoveRateLimitOverride => Some(json!({"identifier": "vip"})),
        Route::LimitRate => Some(json!({"namespace": external_id, "identifier": "203.0.113.9"})),
        Route::LimitRateMany => Some(json!({"checks": [
            {"namespace": external_id, "identifier": "203.0.113.9"},
            {"namespace": external_id, "identifier": "someone@example.com", "cost": 2}]})),
        _ => None,
    };
    (route.template().replace("{id}", &id), body)
}

async fn every_status_the_server_answers_is_documented(app: &TestApp) {
    let spec = spec();
    let owner = app.token(Role::PlatformOwner);
    let developer = app.token(Role::Developer);
    for route in Route::ALL {
        let method = route.method();
        let (path, body) = good_request(app, route).await;
        let body = body.map(|b| b.to_string());
        let unknown = route.template().replace(
            "{id}",
            &match route.template() {
                t if t.starts_with("/v1/api-keys") => ApiKeyId::new().to_string(),
                t if t.starts_with("/v1/applications") => ApplicationId::new().to_string(),
                t if t.starts_with("/v1/service-keys") => ServiceKeyId::new().to_string(),
                t if t.starts_with("/v1/identities") => domain::IdentityId::new().to_string(),
                t if t.starts_with("/v1/roles") => domain::RoleId::new().to_string(),
                t if t.starts_with("/v1/ratelimit-namespaces") => {
                    domain::NamespaceId::new().to_string()
                }
                _ => ArxId::new().to_string(),
            },
        );
        let mut answered = BTreeSet::new();
        answered.insert(app.call(method, &path, None, body.as_deref()).await.status);
        // A developer may use some routes: only where it may not is this a refusal.
        if !Role::Developer.may(route.operation()) {
            let refused = app
                .call(method, &path, Some(&developer), body.as_deref())
                .await;
            answered.insert(refused.status);
        }
        answered.insert(
            app.call(
                method,
                &format!("{path}?limit=0"),
                Some(&owner),
                body.as_deref(),
            )
            .await
            .status,
        );
        if route.template().contains("{id}") {
            answered.insert(
                app.call(method, &unknown, Some(&owner), body.as_deref())
                    .await
                    .status,
            );
            let bad_id = route.template().replace("{id}", "not-an-id");
            answered.insert(
                app.call(method, &bad_id, Some(&owner), body.as_deref())
                    .await
                    .status,
            );
        }
        if body.is_some() {
            answered.insert(
                app.call(method, &path, Some(&owner), Some("{"))
                    .await
                    .status,
            );
        }
        let good = app.call(method, &path, Some(&owner), body.as_deref()).await;
        assert!(
            good.status < 300,
            "{method} {path}: {} {}",
            good.status,
            good.text
        );
        answered.insert(good.status);
        if matches!(route, Route::CreateApiKey) {
            answered.insert(
                app.call(
                    method,
                    "/v1/api-keys?dry_run=true",
                    Some(&owner),
                    body.as_deref(),
                )
                .await
                .status,
            );
        }
        let documented = documented(&spec, route);
        let missing: Vec<u16> = answered.difference(&documented).copied().collect();
        assert!(
            missing.is_empty(),
            "{}: answers {missing:?}, not in docs/openapi.yaml",
            route.route_key()
        );
    }
}
